package quota

import (
	"context"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		remaining float64
		reset     time.Time
		blocked   time.Time
		want      time.Time
	}{
		{"unknown window", -1, time.Time{}, time.Time{}, time.Time{}},
		{"requests left", 3, now.Add(time.Minute), time.Time{}, time.Time{}},
		{"spent until reset", 0, now.Add(time.Minute), time.Time{}, now.Add(time.Minute)},
		{"spent, reset passed", 0, now.Add(-time.Second), time.Time{}, time.Time{}},
		{"a fraction left is spent", 0.5, now.Add(time.Minute), time.Time{}, now.Add(time.Minute)},
		{"429 blocks", 10, now.Add(time.Minute), now.Add(30 * time.Second), now.Add(30 * time.Second)},
		{"the later of both", 0, now.Add(time.Minute), now.Add(2 * time.Minute), now.Add(2 * time.Minute)},
	}
	for _, tt := range tests {
		var q Quota
		if tt.remaining >= 0 {
			q.Update(tt.remaining, tt.reset)
		}
		if !tt.blocked.IsZero() {
			q.Block(tt.blocked)
		}
		if got := q.Until(now); !got.Equal(tt.want) {
			t.Errorf("%s: Until() = %v; want %v", tt.name, got, tt.want)
		}
	}
}

// Take spends the announced remaining requests, so concurrent callers do
// not all send the last one; then it waits for the reset.
func TestTakeSpendsAndWaits(t *testing.T) {
	var q Quota
	var waited []time.Time
	q.OnWait = func(until time.Time) { waited = append(waited, until) }
	reset := time.Now().Add(50 * time.Millisecond)
	q.Update(2, reset)
	ctx := context.Background()
	for range 2 {
		if err := q.Take(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(waited) != 0 {
		t.Fatalf("waited %v with requests left", waited)
	}
	if err := q.Take(ctx); err != nil {
		t.Fatal(err)
	}
	if len(waited) == 0 || !waited[0].Equal(reset) {
		t.Errorf("third Take waited for %v; want the reset %v", waited, reset)
	}
	if time.Now().Before(reset) {
		t.Errorf("third Take returned before the reset")
	}
	q.Block(time.Now().Add(time.Hour))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := q.Take(cctx); err != context.Canceled {
		t.Errorf("Take(cancelled) = %v; want context.Canceled", err)
	}
}
