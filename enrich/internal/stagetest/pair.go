package stagetest

import (
	"slices"
	"testing"
	"time"
)

// BenchPair times a new implementation against the one it replaces on the
// same inputs: cur and former each run over blocks of 16 of the n inputs,
// b.N of each in all, alternating which goes first so a pause of a busy
// machine does not land on one side. It reports the median ns per input
// of each (ns/text and formerName-ns/text) and the median of the blocks'
// ratios former/cur (speedup).
func BenchPair(b *testing.B, n int, cur, former func(k int), formerName string) {
	const block = 16
	var curNs, formerNs, ratio []float64
	k := 0
	for i := 0; i < b.N; i += block {
		first := k
		var dc, df time.Duration
		for side := range 2 {
			curSide := (side == 0) == (i/block%2 == 0)
			t0 := time.Now()
			for j := range block {
				if curSide {
					cur((first + j) % n)
				} else {
					former((first + j) % n)
				}
			}
			if curSide {
				dc = time.Since(t0)
			} else {
				df = time.Since(t0)
			}
		}
		k = (first + block) % n
		curNs = append(curNs, float64(dc.Nanoseconds())/block)
		formerNs = append(formerNs, float64(df.Nanoseconds())/block)
		ratio = append(ratio, float64(df)/float64(dc))
	}
	median := func(xs []float64) float64 {
		slices.Sort(xs)
		return xs[len(xs)/2]
	}
	b.ReportMetric(median(curNs), "ns/text")
	b.ReportMetric(median(formerNs), formerName+"-ns/text")
	b.ReportMetric(median(ratio), "speedup")
}
