package trend

import "sort"

// ring is a fixed-capacity FIFO of float64 that serialises to JSON.
type ring struct {
	Buf  []float64 `json:"buf"`
	Head int       `json:"head"` // index of the oldest value when full
}

func newRing(capacity int) ring { return ring{Buf: make([]float64, 0, capacity)} }

// push appends v, dropping the oldest value when full. It returns the value
// dropped and whether one was.
func (r *ring) push(v float64) (float64, bool) {
	if len(r.Buf) < cap(r.Buf) {
		r.Buf = append(r.Buf, v)
		return 0, false
	}
	old := r.Buf[r.Head]
	r.Buf[r.Head] = v
	r.Head = (r.Head + 1) % len(r.Buf)
	return old, true
}

func (r *ring) len() int   { return len(r.Buf) }
func (r *ring) full() bool { return len(r.Buf) == cap(r.Buf) && len(r.Buf) > 0 }

// oldest returns the oldest value; the ring must not be empty.
func (r *ring) oldest() float64 {
	if len(r.Buf) < cap(r.Buf) {
		return r.Buf[0]
	}
	return r.Buf[r.Head]
}

// back returns the value k places before the newest (back(0) is the
// newest); the ring must hold more than k values.
func (r *ring) back(k int) float64 {
	n := len(r.Buf)
	newest := n - 1
	if n == cap(r.Buf) {
		newest = (r.Head + n - 1) % n
	}
	return r.Buf[(newest-k+n)%n]
}

// tailSums sets out[i] to the sum of the newest ns[i] values (ns
// ascending), or of all values when fewer.
func (r *ring) tailSums(ns []int, out []float64) {
	n := len(r.Buf)
	newest := n - 1
	if n == cap(r.Buf) {
		newest = (r.Head + n - 1) % n
	}
	s, k := 0.0, 0
	for i, want := range ns {
		for ; k < want && k < n; k++ {
			s += r.Buf[(newest-k+n)%n]
		}
		out[i] = s
	}
}

// sum adds the values oldest first, so a restored ring sums to exactly
// the same float.
func (r *ring) sum() float64 {
	s := 0.0
	n := len(r.Buf)
	for i := range n {
		s += r.Buf[(r.Head+i)%n]
	}
	return s
}

// fixCap restores the capacity a ring had before JSON decoding (which
// allocates exactly len), keeping the values in order.
func (r *ring) fixCap(capacity int) {
	vals := make([]float64, 0, len(r.Buf))
	n := len(r.Buf)
	if n > 0 {
		h := r.Head % n
		vals = append(vals, r.Buf[h:]...)
		vals = append(vals, r.Buf[:h]...)
	}
	if len(vals) > capacity {
		vals = vals[len(vals)-capacity:]
	}
	r.Buf = append(make([]float64, 0, capacity), vals...)
	r.Head = 0
}

// interquartileMean returns the mean of the middle half of xs (robust to a
// quarter of outliers on either side), using scratch for sorting.
func interquartileMean(xs, scratch []float64) float64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	s := append(scratch[:0], xs...)
	sort.Float64s(s)
	lo, hi := n/4, n-n/4
	if hi <= lo {
		lo, hi = 0, n
	}
	sum := 0.0
	for _, v := range s[lo:hi] {
		sum += v
	}
	return sum / float64(hi-lo)
}

// median of xs, using scratch for sorting; 0 for none.
func median(xs, scratch []float64) float64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	s := append(scratch[:0], xs...)
	sort.Float64s(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
