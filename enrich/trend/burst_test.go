package trend

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

func TestBurstTracker(t *testing.T) {
	cfg := DefaultBurstConfig()
	b, err := NewBurstTracker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	at := base
	// Two days: "brand" in ~20 mentions per bucket, "support" in ~4, a long
	// tail of one-off words.
	for bucket := range 2 * 288 {
		for range int(poisson(r, 20)) {
			at = base.Add(time.Duration(bucket)*cfg.Bucket + time.Duration(r.IntN(int(cfg.Bucket))))
			terms := []string{"brand", fmt.Sprintf("w%d", r.IntN(100000))}
			if r.Float64() < 0.2 {
				terms = append(terms, "support")
			}
			b.Observe(at, terms)
		}
	}
	now := base.Add(2 * 288 * cfg.Bucket)
	if got := b.Emerging(now); len(got) != 0 {
		t.Fatalf("Emerging on steady traffic = %v; want none", got)
	}
	// "support" jumps to 60 in a bucket, "recall" appears 40 times.
	for i := range 60 {
		b.Observe(now.Add(time.Duration(i)*time.Second), []string{"brand", "support"})
	}
	for i := range 40 {
		b.Observe(now.Add(time.Duration(i)*time.Second), []string{"recall", "recall"})
	}
	got := b.Emerging(now.Add(cfg.Bucket + time.Second))
	if !slices.Contains(got, "support") || !slices.Contains(got, "recall") || slices.Contains(got, "brand") {
		t.Errorf("Emerging after the burst = %v; want support and recall, not brand", got)
	}
	if b.Tracked() > cfg.Capacity {
		t.Errorf("Tracked() = %d; want at most %d", b.Tracked(), cfg.Capacity)
	}
}

func TestBurstTrackerBoundedMemory(t *testing.T) {
	cfg := DefaultBurstConfig()
	cfg.Capacity = 100
	cfg.Admit = 1
	b, err := NewBurstTracker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10000 {
		b.Observe(base.Add(time.Duration(i)*time.Second), []string{fmt.Sprintf("t%d", i)})
	}
	if got := b.Tracked(); got > cfg.Capacity {
		t.Errorf("Tracked() = %d after 10000 distinct terms; want at most %d", got, cfg.Capacity)
	}
}

// Eviction must not depend on Go's random map order: replaying the same
// traffic (re-enrichment, a restarted enrich role) must track the same terms
// and so tag the same mentions. Every term here has the same volume, so each
// eviction is decided by its tie-break alone.
func TestBurstTrackerEvictionDeterministic(t *testing.T) {
	cfg := DefaultBurstConfig()
	cfg.Capacity = 100
	cfg.Admit = 1
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	run := func() []string {
		b, err := NewBurstTracker(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 1000 {
			b.Observe(base, []string{fmt.Sprintf("t%04d", i)})
		}
		var kept []string
		for term := range b.terms {
			kept = append(kept, term)
		}
		slices.Sort(kept)
		return kept
	}
	first := run()
	if len(first) > cfg.Capacity || len(first) < cfg.Capacity*3/4 {
		t.Fatalf("tracked %d terms; want between %d and %d", len(first), cfg.Capacity*3/4, cfg.Capacity)
	}
	for range 5 {
		if got := run(); !slices.Equal(got, first) {
			t.Fatalf("the same traffic kept different terms:\n%v\n%v", first, got)
		}
	}
	// The lexically smallest of the tied terms go, so the newest stay.
	if first[len(first)-1] != "t0999" {
		t.Errorf("last kept term %q; want t0999", first[len(first)-1])
	}
}

func TestBurstConfigValidate(t *testing.T) {
	if err := DefaultBurstConfig().Validate(); err != nil {
		t.Fatalf("DefaultBurstConfig().Validate() = %v", err)
	}
	c := DefaultBurstConfig()
	c.SketchWidth = 1000
	c.Capacity = 0
	if _, err := NewBurstTracker(c); !errors.Is(err, ErrConfig) {
		t.Errorf("NewBurstTracker(bad) = %v; want ErrConfig", err)
	}
}

// A tracked term must not keep the mention text it was cut from alive:
// the tracker holds up to Capacity terms for hours, and pinning a 1 KB
// article per term would hold megabytes of text nobody reads.
func TestBurstTrackerDoesNotPinTexts(t *testing.T) {
	cfg := DefaultBurstConfig()
	b, err := NewBurstTracker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := "an article whose words become terms: kettle lid popped " + strings.Repeat("x", 1024)
	term := text[len("an article whose words become terms: "):][:len("kettle")]
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range int(cfg.Admit) + 1 {
		b.Observe(now, []string{term})
	}
	lo := uintptr(unsafe.Pointer(unsafe.StringData(text)))
	hi := lo + uintptr(len(text))
	found := false
	for k := range b.terms {
		if k != "kettle" {
			continue
		}
		found = true
		if p := uintptr(unsafe.Pointer(unsafe.StringData(k))); p >= lo && p < hi {
			t.Fatal("the tracked term points into the mention's text, which stays alive as long as the term is tracked")
		}
	}
	if !found {
		t.Fatalf("kettle was not tracked after %v mentions", cfg.Admit+1)
	}
}

// TestObserveCountsMatchesObserve: counting a bucket's terms at once gives
// the same rates and bursts as observing its mentions one by one.
func TestObserveCountsMatchesObserve(t *testing.T) {
	cfg := DefaultBurstConfig()
	one, _ := NewBurstTracker(cfg)
	all, _ := NewBurstTracker(cfg)
	r := rand.New(rand.NewPCG(5, 6))
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for bucket := range 300 {
		at := base.Add(time.Duration(bucket) * cfg.Bucket)
		counts := map[string]float64{}
		n := int(poisson(r, 20))
		if bucket == 299 {
			n += 40
		}
		for i := range n {
			terms := []string{"brand", fmt.Sprintf("w%d", r.IntN(50))}
			if bucket == 299 && i < 40 {
				terms = append(terms, "recall")
			}
			one.Observe(at, terms)
			for _, term := range terms {
				counts[term]++
			}
		}
		all.ObserveCounts(at, counts)
	}
	now := base.Add(299 * cfg.Bucket)
	got, want := all.Bursts(now), one.Bursts(now)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("ObserveCounts bursts = %v; Observe gives %v (want the same, with recall)", got, want)
	}
	for _, term := range []string{"brand", "w7", "recall", "never"} {
		if g, w := all.Expected(term), one.Expected(term); g != w {
			t.Errorf("Expected(%s) = %v after ObserveCounts, %v after Observe; want the same", term, g, w)
		}
	}
	if z, ok := all.Judge(10, 0); !ok || z < cfg.Z {
		t.Errorf("Judge(10, 0) = %v %v; want a burst (10 mentions of a new term)", z, ok)
	}
	if _, ok := all.Judge(9, 0); ok {
		t.Errorf("Judge(9, 0) is a burst; want none (z under 5)")
	}
}
