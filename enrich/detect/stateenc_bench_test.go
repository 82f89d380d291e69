package detect

import (
	"testing"
	"time"
)

// BenchmarkStateEncoding is the checkpoint's state record after each
// batch of BenchmarkDetectStep's stream: "former" encodes it as Checkpoint
// did before (the record built whole, then json.Marshal), "own" as it does
// now; the two are timed alternately on the same states (counting is not
// timed), and speedup is former time / own time.
func BenchmarkStateEncoding(b *testing.B) {
	const n, batch = 90_000, 1000
	st := newStepStream(b, n)
	var (
		c    *Counter
		dec  decoder
		i    int
		took [2]time.Duration
	)
	reset := func() {
		var err error
		if c, err = NewCounter(Config{}, st.topics); err != nil {
			b.Fatal(err)
		}
		i = 0
	}
	reset()
	size := 0
	for b.Loop() {
		b.StopTimer()
		if i == n {
			reset()
		}
		now := st.t0.Add(time.Duration(i+batch)*time.Second/time.Duration(st.rate) + 2*time.Second)
		for j := i; j < i+batch; j++ {
			m, err := dec.decode(st.data[j])
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.count(m, &dec, uint64(j+1), now); err != nil {
				b.Fatal(err)
			}
		}
		i += batch
		if _, _, err := c.Close(c.Watermark().Add(-DefaultReorder), now); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		former, err := refState(c)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		own, ok := c.appendState(c.stateBuf[:0])
		t2 := time.Now()
		if !ok || string(own) != string(former) {
			b.Fatal("the state record differs from the former encoding")
		}
		c.stateBuf = own
		took[0] += t1.Sub(t0)
		took[1] += t2.Sub(t1)
		size = len(former)
	}
	b.ReportMetric(float64(took[0])/float64(took[1]), "speedup")
	b.ReportMetric(float64(took[0].Nanoseconds())/float64(b.N), "former-ns/batch")
	b.ReportMetric(float64(took[1].Nanoseconds())/float64(b.N), "own-ns/batch")
	b.ReportMetric(float64(size), "bytes/state")
}
