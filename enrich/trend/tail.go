package trend

import "math"

// tail is an exponentially decayed histogram of a detector's z-scores on a
// log scale, for the "rare as well as significant" rule: a z must also
// exceed the level that recent history exceeded only once per Rarity.
type tail struct {
	Bins  []float64 `json:"bins"`
	Total float64   `json:"total"`
}

const (
	tailBins    = 48
	tailPerOct  = 4   // bins per doubling of z
	tailMinZ    = 0.5 // lower edge of bin 1; bin 0 holds z below it
	tailMaxEdge = tailMinZ * (1 << ((tailBins - 1) / tailPerOct))
)

func newTail() tail { return tail{Bins: make([]float64, tailBins)} }

// edge returns the lower edge of bin i >= 1.
func tailEdge(i int) float64 { return tailMinZ * math.Exp2(float64(i-1)/tailPerOct) }

func tailBin(z float64) int {
	if z < tailMinZ {
		return 0
	}
	i := 1 + int(math.Floor(math.Log2(z/tailMinZ)*tailPerOct))
	return min(i, tailBins-1)
}

// add decays the histogram by beta and counts z.
func (h *tail) add(z, beta float64) {
	if len(h.Bins) != tailBins {
		h.Bins = make([]float64, tailBins)
		h.Total = 0
	}
	for i := range h.Bins {
		h.Bins[i] *= beta
	}
	h.Total = h.Total*beta + 1
	h.Bins[tailBin(z)]++
}

// quantile returns the z exceeded by a fraction p of the (decayed) history,
// interpolating within a bin on the log scale; ok is false while the
// history holds fewer than 1/p observations.
func (h *tail) quantile(p float64) (z float64, ok bool) {
	if len(h.Bins) != tailBins || h.Total < 1/p {
		return 0, false
	}
	need := p * h.Total
	acc := 0.0
	for i := tailBins - 1; i >= 1; i-- {
		w := h.Bins[i]
		if acc+w >= need && w > 0 {
			// Fraction of this bin, from its top, that holds the tail.
			f := (need - acc) / w
			lo := tailEdge(i)
			return lo * math.Exp2((1-f)/tailPerOct), true
		}
		acc += w
	}
	return tailMinZ, true
}
