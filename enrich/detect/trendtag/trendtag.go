// Package trendtag is the enrichment stage "trend": it tags each mention
// with the emerging hashtags ("#acmefire") and terms ("recall") it
// contains, in Enrichment.Trends, strongest first.
//
// A term is emerging when its count in the current or last bucket (of
// mention created_at time, default 5m) is well above its own usual rate:
// see trend.BurstTracker, which keeps at most Capacity terms exactly and
// the rest in count-min sketches, so memory is bounded whatever the text.
// The stage counts a whole batch, then tags it, so the mentions that make
// a burst carry its tag. Time is the mentions' created_at, counted in the
// mention's own bucket: buckets stay open for Reorder (default 15m) behind
// the newest mention time seen, and are then closed into the terms' rates
// oldest first, so the order in which concurrent batches arrive changes
// neither the counts nor the rates. What still depends on the batching:
// a mention is tagged by its bucket's count so far (and the bucket
// before's), so the first mentions of a surge, enriched before enough of
// it was seen (for a new term, 10 at the default Z), carry no tag; a
// mention whose bucket was already closed is neither counted nor tagged;
// and nothing is tagged before Warmup of mention time precedes the
// mention's bucket. The open buckets' terms are held once each, by id,
// with a count per bucket in tables of 8-byte slots: a feature costs one
// string lookup a batch. The stage's heap after 70 minutes at 40 mentions
// a second of real texts is 12.5 MB at the default Reorder, 14.9 MB at 1h
// (BenchmarkStateMemoryVsFormer; 12.6 and 21.4 MB with a Go map per
// bucket).
//
// Each enrich process keeps its own burst history, in memory. With several
// enrich replicas sharing the MENTIONS consumer, each sees a share of the
// traffic, so its rates and counts are that share's: tags are approximate
// (a burst split over N replicas needs about N times MinCount mentions
// before every replica tags it), and a restarted replica relearns the
// usual rates over HalfLife. For the alerting decision, which must be
// exact, see the detect role (package detect).
package trendtag

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/earshot-dev/earshot/enrich/detect/internal/words"
	"github.com/earshot-dev/earshot/enrich/trend"
	"github.com/earshot-dev/earshot/pipeline"
)

// Name is the stage name; Version changes whenever the same traffic could
// be tagged differently.
const (
	Name    = "trend"
	Version = "2"
	// Order is the stage's default position: after entities (hashtags),
	// lang, sentiment, topics, dedup and respond.
	Order = 70
)

func init() {
	pipeline.RegisterEnricher(Name, Order, func(env pipeline.EnricherEnv) (pipeline.Enricher, error) {
		return New(env)
	})
}

// Options are the stage's settings under enrich.options.trend. Unset keys
// keep trend.DefaultBurstConfig's values, except HalfLife (6h here).
type Options struct {
	Bucket   time.Duration `yaml:"bucket"`    // default 5m
	HalfLife time.Duration `yaml:"half_life"` // default 6h
	// Warmup is how much mention time the stage observes before it tags
	// anything (default: HalfLife). A fresh tracker's rates start at zero
	// and approach the truth over about one half-life, so before that
	// every common term would look like it is bursting.
	Warmup   time.Duration `yaml:"warmup"`
	Z        float64       `yaml:"z"`         // default 5
	MinCount float64       `yaml:"min_count"` // default 5
	Capacity int           `yaml:"capacity"`  // default 10000
	// Terms turns tracking of text words on or off (default on); hashtags
	// are always tracked.
	Terms *bool `yaml:"terms"`
	// Reorder is how far behind the newest mention time a bucket stays
	// open (default 15m): mentions up to Reorder older than the newest one
	// seen are counted in their own bucket, whatever order their batches
	// come in; older ones are tagged by nothing and not counted.
	Reorder time.Duration `yaml:"reorder"`
	// MaxTags bounds the tags per mention (default 5).
	MaxTags int `yaml:"max_tags"`
}

// Stage is the trend tagging stage. It is safe for concurrent use.
type Stage struct {
	tracker *trend.BurstTracker
	terms   bool
	maxTags int
	warmup  time.Duration
	bucket  time.Duration

	reorder  time.Duration
	minCount float64
	beta     float64 // a rate's decay per bucket

	mu sync.Mutex
	// open holds the term counts of the buckets (start, Unix ns) not yet
	// closed into the tracker; first and newest are the oldest and newest
	// bucket seen, closed the end of the last closed bucket (0: none).
	open                  map[int64]*counts
	first, newest, closed int64
	// ids holds the distinct terms of the open buckets, each once: a
	// feature is looked up here once a batch and its counts are then
	// found by id.
	ids ids
	// span holds open[spanLo + i·bucket] for the buckets a batch judges
	// over (nil where none is open); scratch for closing buckets.
	span   []*counts
	spanLo int64
	// epoch numbers the tracker's states: it moves on whenever buckets
	// are closed into the tracker (from 1).
	epoch  uint32
	round  uint32 // judging rounds (see Enrich)
	order  []uint32
	sorted []string
	nums   []float64
}

// DefaultHalfLife of the stage's term rates, DefaultReorder its window of
// open buckets.
const (
	DefaultHalfLife = 6 * time.Hour
	DefaultReorder  = 15 * time.Minute
)

var _ pipeline.Enricher = (*Stage)(nil)

// New builds the stage from env.Options.
func New(env pipeline.EnricherEnv) (*Stage, error) {
	var o Options
	if env.Options != nil {
		if err := pipeline.DecodeStrict(env.Options, &o); err != nil {
			return nil, fmt.Errorf("%s: enrich options %s: %w", env.File, Name, err)
		}
	}
	s, err := NewWithOptions(o)
	if err != nil {
		return nil, fmt.Errorf("%s: enrich options %s: %w", env.File, Name, err)
	}
	return s, nil
}

// NewWithOptions builds the stage, reporting every invalid option at once.
func NewWithOptions(o Options) (*Stage, error) {
	c := trend.DefaultBurstConfig()
	c.HalfLife = DefaultHalfLife
	if o.Bucket != 0 {
		c.Bucket = o.Bucket
	}
	if o.HalfLife != 0 {
		c.HalfLife = o.HalfLife
	}
	if o.Z != 0 {
		c.Z = o.Z
	}
	if o.MinCount != 0 {
		c.MinCount = o.MinCount
	}
	if o.Capacity != 0 {
		c.Capacity = o.Capacity
	}
	if o.MaxTags == 0 {
		o.MaxTags = 5
	}
	if o.MaxTags < 0 || o.MaxTags > 64 {
		return nil, fmt.Errorf("max_tags %d: want 1 to 64", o.MaxTags)
	}
	if o.Warmup == 0 {
		o.Warmup = c.HalfLife
	}
	if o.Warmup < 0 {
		return nil, fmt.Errorf("warmup %s must not be negative", o.Warmup)
	}
	t, err := trend.NewBurstTracker(c)
	if err != nil {
		return nil, err
	}
	if o.Reorder == 0 {
		o.Reorder = DefaultReorder
	}
	if o.Reorder < 0 {
		return nil, fmt.Errorf("reorder %s must not be negative", o.Reorder)
	}
	return &Stage{tracker: t, terms: o.Terms == nil || *o.Terms, maxTags: o.MaxTags, warmup: o.Warmup, bucket: c.Bucket,
		reorder: o.Reorder, minCount: c.MinCount, beta: math.Exp2(-float64(c.Bucket) / float64(c.HalfLife)), open: make(map[int64]*counts), ids: newIDs(), epoch: 1}, nil
}

// Name implements pipeline.Enricher.
func (s *Stage) Name() string { return Name }

// Version implements pipeline.Enricher.
func (s *Stage) Version() string { return Version }

// Enrich counts the batch's hashtags and terms in the buckets (of mention
// time) they belong to, and tags each mention with the emerging ones it
// carries: those whose count in the mention's bucket so far, or in the
// bucket before, is a burst over the term's usual rate. Buckets within
// Reorder of the newest mention time seen stay open: a batch that reaches
// the stage after a later one is counted where it belongs, so the order
// in which concurrent batches arrive does not change the counts. Older
// buckets are closed into the tracker's rates, oldest first.
func (s *Stage) Enrich(_ context.Context, batch []*pipeline.Mention) error {
	wall := time.Now()
	type item struct {
		m      *pipeline.Mention
		bucket int64
		feats  []string
		ids    []uint32 // the features' term ids, once counted
		tags   int      // feats[:tags] are the hashtags
		closed bool     // its bucket was closed: not counted, not tagged
	}
	items := make([]item, len(batch))
	// The features (a tokenizer over each text) are read before the lock,
	// so concurrent batches share only the counting. They share one array,
	// with room for every mention's.
	room := 0
	for _, m := range batch {
		room += s.featureRoom(m)
	}
	all := make([]string, 0, room)
	for i, m := range batch {
		t := m.CreatedAt
		if t.IsZero() || t.After(wall) {
			t = wall
		}
		start := len(all)
		var tags int
		all, tags = s.appendFeatures(all, m)
		items[i] = item{m: m, bucket: t.Truncate(s.bucket).UnixNano(), feats: all[start:len(all):len(all)], tags: tags}
	}
	allIDs := make([]uint32, len(all))
	s.mu.Lock()
	defer s.mu.Unlock()
	off := 0
	for i := range items {
		it := &items[i]
		ids := allIDs[off : off+len(it.feats) : off+len(it.feats)]
		off += len(it.feats)
		b := it.bucket
		if s.closed != 0 && b < s.closed {
			// Its bucket is closed into the rates already: it is tagged by
			// nothing and not counted (it would count in the wrong bucket).
			it.closed = true
			continue
		}
		it.ids = ids
		p := s.open[b]
		if p == nil {
			p = newCounts()
			s.open[b] = p
		}
		for k, f := range it.feats {
			if f == "" {
				ids[k] = noID
				continue
			}
			// Each feature is looked up once; its counts are then read by id.
			ids[k] = s.ids.intern(f)
			// Terms are distinct and never start with '#': only a
			// hashtag can repeat an earlier feature.
			if k < it.tags && containsBefore(it.feats, k) {
				continue
			}
			if p.add(ids[k]) {
				s.ids.refs[ids[k]]++
			}
		}
		if s.first == 0 || b < s.first {
			s.first = b
		}
		if b > s.newest {
			s.newest = b
		}
	}
	s.spanOpen()
	step := int64(s.bucket)
	// A term is judged once per bucket and batch: a round is a run of
	// the batch's mentions in one bucket.
	judging, judgedIn := false, int64(0)
	var tags []ranked
	for i := range items {
		it := &items[i]
		// Warm once Warmup of history precedes the mention's bucket.
		if it.closed || time.Duration(it.bucket-s.first) < s.warmup {
			it.m.SetVersion(Name, Version)
			continue
		}
		// Most terms are below MinCount in both buckets: two reads settle
		// them; the others are judged once per bucket and batch.
		cur, prev := s.counts(it.bucket), s.counts(it.bucket-step)
		if !judging || it.bucket != judgedIn {
			s.ids.next(&s.round, func(m *memo) *uint32 { return &m.judgedAt })
			judging, judgedIn = true, it.bucket
		}
		tags = tags[:0]
		for k, f := range it.feats {
			id := it.ids[k]
			if id == noID || float64(cur.get(id)) < s.minCount && float64(prev.get(id)) < s.minCount {
				continue
			}
			if m := &s.ids.memo[id]; m.judgedAt != s.round {
				d := s.judge(f, id, it.bucket)
				m.z, m.judgedAt = 0, s.round
				if d.burst {
					m.z = d.z // more than Z, so more than 0
				}
			}
			z := s.ids.memo[id].z
			if z > 0 && !slices.Contains(it.m.Enrichment.Trends, f) && !slices.ContainsFunc(tags, func(r ranked) bool { return r.f == f }) {
				tags = append(tags, ranked{f: f, z: z})
			}
		}
		s.tag(it.m, tags)
	}
	clear(s.span)
	s.span = s.span[:0]
	s.close()
	return nil
}

// spanOpen fills span with the open buckets from the first one a judgement
// reads (the end of the closed ones, or the first bucket) to the newest,
// unless that range is much wider than the open buckets (a batch far from
// the others in time): counts then finds them in open.
func (s *Stage) spanOpen() {
	clear(s.span)
	s.span = s.span[:0]
	lo := s.closed
	if lo == 0 {
		lo = s.first
	}
	n := (s.newest-lo)/int64(s.bucket) + 1
	if len(s.open) == 0 || n > int64(4*len(s.open)+64) {
		return
	}
	s.spanLo = lo
	s.span = slices.Grow(s.span, int(n))[:n]
	for b, p := range s.open {
		i := (b - lo) / int64(s.bucket)
		if b < lo || i >= n {
			// Not expected (every open bucket lies in that range), but
			// the lookups in open are right whatever the buckets.
			clear(s.span)
			s.span = s.span[:0]
			return
		}
		s.span[i] = p
	}
}

// counts returns the open bucket starting at b, or nil.
func (s *Stage) counts(b int64) *counts {
	if len(s.span) > 0 {
		if b < s.spanLo {
			return nil
		}
		if i := (b - s.spanLo) / int64(s.bucket); i < int64(len(s.span)) {
			return s.span[i]
		}
		return nil
	}
	return s.open[b]
}

// judge decides whether f (term id id) bursts in bucket b (its count so
// far) or in the bucket before, over its rate before that bucket: the
// tracker's rate at the end of the closed buckets, carried through the
// open ones before.
func (s *Stage) judge(f string, id uint32, b int64) (v verdict) {
	step := int64(s.bucket)
	prev, cur := float64(s.counts(b-step).get(id)), float64(s.counts(b).get(id))
	if prev < s.minCount && cur < s.minCount {
		return v
	}
	m := &s.ids.memo[id]
	if m.expectedAt != s.epoch {
		m.expected, m.expectedAt = s.tracker.Expected(f), s.epoch
	}
	e := m.expected
	o := s.closed
	if o == 0 {
		o = s.first
	}
	for ; o < b-step; o += step {
		e = s.beta*e + (1-s.beta)*float64(s.counts(o).get(id))
	}
	if prev >= s.minCount {
		if z, ok := s.tracker.Judge(prev, e); ok {
			v.z, v.burst = z, true
		}
	}
	if o == b-step {
		e = s.beta*e + (1-s.beta)*prev
	}
	if cur >= s.minCount {
		if z, ok := s.tracker.Judge(cur, e); ok && z > v.z {
			v.z, v.burst = z, true
		}
	}
	return v
}

// verdict is whether a term bursts in a bucket, and how strongly.
type verdict struct {
	z     float64
	burst bool
}

// ranked is an emerging feature of a mention and its z.
type ranked struct {
	f string
	z float64
}

// close hands the buckets more than Reorder older than the newest to the
// tracker, oldest first, each bucket's terms in sorted order; a term no
// open bucket holds any more is forgotten.
func (s *Stage) close() {
	limit := s.newest - int64(s.reorder)
	var done []int64
	for b := range s.open {
		if b < limit {
			done = append(done, b)
		}
	}
	if len(done) == 0 {
		return
	}
	slices.Sort(done)
	for _, b := range done {
		p := s.open[b]
		order := s.order[:0]
		for _, e := range p.slot {
			if e.id != 0 {
				order = append(order, e.id-1)
			}
		}
		terms := s.ids.terms
		slices.SortFunc(order, func(x, y uint32) int { return strings.Compare(terms[x], terms[y]) })
		sorted, nums := s.sorted[:0], s.nums[:0]
		for _, id := range order {
			sorted = append(sorted, terms[id])
			nums = append(nums, float64(p.get(id)))
		}
		s.tracker.ObserveSorted(time.Unix(0, b), sorted, nums)
		for _, id := range order {
			s.ids.release(id)
		}
		clear(sorted)
		s.order, s.sorted, s.nums = order, sorted, nums
		delete(s.open, b)
	}
	s.ids.shrink()
	s.closed = done[len(done)-1] + int64(s.bucket)
	s.tracker.Advance(time.Unix(0, s.closed))
	s.ids.next(&s.epoch, func(m *memo) *uint32 { return &m.expectedAt })
}

// containsBefore reports whether feats[i] occurs in feats[:i].
func containsBefore(feats []string, i int) bool {
	for _, f := range feats[:i] {
		if f == feats[i] {
			return true
		}
	}
	return false
}

// tag adds the emerging features of a mention (distinct, none already
// among its trends), strongest first.
func (s *Stage) tag(m *pipeline.Mention, tags []ranked) {
	slices.SortFunc(tags, func(a, b ranked) int {
		if c := cmp.Compare(b.z, a.z); c != 0 {
			return c
		}
		return strings.Compare(a.f, b.f)
	})
	if room := s.maxTags - len(m.Enrichment.Trends); len(tags) > room {
		tags = tags[:max(room, 0)]
	}
	for _, t := range tags {
		m.Enrichment.Trends = append(m.Enrichment.Trends, t.f)
	}
	m.SetVersion(Name, Version)
}

// features are a mention's hashtags ("#tag") and, when on, its terms.
func (s *Stage) features(m *pipeline.Mention) []string {
	out, _ := s.appendFeatures(make([]string, 0, s.featureRoom(m)), m)
	return out
}

// featureRoom is the most features a mention can have.
func (s *Stage) featureRoom(m *pipeline.Mention) int {
	n := len(m.Enrichment.Hashtags)
	if s.terms {
		n += words.MaxTerms
	}
	return n
}

// appendFeatures appends the mention's features to dst and says how many
// of them are hashtags (they come first).
func (s *Stage) appendFeatures(dst []string, m *pipeline.Mention) ([]string, int) {
	start := len(dst)
	for _, h := range m.Enrichment.Hashtags {
		if h != "" {
			dst = append(dst, "#"+h)
		}
	}
	tags := len(dst) - start
	if s.terms {
		dst = words.Terms(dst, m.Title, m.Text)
	}
	return dst, tags
}
