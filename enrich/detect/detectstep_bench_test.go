package detect

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// stepStream is a live stream shaped like `earshot bench`'s: the real
// texts of TestDetectPathMatchesReference (tweets and articles), 1,000
// topics of Zipf-distributed popularity (one or two a mention), 7,000
// mentions a second of event time, each message with an id of its own.
type stepStream struct {
	topics []pipeline.Topic
	data   [][]byte
	t0     time.Time
	rate   int // mentions per second of event time
}

func newStepStream(tb testing.TB, n int) *stepStream {
	tb.Helper()
	rs := loadRealStream(tb, 900, 430, 3)
	st := &stepStream{t0: time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC), rate: 7000}
	for i := range 1000 {
		st.topics = append(st.topics, pipeline.Topic{ID: fmt.Sprintf("brand%03d", i), Query: "x"})
	}
	r := rand.New(rand.NewPCG(5, 7))
	zipf := rand.NewZipf(r, 1.3, 3, 999)
	for i := range n {
		c := *rs.Mentions[i%len(rs.Mentions)]
		c.ID = fmt.Sprintf("bench:%d", i)
		c.CreatedAt = st.t0.Add(time.Duration(i) * time.Second / time.Duration(st.rate))
		c.CollectedAt = c.CreatedAt.Add(time.Second)
		e := c.Enrichment
		e.Topics = []string{st.topics[zipf.Uint64()].ID}
		if r.IntN(4) == 0 {
			e.Topics = append(e.Topics, st.topics[zipf.Uint64()].ID)
		}
		c.Enrichment = e
		data, err := c.Marshal()
		if err != nil {
			tb.Fatal(err)
		}
		st.data = append(st.data, data)
	}
	return st
}

// BenchmarkDetectStep is the leader's work per batch of 1,000 enriched
// messages without I/O, as Runner.step does it: decode and count each
// message, close buckets and encode the checkpoint (default config: 5m
// series of 1,000 topics, the platforms and overall). One op is one batch;
// ns/msg is per message. The Counter runs on across batches, as a leader
// does, and starts afresh after 90,000 messages (13 s of event time).
func BenchmarkDetectStep(b *testing.B) {
	const n, batch = 90_000, 1000
	st := newStepStream(b, n)
	var (
		c   *Counter
		dec decoder
		i   int
	)
	reset := func() { c, i = st.counter(b), 0 }
	reset()
	msgs := 0
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		if i == n {
			b.StopTimer()
			reset()
			b.StartTimer()
		}
		st.step(b, c, &dec, i, batch)
		i += batch
		msgs += batch
		stepCheckpoint(b, c)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(msgs), "ns/msg")
	// CPU time (this process, GC included; the untimed resets too, about
	// 1 batch's worth each): on a loaded machine the ratio of two builds is
	// steadier in it than in wall time.
	b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(msgs), "cpu-ns/msg")
}

// counter is a fresh Counter of the default config over the stream's topics.
func (st *stepStream) counter(tb testing.TB) *Counter {
	tb.Helper()
	c, err := NewCounter(Config{}, st.topics)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// step decodes and counts the stream's messages [i, i+batch) as a leader
// does, its clock 2 s after the last of them, then closes the buckets
// DefaultReorder behind the watermark.
func (st *stepStream) step(tb testing.TB, c *Counter, dec *decoder, i, batch int) {
	tb.Helper()
	now := st.t0.Add(time.Duration(i+batch)*time.Second/time.Duration(st.rate) + 2*time.Second)
	for j := i; j < i+batch; j++ {
		m, err := dec.decode(st.data[j])
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := c.count(m, dec, uint64(j+1), now); err != nil {
			tb.Fatal(err)
		}
	}
	if _, _, err := c.Close(c.Watermark().Add(-DefaultReorder), now); err != nil {
		tb.Fatal(err)
	}
}

// cpuTime is the CPU time (user and system) this process used so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stepCheckpoint encodes the checkpoint as Runner.checkpoint does (the KV
// writes aside).
func stepCheckpoint(b *testing.B, c *Counter) {
	cp, err := c.checkpoint(false)
	if err != nil {
		b.Fatal(err)
	}
	c.MarkClean(cp)
}
