package connectortest

import (
	"fmt"
	"sync"
	"time"
)

// Window is a fake's rate-limit window for one endpoint or client: it
// admits Limit requests per Period, says what it announces, and records
// every request that arrived while the last announcement said the window
// was spent (a violation). Fakes turn what Take returns into the
// platform's own headers.
type Window struct {
	mu         sync.Mutex
	limit      int
	period     time.Duration
	remaining  int
	reset      time.Time
	refuseNext int
	throttled  int
	violations []string
}

// NewWindow returns a window of limit requests per period.
func NewWindow(limit int, period time.Duration) *Window {
	return &Window{limit: limit, period: period}
}

// Set changes the window, starting a new one at the next request.
func (w *Window) Set(limit int, period time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.limit, w.period, w.reset = limit, period, time.Time{}
}

// RefuseNext makes the next n requests answer 429 with the window
// announced as spent for a second.
func (w *Window) RefuseNext(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.refuseNext += n
}

// Grant is what the window says about one request.
type Grant struct {
	OK        bool // false: answer 429
	Limit     int
	Used      int
	Remaining int
	Reset     time.Time // when the window resets, as announced
}

// Take admits or refuses one request arriving at at, described by what
// (for violation messages).
func (w *Window) Take(what string, at time.Time) Grant {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.reset.IsZero() && w.remaining == 0 && at.Before(w.reset) {
		w.violations = append(w.violations, fmt.Sprintf("%s at %s, window announced spent until %s",
			what, at.Format("15:04:05.000"), w.reset.Format("15:04:05.000")))
	}
	if w.reset.IsZero() || !at.Before(w.reset) {
		w.remaining = w.limit
		w.reset = at.Add(w.period).Truncate(time.Millisecond)
	}
	ok := true
	switch {
	case w.refuseNext > 0:
		w.refuseNext--
		w.remaining = 0
		w.reset = at.Add(time.Second).Truncate(time.Millisecond)
		ok = false
	case w.remaining == 0:
		ok = false
	default:
		w.remaining--
	}
	if !ok {
		w.throttled++
	}
	return Grant{OK: ok, Limit: w.limit, Used: w.limit - w.remaining, Remaining: w.remaining, Reset: w.reset}
}

// Throttled reports how many requests were refused.
func (w *Window) Throttled() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.throttled
}

// Violations lists the requests that arrived while the window was
// announced as spent.
func (w *Window) Violations() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.violations...)
}

// Outage is a fake's scripted transport failure window.
type Outage struct {
	mu       sync.Mutex
	until    time.Time
	requests int
}

// Start breaks the transport for d from now.
func (o *Outage) Start(d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.until = time.Now().Add(d)
}

// Down reports whether a request arriving now falls in the outage, and
// counts it if so.
func (o *Outage) Down() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if time.Now().Before(o.until) {
		o.requests++
		return true
	}
	return false
}

// Until is when the outage ends (zero if none was started).
func (o *Outage) Until() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.until
}

// Requests reports how many requests arrived during outages.
func (o *Outage) Requests() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requests
}
