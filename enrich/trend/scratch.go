package trend

import "sync"

// seasonScratch is what rebuildProfile works in: the hourly history
// (SeasonWeeks × 168 hours) twice, a copy for sorting, and the day-type
// pools. It is needed once an hour per detector, so detectors borrow one
// from seasonScratchPool instead of each holding its own (with 1,000 topic
// rules, about 40 KB per series and 40 MB in all, for nothing). Every
// slice is written before it is read, so which scratch a detector gets
// changes no answer.
type seasonScratch struct {
	histV, histQ []float64
	sort         []float64 // medians sort a copy here
	own          []float64
	pool         [48][]float64
}

var seasonScratchPool = sync.Pool{New: func() any { return new(seasonScratch) }}

// getSeasonScratch returns a scratch whose history slices hold n hours.
func getSeasonScratch(n int) *seasonScratch {
	sc := seasonScratchPool.Get().(*seasonScratch)
	if cap(sc.histV) < n {
		sc.histV = make([]float64, n)
		sc.histQ = make([]float64, n)
		sc.sort = make([]float64, 0, n)
	}
	return sc
}
