package detect

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

// benchMentions makes n mentions over 10 topics and 3 platforms, 20 a
// second of event time.
func benchMentions(n int, start time.Time) []*pipeline.Mention {
	tr := newTraffic(9)
	ms := make([]*pipeline.Mention, n)
	platforms := []string{"twitter", "rss", "reddit"}
	for i := range ms {
		m := tr.mention(start.Add(time.Duration(i)*50*time.Millisecond), "Acme is recalling the X200 after reports of cracked jars, what a mess", []string{"acmerecall"}, i%4 == 0)
		m.Platform = platforms[i%3]
		m.Enrichment.Topics = []string{fmt.Sprintf("t%d", i%10)}
		if i%5 == 0 {
			m.Enrichment.Topics = append(m.Enrichment.Topics, fmt.Sprintf("t%d", (i+1)%10))
		}
		ms[i] = m
	}
	return ms
}

func benchTopics() []pipeline.Topic {
	var ts []pipeline.Topic
	for i := range 10 {
		ts = append(ts, pipeline.Topic{ID: fmt.Sprintf("t%d", i), Query: "x"})
	}
	return ts
}

// BenchmarkCount is the detect role's cost per mention without I/O:
// dedup, counting into its series at 1m and 5m, sampling for explanations,
// and (amortised) closing buckets and running the detectors, with 10
// topics and 3 platforms (28 series).
func BenchmarkCount(b *testing.B) {
	cfg := testConfig()
	cfg.Resolutions = []time.Duration{time.Minute, 5 * time.Minute}
	start := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	const n = 200_000
	ms := benchMentions(n, start)
	now := start.Add(n * 50 * time.Millisecond)
	c, err := NewCounter(cfg, benchTopics())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == n {
			b.StopTimer()
			c, _ = NewCounter(cfg, benchTopics())
			i = 0
			b.StartTimer()
		}
		if _, err := c.Count(ms[i], uint64(i+1), now); err != nil {
			b.Fatal(err)
		}
		i++
		if i%1000 == 0 {
			if _, _, err := c.Close(c.Watermark(), now); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkCheckpoint encodes the whole state of 28 series after a day of
// history (what a leader writes when every series closed a bucket).
func BenchmarkCheckpoint(b *testing.B) {
	cfg := testConfig()
	cfg.Resolutions = []time.Duration{time.Minute, 5 * time.Minute}
	start := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	c, err := NewCounter(cfg, benchTopics())
	if err != nil {
		b.Fatal(err)
	}
	ms := benchMentions(24*3600/20, start) // one a second for a day, thinned
	for i, m := range ms {
		m.CreatedAt = start.Add(time.Duration(i) * 20 * time.Second)
		if _, err := c.Count(m, uint64(i+1), m.CreatedAt); err != nil {
			b.Fatal(err)
		}
		if i%3 == 0 { // a batch a minute
			_, _, _ = c.Close(c.Watermark(), m.CreatedAt)
		}
	}
	cp, err := c.Checkpoint(true)
	if err != nil {
		b.Fatal(err)
	}
	size := len(cp.State)
	for _, v := range cp.Series {
		size += len(v)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Checkpoint(true); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "bytes/checkpoint")
	b.ReportMetric(float64(len(cp.State)), "bytes/state")
}

// BenchmarkRunner is the detect role's throughput through JetStream:
// fetch, decode, count, checkpoint to KV and acknowledge 20,000 enriched
// mentions (10 topics, 3 platforms, 1m and 5m series).
func BenchmarkRunner(b *testing.B) {
	const n = 20_000
	for b.Loop() {
		b.StopTimer()
		j := pipelinetest.StartJetStream(b)
		ms := benchMentions(n, time.Now().Add(-n*50*time.Millisecond))
		publishEnriched(b, j.JS, ms)
		reg := prometheus.NewRegistry()
		cfg := testConfig()
		cfg.Resolutions = []time.Duration{time.Minute, 5 * time.Minute}
		cfg.BatchSize = 1000
		r := &Runner{JS: j.JS, Config: cfg, Topics: benchTopics(), Metrics: pipeline.NewMetrics(reg), Logger: pipelinetest.Discard, Holder: "bench"}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		b.StartTimer()
		go func() { done <- r.Run(ctx) }()
		pipelinetest.WaitFor(b, time.Minute, "all counted", func() bool {
			return consumerDone(b, j, pipeline.StreamEnriched, DefaultDurable)
		})
		b.StopTimer()
		cancel()
		<-done
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "mentions/s")
}
