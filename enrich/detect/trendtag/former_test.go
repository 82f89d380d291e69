package trendtag

// The stage before session 7 (one Go map of term counts per open bucket,
// looked up by string for every count and read), kept to check that the
// current stage tags the same traffic the same way (TestTagsMatchFormer)
// and to time the two side by side (BenchmarkEnrichVsFormer).

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/earshot-dev/earshot/enrich/trend"
	"github.com/earshot-dev/earshot/pipeline"
)

// formerStage is Stage as it was at 1e645f8.
type formerStage struct {
	tracker *trend.BurstTracker
	cur     *Stage // for its options and appendFeatures, which did not change
	terms   bool
	maxTags int
	warmup  time.Duration
	bucket  time.Duration

	reorder  time.Duration
	minCount float64
	beta     float64

	mu                    sync.Mutex
	open                  map[int64]map[string]float64
	first, newest, closed int64
}

// newFormer builds the former stage with the options of NewWithOptions(o).
func newFormer(o Options) (*formerStage, error) {
	s, err := NewWithOptions(o)
	if err != nil {
		return nil, err
	}
	return &formerStage{tracker: s.tracker, cur: s, terms: s.terms, maxTags: s.maxTags, warmup: s.warmup, bucket: s.bucket,
		reorder: s.reorder, minCount: s.minCount, beta: s.beta, open: make(map[int64]map[string]float64)}, nil
}

func (s *formerStage) featureRoom(m *pipeline.Mention) int { return s.cur.featureRoom(m) }

func (s *formerStage) appendFeatures(dst []string, m *pipeline.Mention) ([]string, int) {
	return s.cur.appendFeatures(dst, m)
}

// Enrich counts the batch's hashtags and terms in the buckets (of mention
// time) they belong to, and tags each mention with the emerging ones it
// carries: those whose count in the mention's bucket so far, or in the
// bucket before, is a burst over the term's usual rate. Buckets within
// Reorder of the newest mention time seen stay open: a batch that reaches
// the stage after a later one is counted where it belongs, so the order
// in which concurrent batches arrive does not change the counts. Older
// buckets are closed into the tracker's rates, oldest first.
func (s *formerStage) Enrich(_ context.Context, batch []*pipeline.Mention) error {
	wall := time.Now()
	type item struct {
		m      *pipeline.Mention
		bucket int64
		feats  []string
		tags   int // feats[:tags] are the hashtags
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
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range items {
		b := items[i].bucket
		if s.closed != 0 && b < s.closed {
			// Its bucket is closed into the rates already: it is tagged by
			// nothing and not counted (it would count in the wrong bucket).
			items[i].feats = nil
			continue
		}
		p := s.open[b]
		if p == nil {
			p = make(map[string]float64)
			s.open[b] = p
		}
		for k, f := range items[i].feats {
			// Terms are distinct and never start with '#': only a
			// hashtag can repeat an earlier feature.
			if f == "" || k < items[i].tags && formerContainsBefore(items[i].feats, k) {
				continue
			}
			if _, ok := p[f]; !ok {
				f = strings.Clone(f) // terms are substrings of a text
			}
			p[f]++
		}
		if s.first == 0 || b < s.first {
			s.first = b
		}
		if b > s.newest {
			s.newest = b
		}
	}
	judged := make(map[int64]map[string]formerVerdict)
	rank := make(map[string]float64)
	for _, it := range items {
		// Warm once Warmup of history precedes the mention's bucket.
		if it.feats == nil || time.Duration(it.bucket-s.first) < s.warmup {
			it.m.SetVersion(Name, Version)
			continue
		}
		// Most terms are below MinCount in both buckets: two lookups
		// settle them; the others are judged once per bucket and batch.
		cur, prev := s.open[it.bucket], s.open[it.bucket-int64(s.bucket)]
		clear(rank)
		for _, f := range it.feats {
			if cur[f] < s.minCount && prev[f] < s.minCount {
				continue
			}
			v := judged[it.bucket]
			if v == nil {
				v = make(map[string]formerVerdict)
				judged[it.bucket] = v
			}
			d, ok := v[f]
			if !ok {
				d = s.judge(f, it.bucket)
				v[f] = d
			}
			if d.burst {
				rank[f] = d.z
			}
		}
		s.tag(it.m, it.feats, rank)
	}
	s.close()
	return nil
}

// judge decides whether f bursts in bucket b (its count so far) or in the
// bucket before, over its rate before that bucket: the tracker's rate at
// the end of the closed buckets, carried through the open ones before.
func (s *formerStage) judge(f string, b int64) (v formerVerdict) {
	step := int64(s.bucket)
	prev, cur := s.open[b-step][f], s.open[b][f]
	if prev < s.minCount && cur < s.minCount {
		return v
	}
	e := s.tracker.Expected(f)
	o := s.closed
	if o == 0 {
		o = s.first
	}
	for ; o < b-step; o += step {
		e = s.beta*e + (1-s.beta)*s.open[o][f]
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

// formerVerdict is whether a term bursts in a bucket, and how strongly.
type formerVerdict struct {
	z     float64
	burst bool
}

// close hands the buckets more than Reorder older than the newest to the
// tracker, oldest first.
func (s *formerStage) close() {
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
		s.tracker.ObserveCounts(time.Unix(0, b), s.open[b])
		delete(s.open, b)
	}
	s.closed = done[len(done)-1] + int64(s.bucket)
	s.tracker.Advance(time.Unix(0, s.closed))
}

// containsBefore reports whether feats[i] occurs in feats[:i].
func formerContainsBefore(feats []string, i int) bool {
	for _, f := range feats[:i] {
		if f == feats[i] {
			return true
		}
	}
	return false
}

// tag adds the emerging features of a mention, strongest first.
func (s *formerStage) tag(m *pipeline.Mention, feats []string, rank map[string]float64) {
	var tags []string
	for _, f := range feats {
		if _, ok := rank[f]; ok && !slices.Contains(m.Enrichment.Trends, f) && !slices.Contains(tags, f) {
			tags = append(tags, f)
		}
	}
	slices.SortFunc(tags, func(a, b string) int {
		if c := cmp.Compare(rank[b], rank[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	if room := s.maxTags - len(m.Enrichment.Trends); len(tags) > room {
		tags = tags[:max(room, 0)]
	}
	m.Enrichment.Trends = append(m.Enrichment.Trends, tags...)
	m.SetVersion(Name, Version)
}
