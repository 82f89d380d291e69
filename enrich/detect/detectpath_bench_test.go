package detect

import (
	"testing"
	"time"
)

// BenchmarkDetectPath is the detect role's cost per enriched message
// without I/O: decode, dedup, count into the series at 1m and 5m and
// sample for explanations (buckets are closed every 500 messages, untimed:
// this stream passes a day and a half of event time in 9,000 messages,
// where a busy one passes minutes), on the real
// stream of TestDetectPathMatchesReference (3 topics, 5 platforms, tweets
// and articles, about 900 bytes of JSON a message). "reference" is the
// former path (pipeline.Unmarshal, all of Terms), "own" the role's; the
// speedup metric is reference time / own time, measured alternately in
// the same run.
//
// "busy" is the same stream 60 times faster (a day and a half in 36
// minutes, 4 mentions a second): fewer of its mentions enter a sample.
func BenchmarkDetectPath(b *testing.B) {
	rs := loadRealStream(b, 900, 430, 3)
	b.Run("stream", func(b *testing.B) { benchDetectPath(b, rs) })
	b.Run("busy", func(b *testing.B) { benchDetectPath(b, compressed(b, rs, 60)) })
}

// compressed is rs with event times k times closer together.
func compressed(tb testing.TB, rs *realStream, k int) *realStream {
	tb.Helper()
	t0 := rs.Mentions[0].CollectedAt
	squeeze := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return t0.Add(t.Sub(t0) / time.Duration(k))
	}
	out := &realStream{Topics: rs.Topics}
	for _, m := range rs.Mentions {
		c := *m
		c.CreatedAt, c.CollectedAt = squeeze(m.CreatedAt), squeeze(m.CollectedAt)
		data, err := c.Marshal()
		if err != nil {
			tb.Fatal(err)
		}
		out.Mentions, out.Data = append(out.Mentions, &c), append(out.Data, data)
	}
	return out
}

func benchDetectPath(b *testing.B, rs *realStream) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	paths := [2]*detectPath{}
	reset := func() {
		for i, own := range []bool{false, true} {
			c, err := NewCounter(pathConfig(), rs.Topics)
			if err != nil {
				b.Fatal(err)
			}
			p := &detectPath{c: c}
			if own {
				p.dec = new(decoder)
			} else {
				c.termsOf = refSampleTerms
			}
			paths[i] = p
		}
	}
	reset()
	var took [2]time.Duration
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if i == len(rs.Data) {
			b.StopTimer()
			reset()
			i = 0
			b.StartTimer()
		}
		for k, p := range paths {
			t0 := time.Now()
			for j := i; j < min(i+500, len(rs.Data)); j++ {
				if _, err := p.count(rs.Data[j], uint64(j+1), now); err != nil {
					b.Fatal(err)
				}
			}
			took[k] += time.Since(t0)
			b.StopTimer()
			if _, _, err := p.c.Close(p.c.Watermark(), p.c.Watermark().Add(time.Minute)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		i = min(i+500, len(rs.Data))
	}
	b.ReportMetric(float64(took[0])/float64(took[1]), "speedup")
	b.ReportMetric(float64(took[0].Nanoseconds())/float64(b.N*500), "ref-ns/msg")
	b.ReportMetric(float64(took[1].Nanoseconds())/float64(b.N*500), "own-ns/msg")
}
