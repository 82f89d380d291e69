package trendtag

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/enrich/internal/sample"
	"github.com/earshot-dev/earshot/enrich/internal/stagetest"
	"github.com/earshot-dev/earshot/pipeline"
)

// BenchmarkEnrichVsFormer times the stage against the former one
// (former_test.go) alternately in one run (stagetest.BenchPair), warm and
// with full buckets: default options (5m buckets, 15m reorder) but a 10m
// warm-up, fed 40 mentions a second in batches of 64 after 20 minutes of
// mention time; ns/text is per batch of 64. The texts: real (see
// realMentions), the sample posts, and the ~1 KB articles built from them.
//
//	go test -run '^$' -bench EnrichVsFormer -benchtime 3000x ./enrich/detect/trendtag/
func BenchmarkEnrichVsFormer(b *testing.B) {
	start := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		ms   func() []*pipeline.Mention
	}{
		{"real", func() []*pipeline.Mention { return realMentions(b, 20_000, start) }},
		{"posts", func() []*pipeline.Mention { return withHashtags(sample.Mentions()) }},
		{"articles", func() []*pipeline.Mention { return withHashtags(sample.Articles()) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			o := Options{Warmup: 10 * time.Minute}
			cur, err := NewWithOptions(o)
			if err != nil {
				b.Fatal(err)
			}
			former, err := newFormer(o)
			if err != nil {
				b.Fatal(err)
			}
			a, f := newFeed(c.ms(), start, cur.Enrich), newFeed(c.ms(), start, former.Enrich)
			for a.next < 20*60*40 {
				a.run(b)
				f.run(b)
			}
			stagetest.BenchPair(b, 1, func(int) { a.run(b) }, func(int) { f.run(b) }, "former")
		})
	}
}

// feed hands a stage batches of 64 mentions, 40 a second of created_at,
// cycling through its own copies of the texts.
type feed struct {
	ms     []*pipeline.Mention
	batch  []*pipeline.Mention
	next   int
	start  time.Time
	enrich func(context.Context, []*pipeline.Mention) error
}

func newFeed(ms []*pipeline.Mention, start time.Time, enrich func(context.Context, []*pipeline.Mention) error) *feed {
	return &feed{ms: ms, batch: make([]*pipeline.Mention, 64), start: start, enrich: enrich}
}

func (f *feed) run(b *testing.B) {
	for i := range f.batch {
		m := f.ms[f.next%len(f.ms)]
		m.CreatedAt = f.start.Add(time.Duration(f.next) * 25 * time.Millisecond)
		m.Enrichment.Trends = m.Enrichment.Trends[:0]
		f.batch[i] = m
		f.next++
	}
	if err := f.enrich(context.Background(), f.batch); err != nil {
		b.Fatal(err)
	}
}

// withHashtags sets each mention's hashtags to the #words of its text, as
// the entities stage would (roughly).
func withHashtags(ms []*pipeline.Mention) []*pipeline.Mention {
	for _, m := range ms {
		m.Enrichment = pipeline.Enrichment{}
		for w := range strings.FieldsSeq(m.Text) {
			if h, ok := strings.CutPrefix(w, "#"); ok {
				m.Enrichment.Hashtags = append(m.Enrichment.Hashtags, strings.ToLower(strings.Trim(h, ".,!?:;")))
			}
		}
	}
	return ms
}

// BenchmarkStateMemoryVsFormer is BenchmarkStateMemory for the stage and
// the former one, at the default reorder (15m) and at 1h.
//
//	go test -run '^$' -bench StateMemoryVsFormer -benchtime 1x ./enrich/detect/trendtag/
func BenchmarkStateMemoryVsFormer(b *testing.B) {
	for _, reorder := range []time.Duration{DefaultReorder, time.Hour} {
		for _, former := range []bool{false, true} {
			name := "stage"
			if former {
				name = "former"
			}
			b.Run(name+"/reorder="+reorder.String(), func(b *testing.B) {
				o := Options{Reorder: reorder}
				benchStateMemory(b, func() (func(context.Context, []*pipeline.Mention) error, any) {
					if former {
						s, err := newFormer(o)
						if err != nil {
							b.Fatal(err)
						}
						return s.Enrich, s
					}
					s, err := NewWithOptions(o)
					if err != nil {
						b.Fatal(err)
					}
					return s.Enrich, s
				})
			})
		}
	}
}

// benchStateMemory reports the heap a stage holds after 70 minutes of
// mention time at 40 mentions a second of real texts, in batches of 256
// (the texts of 20,000 mentions, repeated); the mentions are not counted.
func benchStateMemory(b *testing.B, build func() (func(context.Context, []*pipeline.Mention) error, any)) {
	start := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	ms := realMentions(b, 20_000, start)
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		enrich, s := build()
		const total = 70 * 60 * 40
		for i := 0; i < total; i += 256 {
			batch := ms[:0:0]
			for k := i; k < min(i+256, total); k++ {
				m := ms[k%len(ms)]
				m.CreatedAt = start.Add(time.Duration(k) * 25 * time.Millisecond)
				m.Enrichment.Trends = nil
				batch = append(batch, m)
			}
			if err := enrich(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/1e6, "state-MB")
		runtime.KeepAlive(s)
	}
}
