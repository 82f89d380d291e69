package trend

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// BurstConfig tunes a BurstTracker. Start from DefaultBurstConfig.
type BurstConfig struct {
	// Bucket is the counting interval (default 5m).
	Bucket time.Duration `json:"bucket"`
	// HalfLife of each term's EWMA rate per bucket (default 24h).
	HalfLife time.Duration `json:"half_life"`
	// Z is the robust z a term's bucket count must reach over its own rate
	// to be emerging (default 5).
	Z float64 `json:"z"`
	// MinCount is the fewest mentions in a bucket for a term to be
	// emerging (default 5).
	MinCount float64 `json:"min_count"`
	// Dispersion φ of the negative-binomial noise around a term's rate
	// (default 0.1: a term's volume varies ±30% beyond Poisson noise).
	Dispersion float64 `json:"dispersion"`
	// Capacity is how many terms are tracked exactly (default 10000); the
	// rest live in count-min sketches of SketchWidth × 4 counters (default
	// 16384), and a term is tracked once it reaches Admit mentions in a
	// bucket (default 3).
	Capacity    int     `json:"capacity"`
	SketchWidth int     `json:"sketch_width"`
	Admit       float64 `json:"admit"`
}

// DefaultBurstConfig returns the documented defaults.
func DefaultBurstConfig() BurstConfig {
	return BurstConfig{
		Bucket:      5 * time.Minute,
		HalfLife:    24 * time.Hour,
		Z:           5,
		MinCount:    5,
		Dispersion:  0.1,
		Capacity:    10000,
		SketchWidth: 1 << 14,
		Admit:       3,
	}
}

// Validate reports every problem with c at once.
func (c BurstConfig) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: burst: "+format, append([]any{ErrConfig}, args...)...))
	}
	if c.Bucket <= 0 {
		bad("bucket %s must be positive", c.Bucket)
	}
	if c.HalfLife < c.Bucket {
		bad("half_life %s must be at least one bucket (%s)", c.HalfLife, c.Bucket)
	}
	if !(c.Z > 0) {
		bad("z %v must be positive", c.Z)
	}
	if c.MinCount < 1 {
		bad("min_count %v must be at least 1", c.MinCount)
	}
	if !(c.Dispersion >= 0) {
		bad("dispersion %v must not be negative", c.Dispersion)
	}
	if c.Capacity < 1 || c.Capacity > 1<<22 {
		bad("capacity %d must be in [1, %d]", c.Capacity, 1<<22)
	}
	if c.SketchWidth < 64 || c.SketchWidth > 1<<24 || c.SketchWidth&(c.SketchWidth-1) != 0 {
		bad("sketch_width %d must be a power of two in [64, %d]", c.SketchWidth, 1<<24)
	}
	if c.Admit < 1 {
		bad("admit %v must be at least 1", c.Admit)
	}
	return errors.Join(errs...)
}

// Burst is one emerging term.
type Burst struct {
	Term     string  `json:"term"`
	Count    float64 `json:"count"`    // mentions in the bucket that bursts
	Expected float64 `json:"expected"` // the term's usual count per bucket
	Z        float64 `json:"z"`
}

const sketchDepth = 4

// BurstTracker finds terms bursting against their own history: each
// tracked term keeps an EWMA of its count per bucket, and a bucket whose
// count is MinCount or more and Z robust z-scores above it (Anscombe
// residual over sqrt(1+φμ), so a term never seen before needs a real
// crowd, not two mentions) makes the term emerging. Memory is bounded:
// at most Capacity terms are tracked, the rest are counted in count-min
// sketches that also give a newly tracked term its (over-estimated, so
// conservative) history. It is safe for concurrent use.
type BurstTracker struct {
	mu    sync.Mutex
	cfg   BurstConfig
	beta  float64
	start time.Time // start of the current bucket; zero before any input
	terms map[string]*termState
	cur   []float64 // sketch of counts in the current bucket
	rate  []float64 // sketch of EWMA rates
	mask  uint64
	vols  []float64 // scratch for evict
	tied  []string  // scratch for evict: the terms at the cut
}

type termState struct {
	rate    float64 // EWMA count per bucket, buckets before the current one
	cur     float64 // count in the current bucket
	last    float64 // count in the previous bucket
	lastExp float64 // rate before the previous bucket
}

// NewBurstTracker returns a tracker, or an error when cfg is invalid.
func NewBurstTracker(cfg BurstConfig) (*BurstTracker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &BurstTracker{
		cfg:   cfg,
		beta:  math.Exp2(-float64(cfg.Bucket) / float64(cfg.HalfLife)),
		terms: make(map[string]*termState),
		cur:   make([]float64, sketchDepth*cfg.SketchWidth),
		rate:  make([]float64, sketchDepth*cfg.SketchWidth),
		mask:  uint64(cfg.SketchWidth - 1),
	}, nil
}

// hashes returns sketchDepth cell indexes for term (FNV-1a, one seed per
// row), stable across processes.
func (b *BurstTracker) hashes(term string, out *[sketchDepth]int) {
	for r := range sketchDepth {
		h := uint64(14695981039346656037) ^ (uint64(r+1) * 0x9E3779B97F4A7C15)
		for i := 0; i < len(term); i++ {
			h ^= uint64(term[i])
			h *= 1099511628211
		}
		h ^= h >> 29
		out[r] = r*b.cfg.SketchWidth + int(h&b.mask)
	}
}

// Observe counts one mention carrying terms (each term once) at t. A
// mention older than the current bucket counts in the current bucket.
func (b *BurstTracker) Observe(t time.Time, terms []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll(t)
	var idx [sketchDepth]int
	for i, term := range terms {
		if term == "" || containsBefore(terms, i) {
			continue
		}
		b.count(term, 1, &idx)
	}
}

// count adds n mentions carrying term to the current bucket: exactly for a
// tracked term, in the sketches otherwise, admitting the term once its
// estimate reaches Admit. b.mu is held; idx is scratch.
func (b *BurstTracker) count(term string, n float64, idx *[sketchDepth]int) {
	if ts := b.terms[term]; ts != nil {
		ts.cur += n
		return
	}
	b.hashes(term, idx)
	est := math.Inf(1)
	for _, j := range idx {
		b.cur[j] += n
		est = math.Min(est, b.cur[j])
	}
	if est >= b.cfg.Admit {
		r := math.Inf(1)
		for _, j := range idx {
			r = math.Min(r, b.rate[j])
		}
		// A term is often a substring of a mention's text: a copy keeps
		// the tracker from pinning whole texts in memory.
		b.terms[strings.Clone(term)] = &termState{rate: r, cur: est, lastExp: r}
		if len(b.terms) > b.cfg.Capacity {
			b.evict()
		}
	}
}

// containsBefore reports whether terms[i] occurs in terms[:i]; mentions
// carry few terms, so a scan beats a map.
func containsBefore(terms []string, i int) bool {
	for _, t := range terms[:i] {
		if t == terms[i] {
			return true
		}
	}
	return false
}

// roll closes the buckets that ended by t.
func (b *BurstTracker) roll(t time.Time) {
	bucket := t.Truncate(b.cfg.Bucket)
	if b.start.IsZero() {
		b.start = bucket
		return
	}
	if !bucket.After(b.start) {
		return
	}
	n := int64(bucket.Sub(b.start) / b.cfg.Bucket)
	b.start = bucket
	// The first closed bucket holds the counts; the others were empty.
	decay := math.Pow(b.beta, float64(n-1))
	for i := range b.rate {
		b.rate[i] = (b.beta*b.rate[i] + (1-b.beta)*b.cur[i]) * decay
		b.cur[i] = 0
	}
	for _, ts := range b.terms {
		ts.lastExp, ts.last = ts.rate, ts.cur
		ts.rate = (b.beta*ts.rate + (1-b.beta)*ts.cur) * decay
		ts.cur = 0
		if n > 1 {
			ts.lastExp, ts.last = ts.rate, 0
		}
	}
}

// evict drops a quarter of the tracked terms, those with the least volume;
// they go back to living in the sketches. Among terms tied at the cut the
// lexically smallest go, so the same traffic always keeps the same terms
// (Go's map order is random: a replay or re-enrichment of the same mentions
// would otherwise tag differently after an eviction).
func (b *BurstTracker) evict() {
	vols := b.vols[:0]
	for _, ts := range b.terms {
		vols = append(vols, ts.rate+ts.cur+ts.last)
	}
	slices.Sort(vols)
	n := len(vols) - b.cfg.Capacity + b.cfg.Capacity/4
	cut := vols[min(n, len(vols))-1]
	b.vols = vols
	// Every term below the cut goes (there are fewer than n of them,
	// since the cut is the n-th smallest volume); the rest of n comes
	// from the terms at the cut.
	tied := b.tied[:0]
	for term, ts := range b.terms {
		switch v := ts.rate + ts.cur + ts.last; {
		case v < cut:
			delete(b.terms, term)
			n--
		case v == cut:
			tied = append(tied, term)
		}
	}
	slices.Sort(tied)
	for _, term := range tied[:max(0, min(n, len(tied)))] {
		delete(b.terms, term)
	}
	clear(tied)
	b.tied = tied[:0]
}

func (b *BurstTracker) burstZ(count, expected float64) float64 {
	return (anscombe(count) - anscombe(expected)) / math.Sqrt(1+b.cfg.Dispersion*expected)
}

// Bursts returns the terms emerging at now, strongest first: those whose
// previous (complete) bucket or current bucket so far clears MinCount and
// Z over the term's own rate.
func (b *BurstTracker) Bursts(now time.Time) []Burst {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll(now)
	var out []Burst
	for term, ts := range b.terms {
		best := Burst{Term: term}
		for _, c := range [...][2]float64{{ts.last, ts.lastExp}, {ts.cur, ts.rate}} {
			if c[0] < b.cfg.MinCount {
				continue
			}
			if z := b.burstZ(c[0], c[1]); z >= b.cfg.Z && z > best.Z {
				best.Count, best.Expected, best.Z = c[0], c[1], z
			}
		}
		if best.Z > 0 {
			out = append(out, best)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Z != out[j].Z {
			return out[i].Z > out[j].Z
		}
		return out[i].Term < out[j].Term
	})
	return out
}

// Emerging returns the terms of Bursts(now), strongest first.
func (b *BurstTracker) Emerging(now time.Time) []string {
	bs := b.Bursts(now)
	out := make([]string, len(bs))
	for i, x := range bs {
		out[i] = x.Term
	}
	return out
}

// Tracked returns how many terms are tracked exactly.
func (b *BurstTracker) Tracked() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.terms)
}

// ObserveCounts counts, for each term, counts[term] mentions carrying it
// at t, as that many Observe calls would. Terms go in sorted order, so the
// outcome (which terms are admitted or evicted) does not depend on the
// map's order.
func (b *BurstTracker) ObserveCounts(t time.Time, counts map[string]float64) {
	terms := make([]string, 0, len(counts))
	for term, n := range counts {
		if term != "" && n > 0 {
			terms = append(terms, term)
		}
	}
	slices.Sort(terms)
	n := make([]float64, len(terms))
	for i, term := range terms {
		n[i] = counts[term]
	}
	b.ObserveSorted(t, terms, n)
}

// ObserveSorted is ObserveCounts for terms given in sorted order, each
// once and not empty, with counts[i] mentions carrying terms[i] (more
// than 0), for a caller that keeps its counts in another form.
func (b *BurstTracker) ObserveSorted(t time.Time, terms []string, counts []float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll(t)
	var idx [sketchDepth]int
	for i, term := range terms {
		b.count(term, counts[i], &idx)
	}
}

// Advance closes the buckets that ended by t, as if a mention at t came.
func (b *BurstTracker) Advance(t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll(t)
}

// Expected returns term's usual count per bucket: its rate over the
// closed buckets (the sketches' conservative estimate for an untracked
// term).
func (b *BurstTracker) Expected(term string) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ts := b.terms[term]; ts != nil {
		return ts.rate
	}
	var idx [sketchDepth]int
	b.hashes(term, &idx)
	r := math.Inf(1)
	for _, j := range idx {
		r = math.Min(r, b.rate[j])
	}
	return r
}

// Judge returns the robust z of a bucket's count over expected, and
// whether it makes a burst (count at least MinCount and z at least Z), by
// the same rule as Bursts.
func (b *BurstTracker) Judge(count, expected float64) (z float64, burst bool) {
	z = b.burstZ(count, expected)
	return z, count >= b.cfg.MinCount && z >= b.cfg.Z
}
