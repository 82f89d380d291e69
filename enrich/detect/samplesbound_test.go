package detect

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSamplesBoundForgetsOldestSlot checks the explanation samples never
// hold more than their bound, forget the oldest slot first, and keep
// sampling the newest.
func TestSamplesBoundForgetsOldestSlot(t *testing.T) {
	slot := 5 * time.Minute
	s := newSamples(4, slot, 30)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := uint64(0)
	for k := range 3 { // three slots, 5 scopes × 4 items each = 20 entries per slot
		for sc := range 5 {
			for range 6 {
				h++
				tm := t0.Add(time.Duration(k)*slot + time.Duration(h)*time.Second)
				s.offer(scope{topic: fmt.Sprint("t", sc), platform: All}, &sampleItem{hash: h * 7919 % 1000, t: tm})
				if s.Len() > 30 {
					t.Fatalf("after %d offers: %d entries; want at most 30", h, s.Len())
				}
			}
		}
	}
	// Slot 1 was forgotten when slot 2 reached the bound with it: only the
	// newest slot's 20 entries are left.
	if s.Len() != 20 {
		t.Errorf("entries = %d; want 20, the newest slot's", s.Len())
	}
	sc := scope{topic: "t0", platform: All}
	if got := s.items(sc, t0, t0.Add(slot)); len(got) != 0 {
		t.Errorf("oldest slot still holds %d items of t0; want it forgotten", len(got))
	}
	if got := s.items(scope{topic: "t4", platform: All}, t0.Add(2*slot), t0.Add(3*slot)); len(got) == 0 {
		t.Errorf("newest slot holds nothing of t4; want samples of the newest slot")
	}
	// Pruning by time gives the entries back.
	s.prune(t0.Add(3 * slot))
	if s.Len() != 0 || len(s.perSlot) != 0 || len(s.scopes) != 0 {
		t.Errorf("after pruning every slot: %d entries, %d slots, %d scopes; want none", s.Len(), len(s.perSlot), len(s.scopes))
	}
}

func TestSamplesUnbounded(t *testing.T) {
	s := newSamples(4, time.Minute, 0)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 100 {
		s.offer(scope{topic: fmt.Sprint("t", i), platform: All}, &sampleItem{hash: uint64(i), t: t0})
	}
	if s.Len() != 100 {
		t.Errorf("entries = %d; want 100 with no bound", s.Len())
	}
}

func TestExplainMaxItemsConfig(t *testing.T) {
	if got := (Config{}).WithDefaults().Explain.MaxItems; got != DefaultMaxSampleItems {
		t.Errorf("default explain.max_items = %d; want %d", got, DefaultMaxSampleItems)
	}
	for _, tc := range []struct {
		v  int
		ok bool
	}{{-1, true}, {1000, true}, {-2, false}} {
		c := Config{Explain: ExplainConfig{MaxItems: tc.v}}.WithDefaults()
		err := c.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("Validate(explain.max_items: %d) = %v; want ok %v", tc.v, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "explain.max_items") {
			t.Errorf("Validate(explain.max_items: %d) = %v; want it to name explain.max_items", tc.v, err)
		}
	}
}
