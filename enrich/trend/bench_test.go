package trend

import (
	"fmt"
	"io"
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
