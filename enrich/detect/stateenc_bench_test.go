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
	reset := func() { c, i = st.counter(b), 0 }
	reset()
	size := 0
	for b.Loop() {
		b.StopTimer()
		if i == n {
			reset()
		}
		st.step(b, c, &dec, i, batch)
		i += batch
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
