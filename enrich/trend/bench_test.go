package trend

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func BenchmarkObserve(b *testing.B) {
	series := synth(1, 14, 50, nil)
	d, err := NewDetector(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	step := 5 * time.Minute
	last := series[len(series)-1].t
	for _, o := range series {
		if _, err := d.Observe(o.t, o.count, o.negative); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		o := series[i%len(series)]
		last = last.Add(step)
		if _, err := d.Observe(last, o.count, o.negative); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkObserveBaseline is the same-run reference for BenchmarkObserve:
// mean + 3σ over the last day of buckets (the rule the NAB report
// compares with), on the same series. Compare ns/op as a ratio.
func BenchmarkObserveBaseline(b *testing.B) {
	series := synth(1, 14, 50, nil)
	const window = 288
	ring := make([]float64, window)
	var sum, sq float64
	for i, o := range series {
		old := ring[i%window]
		ring[i%window] = o.count
		sum += o.count - old
		sq += o.count*o.count - old*old
	}
	b.ReportAllocs()
	i, alerts := 0, 0
	for b.Loop() {
		v := series[i%len(series)].count
		mean := sum / window
		sd := math.Sqrt(math.Max(sq/window-mean*mean, 0))
		if v > mean+3*sd {
			alerts++
		}
		old := ring[i%window]
		ring[i%window] = v
		sum += v - old
		sq += v*v - old*old
		i++
	}
	_ = alerts
}

// BenchmarkCheckpoint measures a detector's checkpoint (MarshalBinary)
// after six weeks of 5-minute buckets: its time and its size in bytes
// (state-bytes), what NATS KV stores per series.
func BenchmarkCheckpoint(b *testing.B) {
	d, err := NewDetector(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	for _, o := range synth(1, 42, 50, nil) { // six weeks: the seasonal history is full
		if _, err := d.Observe(o.t, o.count, o.negative); err != nil {
			b.Fatal(err)
		}
	}
	var size int
	b.ReportAllocs()
	for b.Loop() {
		st, err := d.MarshalBinary()
		if err != nil {
			b.Fatal(err)
		}
		size = len(st)
	}
	b.ReportMetric(float64(size), "state-bytes")
}

func BenchmarkDetectCSV(b *testing.B) {
	// 15,840 rows of 5-minute buckets: the size of one NAB Twitter series.
	in := nabCSV(synth(2, 55, 50, nil))
	cfg := DefaultConfig()
	cfg.Bucket = 0
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if err := DetectCSV(strings.NewReader(in), io.Discard, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBurstObserve(b *testing.B) {
	t, err := NewBurstTracker(DefaultBurstConfig())
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	vocab := make([]string, 50000)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("term%d", i)
	}
	mentions := make([][]string, 4096)
	for i := range mentions {
		for range 8 { // a tweet's worth of terms, Zipf-ish
			mentions[i] = append(mentions[i], vocab[int(float64(len(vocab))*r.Float64()*r.Float64()*r.Float64())])
		}
	}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// 100 mentions a second.
		t.Observe(base.Add(time.Duration(i)*10*time.Millisecond), mentions[i%len(mentions)])
		i++
	}
}
