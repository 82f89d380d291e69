package trend

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestSeriesBucketsWithZeros(t *testing.T) {
	s, err := NewSeries(time.Minute, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	for _, m := range []struct {
		off time.Duration
		neg bool
	}{{5 * time.Second, false}, {50 * time.Second, true}, {3*time.Minute + time.Second, false}} {
		if err := s.Add(base.Add(m.off), m.neg); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Advance(base.Add(80 * time.Second)); len(got) != 0 {
		t.Errorf("Advance within grace = %v; want nothing closed", got)
	}
	// A slightly late mention still counts: its bucket is open.
	if err := s.Add(base.Add(59*time.Second), false); err != nil {
		t.Fatalf("Add late within grace: %v", err)
	}
	got := s.Advance(base.Add(4*time.Minute + 30*time.Second))
	want := []Bucket{
		{Start: base, Count: 3, Negative: 1},
		{Start: base.Add(time.Minute)},
		{Start: base.Add(2 * time.Minute)},
		{Start: base.Add(3 * time.Minute), Count: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Advance = %+v; want %+v", got, want)
	}
	if err := s.Add(base.Add(2*time.Minute), false); !errors.Is(err, ErrLate) {
		t.Errorf("Add to a closed bucket = %v; want ErrLate", err)
	}
	if err := s.Add(base.Add(1000*24*time.Hour), false); !errors.Is(err, ErrFuture) {
		t.Errorf("Add far in the future = %v; want ErrFuture", err)
	}
	// Silence still yields (empty) buckets.
	if got := s.Advance(base.Add(10*time.Minute + 30*time.Second)); len(got) != 6 {
		t.Errorf("Advance over silence = %d buckets; want 6", len(got))
	}
}

func TestSeriesAligned(t *testing.T) {
	s, err := NewSeries(5*time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 1, 10, 7, 13, 0, time.FixedZone("X", 3600))
	if err := s.Add(at, false); err != nil {
		t.Fatal(err)
	}
	got := s.Advance(at.Add(5 * time.Minute))
	if len(got) != 1 || !got[0].Start.Equal(time.Date(2025, 1, 1, 9, 5, 0, 0, time.UTC)) {
		t.Errorf("Advance = %+v; want one bucket at 09:05 UTC", got)
	}
}

func TestBucketize(t *testing.T) {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	got, err := Bucketize([]time.Time{base.Add(11 * time.Minute), base.Add(time.Minute), base.Add(2 * time.Minute)}, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := []Bucket{{Start: base, Count: 2}, {Start: base.Add(5 * time.Minute)}, {Start: base.Add(10 * time.Minute), Count: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Bucketize = %+v; want %+v", got, want)
	}
	if _, err := NewSeries(0, 0); !errors.Is(err, ErrConfig) {
		t.Errorf("NewSeries(0) = %v; want ErrConfig", err)
	}
}
