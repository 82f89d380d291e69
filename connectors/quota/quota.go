// Package quota keeps a platform's announced request quota for a connector:
// the remaining requests and reset time its rate-limit headers report, and
// the pause a 429 imposes. Wait blocks a request until the quota allows it.
// It holds no platform knowledge: each connector parses its own headers.
package quota

import (
	"context"
	"sync"
	"time"
)

// Quota is one rate-limit window as the platform last announced it. The
// zero value allows every request. It is safe for concurrent use.
type Quota struct {
	// OnWait, if set, is called when a request must wait until t.
	OnWait func(until time.Time)

	mu        sync.Mutex
	remaining float64
	reset     time.Time
	known     bool
	blocked   time.Time // set by a 429
}

// Update records an announcement: remaining requests until reset.
func (q *Quota) Update(remaining float64, reset time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.remaining, q.reset, q.known = remaining, reset, true
}

// Block refuses requests until t (a 429 with its reset or Retry-After).
func (q *Quota) Block(until time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if until.After(q.blocked) {
		q.blocked = until
	}
}

// Until reports when the next request may be sent (zero: now).
func (q *Quota) Until(now time.Time) time.Time {
	q.mu.Lock()
	defer q.mu.Unlock()
	var t time.Time
	if q.known && q.remaining < 1 && now.Before(q.reset) {
		t = q.reset
	}
	if now.Before(q.blocked) && q.blocked.After(t) {
		t = q.blocked
	}
	return t
}

// Take waits until the quota allows a request, then counts it against the
// announced remaining (so concurrent callers do not all spend the last
// request). It returns ctx's error if ctx ends first.
func (q *Quota) Take(ctx context.Context) error {
	for {
		until := q.Until(time.Now())
		if until.IsZero() {
			q.mu.Lock()
			if q.known && q.remaining >= 1 {
				q.remaining--
			}
			q.mu.Unlock()
			return nil
		}
		if q.OnWait != nil {
			q.OnWait(until)
		}
		// A few ms past the announced instant, so a clock read a little
		// early on this side does not land just inside the spent window.
		t := time.NewTimer(time.Until(until) + 5*time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
