package trendtag

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/enrich/internal/sample"
	"github.com/earshot-dev/earshot/pipeline"
)

// diffTraffic is n mentions of real texts (realMentions, and the sample
// posts and ~1 KB articles with their #hashtags) at 4 a second, with a
// surge of a new hashtag and word, a second surge of a common word, some
// hashtags given twice or empty, created_at times moved back within and
// beyond reorder (a quarter of them, up to 2·reorder) or ahead within it
// (0.2%), and one mention 3 hours ahead near the end.
func diffTraffic(tb testing.TB, n int, start time.Time, reorder time.Duration) []*pipeline.Mention {
	ms := realMentions(tb, n, start)
	extra := append(sample.Mentions(), sample.Articles()...)
	r := rand.New(rand.NewPCG(7, 11))
	for i, m := range ms {
		if i%5 == 0 {
			x := extra[r.IntN(len(extra))]
			m.Title, m.Text, m.Enrichment.Hashtags = x.Title, x.Text, nil
			for w := range strings.FieldsSeq(x.Text) {
				if h, ok := strings.CutPrefix(w, "#"); ok {
					m.Enrichment.Hashtags = append(m.Enrichment.Hashtags, strings.ToLower(strings.Trim(h, ".,!?")))
				}
			}
		}
		switch {
		case i >= n/2 && i < n/2+n/30 && i%2 == 0:
			m.Text += " Acme RECALL now, acme's recall #AcmeFire"
			m.Enrichment.Hashtags = append(m.Enrichment.Hashtags, "acmefire")
			if i%3 == 0 {
				m.Enrichment.Hashtags = append(m.Enrichment.Hashtags, "acmefire", "")
			}
		case i >= 3*n/4 && i < 3*n/4+n/40:
			m.Text = "people really love this good thing " + m.Text
		}
		m.CreatedAt = start.Add(time.Duration(i) * 250 * time.Millisecond)
		switch k := r.IntN(1000); {
		case i == n-n/20:
			m.CreatedAt = m.CreatedAt.Add(3 * time.Hour) // closes every bucket; the rest come too late
		case k < 250:
			m.CreatedAt = m.CreatedAt.Add(-time.Duration(r.Int64N(int64(2 * reorder))))
		case k < 252:
			m.CreatedAt = m.CreatedAt.Add(time.Duration(r.Int64N(int64(reorder))))
		}
	}
	return ms
}

// copies returns a copy of the batch's mentions without their trends.
func copies(batch []*pipeline.Mention) []*pipeline.Mention {
	out := make([]*pipeline.Mention, len(batch))
	for i, m := range batch {
		c := *m
		c.Enrichment.Trends = nil
		c.Enrichment.Versions = nil
		out[i] = &c
	}
	return out
}

// openCounts is the stage's open buckets as the former stage held them.
func (s *Stage) openCounts() map[int64]map[string]float64 {
	out := make(map[int64]map[string]float64)
	for b, p := range s.open {
		c := make(map[string]float64)
		for _, e := range p.slot {
			if e.id != 0 {
				c[s.ids.terms[e.id-1]] = float64(e.n)
			}
		}
		out[b] = c
	}
	return out
}

// TestTagsMatchFormer runs the same real traffic through the stage and the
// former one (former_test.go) in batches of varying size, some of them
// swapped with the next, and compares every mention's tags after every
// batch, the open buckets' counts, and the terms the tracker follows and
// finds emerging at the end. The cases cover a surge, times out of order
// within and beyond reorder, far jumps ahead, eviction from a small
// capacity, and terms off.
func TestTagsMatchFormer(t *testing.T) {
	start := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	tr := false
	tests := []struct {
		name   string
		opts   Options
		n      int
		evicts bool
	}{
		{"minute buckets", Options{Bucket: time.Minute, Warmup: 6 * time.Minute}, 30_000, false},
		{"short reorder", Options{Bucket: time.Minute, Warmup: 5 * time.Minute, Reorder: 2 * time.Minute, HalfLife: 30 * time.Minute}, 30_000, false},
		{"capacity 1000", Options{Bucket: time.Minute, Warmup: 5 * time.Minute, Capacity: 1000, MinCount: 3, Z: 3}, 30_000, true},
		{"defaults", Options{Warmup: 10 * time.Minute}, 30_000, false},
		{"hashtags only", Options{Bucket: time.Minute, Warmup: 5 * time.Minute, Terms: &tr, MaxTags: 2}, 20_000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur, err := NewWithOptions(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			former, err := newFormer(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			ms := diffTraffic(t, tt.n, start, cur.reorder)
			r := rand.New(rand.NewPCG(1, 2))
			var batches [][]*pipeline.Mention
			for i := 0; i < len(ms); {
				k := min(i+1+r.IntN(600), len(ms))
				batches = append(batches, ms[i:k])
				i = k
			}
			for i := 0; i+1 < len(batches); i += 2 + r.IntN(3) {
				batches[i], batches[i+1] = batches[i+1], batches[i]
			}
			// Its stamps wrap around during the run.
			cur.epoch, cur.round = math.MaxUint32-3, math.MaxUint32-40
			ctx := context.Background()
			if err := cur.Enrich(ctx, nil); err != nil {
				t.Fatal(err)
			}
			// The tracker breaks ties among the terms it evicts by name
			// (it used Go's map order until session 7, when tags after an
			// eviction varied from run to run), so tags are compared for
			// every mention, before and after the first eviction.
			tagged, late, compared, tracked := 0, 0, 0, 0
			evicted := -1
			for bi, b := range batches {
				for _, m := range b {
					if former.closed != 0 && m.CreatedAt.Truncate(former.bucket).UnixNano() < former.closed {
						late++
					}
				}
				got, want := copies(b), copies(b)
				if err := cur.Enrich(ctx, got); err != nil {
					t.Fatal(err)
				}
				if err := former.Enrich(ctx, want); err != nil {
					t.Fatal(err)
				}
				if n := former.tracker.Tracked(); n < tracked && evicted < 0 {
					evicted = bi
				} else {
					tracked = n
				}
				for i := range got {
					compared++
					g, w := got[i].Enrichment, want[i].Enrichment
					if !slices.Equal(g.Trends, w.Trends) || !maps.Equal(g.Versions, w.Versions) {
						t.Fatalf("batch %d, mention %s: trends %q, versions %v; want %q, %v as the former stage",
							bi, got[i].ID, g.Trends, g.Versions, w.Trends, w.Versions)
					}
					if len(g.Trends) > 0 {
						tagged++
					}
				}
				{
					if !maps.EqualFunc(cur.openCounts(), former.open, maps.Equal) {
						t.Fatalf("after batch %d: open buckets differ from the former stage's", bi)
					}
					if cur.closed != former.closed || cur.first != former.first || cur.newest != former.newest {
						t.Fatalf("after batch %d: closed, first, newest = %d, %d, %d; want %d, %d, %d", bi,
							cur.closed, cur.first, cur.newest, former.closed, former.first, former.newest)
					}
				}
			}
			at := time.Unix(0, cur.newest)
			if g, w := cur.tracker.Tracked(), former.tracker.Tracked(); g != w {
				t.Errorf("tracked terms = %d; want %d", g, w)
			}
			if g, w := fmt.Sprint(cur.tracker.Bursts(at)), fmt.Sprint(former.tracker.Bursts(at)); g != w {
				t.Errorf("tracker bursts = %s; want %s", g, w)
			}
			if (evicted >= 0) != tt.evicts {
				t.Errorf("first eviction in batch %d (-1: none); want one: %v", evicted, tt.evicts)
			}
			// Every held term is in an open bucket, and no other.
			live := 0
			for id, term := range cur.ids.terms {
				if term != "" {
					live++
					if cur.ids.refs[id] <= 0 {
						t.Errorf("term %q held with %d open buckets", term, cur.ids.refs[id])
					}
				}
			}
			distinct := map[string]bool{}
			for _, c := range former.open {
				for term := range c {
					distinct[term] = true
				}
			}
			if live != len(distinct) || len(cur.ids.byTerm) != live {
				t.Errorf("%d terms held (%d by name); want the %d of the open buckets", live, len(cur.ids.byTerm), len(distinct))
			}
			t.Logf("%d batches, tags of %d mentions compared (%d tagged), %d too late to count, first eviction in batch %d",
				len(batches), compared, tagged, late, evicted)
			if tagged == 0 || late == 0 {
				t.Errorf("%d mentions tagged, %d too late: want some of each, or the case tests less than it says", tagged, late)
			}
		})
	}
}
