package trend

import (
	"errors"
	"fmt"
	"time"
)

// Bucket is one closed bucket of a Series: mentions whose time falls in
// [Start, Start+resolution).
type Bucket struct {
	Start    time.Time `json:"start"`
	Count    float64   `json:"count"`
	Negative float64   `json:"negative"`
}

// Series errors.
var (
	ErrLate   = errors.New("mention for a bucket already closed")
	ErrFuture = errors.New("mention too far ahead of the open buckets")
)

// maxOpenBuckets bounds how far ahead of the oldest open bucket a Series
// accepts mentions (a clock gone wrong must not allocate without bound).
const maxOpenBuckets = 1 << 16

// Series turns a stream of mention times into consecutive fixed-width
// buckets, empty ones included, aligned to multiples of the resolution
// since the Unix epoch (so 1m and 5m buckets start on the minute, in UTC).
// A bucket closes Grace after its end, so slightly late mentions still
// count; a mention for a closed bucket is refused with ErrLate, for the
// caller to count. It is not safe for concurrent use.
type Series struct {
	res, grace time.Duration
	first      time.Time // start of the oldest open bucket; zero before any input
	open       []Bucket  // open buckets from first on
}

// NewSeries returns a Series of the given resolution and grace period.
func NewSeries(resolution, grace time.Duration) (*Series, error) {
	if resolution <= 0 {
		return nil, fmt.Errorf("series resolution %s must be positive: %w", resolution, ErrConfig)
	}
	if grace < 0 {
		return nil, fmt.Errorf("series grace %s must not be negative: %w", grace, ErrConfig)
	}
	return &Series{res: resolution, grace: grace}, nil
}

// Resolution returns the bucket width.
func (s *Series) Resolution() time.Duration { return s.res }

func (s *Series) floor(t time.Time) time.Time {
	ns := t.UnixNano()
	r := int64(s.res)
	q := ns / r
	if ns%r < 0 {
		q--
	}
	return time.Unix(0, q*r).UTC()
}

// Add counts one mention at t, negative or not.
func (s *Series) Add(t time.Time, negative bool) error {
	neg := 0.0
	if negative {
		neg = 1
	}
	return s.AddN(t, 1, neg)
}

// AddN counts count mentions at t, negative of them negative.
func (s *Series) AddN(t time.Time, count, negative float64) error {
	if count < 0 || negative < 0 || negative > count {
		return fmt.Errorf("add %v mentions (%v negative) at %s: %w", count, negative, t.Format(time.RFC3339), ErrBadValue)
	}
	start := s.floor(t)
	if s.first.IsZero() {
		s.first = start
	}
	if start.Before(s.first) {
		return fmt.Errorf("mention at %s, oldest open bucket starts %s: %w", t.Format(time.RFC3339), s.first.Format(time.RFC3339), ErrLate)
	}
	i := int(start.Sub(s.first) / s.res)
	if i >= maxOpenBuckets {
		return fmt.Errorf("mention at %s is %d buckets after %s: %w", t.Format(time.RFC3339), i, s.first.Format(time.RFC3339), ErrFuture)
	}
	s.grow(i + 1)
	s.open[i].Count += count
	s.open[i].Negative += negative
	return nil
}

func (s *Series) grow(n int) {
	for len(s.open) < n {
		s.open = append(s.open, Bucket{Start: s.first.Add(time.Duration(len(s.open)) * s.res)})
	}
}

// Advance closes every bucket that ended at least Grace before now and
// returns them in order, empty buckets included. Before any mention it
// starts the series at the bucket now-Grace falls in.
func (s *Series) Advance(now time.Time) []Bucket {
	cut := now.Add(-s.grace)
	if s.first.IsZero() {
		s.first = s.floor(cut)
		return nil
	}
	// Buckets whose end <= cut close.
	n := int(s.floor(cut).Sub(s.first) / s.res)
	if n <= 0 {
		return nil
	}
	s.grow(n)
	out := make([]Bucket, n)
	copy(out, s.open[:n])
	s.drop(n)
	return out
}

// drop removes the n oldest open buckets (materialised or not).
func (s *Series) drop(n int) {
	if n >= len(s.open) {
		s.open = s.open[:0]
	} else {
		s.open = append(s.open[:0], s.open[n:]...)
	}
	s.first = s.first.Add(time.Duration(n) * s.res)
}

// Bucketize counts times into consecutive buckets of width resolution from
// the first time's bucket to the last's, empty buckets included. The times
// need not be sorted.
func Bucketize(times []time.Time, resolution time.Duration) ([]Bucket, error) {
	if len(times) == 0 {
		return nil, nil
	}
	s, err := NewSeries(resolution, 0)
	if err != nil {
		return nil, err
	}
	lo, hi := times[0], times[0]
	for _, t := range times[1:] {
		if t.Before(lo) {
			lo = t
		}
		if t.After(hi) {
			hi = t
		}
	}
	s.first = s.floor(lo)
	for _, t := range times {
		if err := s.Add(t, false); err != nil {
			return nil, err
		}
	}
	return s.Advance(s.floor(hi).Add(resolution)), nil
}
