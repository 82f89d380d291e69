package twitter

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Rate-limit response headers, as X documents them.
const (
	hdrLimit     = "x-rate-limit-limit"
	hdrRemaining = "x-rate-limit-remaining"
	hdrReset     = "x-rate-limit-reset" // epoch seconds
)

// limiter keeps X's per-endpoint rate-limit windows as the response headers
// report them, and makes callers wait for the reset when a window is spent,
// so no request goes out that the headers said would be refused.
type limiter struct {
	mu      sync.Mutex
	windows map[string]*window
	now     func() time.Time
	// rateBackoff is the wait after a 429 that names no reset time:
	// 1 minute, doubling (X's documented policy), capped at 15 minutes.
	rateBackoff backoff
	// onRemaining is called with each reported remaining count.
	onRemaining func(float64)
	// onWait is called before a wait for a reset (for a debug log).
	onWait func(endpoint string, until time.Time)
	// onSpent is called, without the lock, when a window is spent, with
	// every spent window, so they can be persisted across restarts.
	onSpent func(spent map[string]time.Time)
}

type window struct {
	known     bool
	remaining int
	reset     time.Time
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{
		windows:     map[string]*window{},
		now:         now,
		rateBackoff: backoff{base: time.Minute, max: 15 * time.Minute, factor: 2},
	}
}

// wait blocks until a request to endpoint is allowed and reserves it.
func (l *limiter) wait(ctx context.Context, endpoint string) error {
	return l.await(ctx, endpoint, true)
}

// ready blocks until a request to endpoint is allowed, without reserving
// it: callers wait out a long reset before starting a request's timeout.
func (l *limiter) ready(ctx context.Context, endpoint string) error {
	return l.await(ctx, endpoint, false)
}

func (l *limiter) await(ctx context.Context, endpoint string, reserve bool) error {
	for {
		l.mu.Lock()
		w := l.win(endpoint)
		now := l.now()
		if !w.known || w.remaining > 0 || !now.Before(w.reset) {
			if w.known && !now.Before(w.reset) {
				w.known = false // a new window starts; the next response tells its size
			}
			if w.known && reserve {
				w.remaining-- // reserve, so concurrent callers cannot overrun the window
			}
			l.mu.Unlock()
			return nil
		}
		until := w.reset
		l.mu.Unlock()
		if l.onWait != nil {
			l.onWait(endpoint, until)
		}
		if err := sleepCtx(ctx, until.Sub(now)); err != nil {
			return err
		}
	}
}

func (l *limiter) win(endpoint string) *window {
	w := l.windows[endpoint]
	if w == nil {
		w = &window{}
		l.windows[endpoint] = w
	}
	return w
}

// observe records the rate-limit headers of a response. On a 429 the window
// is spent until the reported reset, or for the rate backoff if the response
// names none (or one already past).
func (l *limiter) observe(endpoint string, resp *http.Response) {
	if l.observeLocked(endpoint, resp) && l.onSpent != nil {
		l.onSpent(l.spent())
	}
}

// spent returns the windows that are spent now, by endpoint.
func (l *limiter) spent() map[string]time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]time.Time{}
	now := l.now()
	for ep, w := range l.windows {
		if w.known && w.remaining <= 0 && now.Before(w.reset) {
			out[ep] = w.reset
		}
	}
	return out
}

// restore marks windows spent until their reset (from a previous run).
func (l *limiter) restore(spent map[string]time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for ep, reset := range spent {
		if now.Before(reset) {
			w := l.win(ep)
			w.known, w.remaining, w.reset = true, 0, reset
		}
	}
}

// observeLocked records the headers and reports whether the window is now spent.
func (l *limiter) observeLocked(endpoint string, resp *http.Response) bool {
	rem, remErr := strconv.Atoi(resp.Header.Get(hdrRemaining))
	resetSec, resetErr := strconv.ParseInt(resp.Header.Get(hdrReset), 10, 64)
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.win(endpoint)
	now := l.now()
	if resp.StatusCode == http.StatusTooManyRequests {
		w.known, w.remaining = true, 0
		if resetErr == nil && time.Unix(resetSec, 0).After(now) {
			w.reset = time.Unix(resetSec, 0)
		} else {
			w.reset = now.Add(l.rateBackoff.next())
		}
		if l.onRemaining != nil {
			l.onRemaining(0)
		}
		return true
	}
	if resp.StatusCode < 300 {
		l.rateBackoff.reset()
	}
	if remErr != nil || resetErr != nil {
		return false
	}
	w.known, w.remaining, w.reset = true, rem, time.Unix(resetSec, 0)
	if l.onRemaining != nil {
		l.onRemaining(float64(rem))
	}
	return rem <= 0 && now.Before(w.reset)
}

// backoff is a reconnect delay policy: linear when factor is 0 (base added
// per attempt), exponential otherwise; capped at max.
type backoff struct {
	base, max time.Duration
	factor    float64
	cur       time.Duration
}

func (b *backoff) next() time.Duration {
	switch {
	case b.cur == 0:
		b.cur = b.base
	case b.factor == 0:
		b.cur += b.base
	default:
		b.cur = time.Duration(float64(b.cur) * b.factor)
	}
	if b.cur > b.max {
		b.cur = b.max
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }

// backoffs are X's documented reconnect policies for streams:
// network errors back off linearly by 250 ms up to 16 s; HTTP errors
// exponentially from 5 s up to 320 s. (429s are the limiter's.)
type backoffs struct {
	network, http backoff
}

func defaultBackoffs() backoffs {
	return backoffs{
		network: backoff{base: 250 * time.Millisecond, max: 16 * time.Second},
		http:    backoff{base: 5 * time.Second, max: 320 * time.Second, factor: 2},
	}
}

// sleepCtx sleeps for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
