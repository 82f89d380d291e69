// Package poll is what earshot's polling connectors (hackernews,
// stackexchange, appstore, …) share: the run loop with backoff and counted
// warnings, publishing until JetStream acknowledges, JSON cursors in the
// cursor store, HTTP error classification, and the set of recently
// published items that are re-checked for edits and deletions.
//
// It holds no platform knowledge: each connector builds its requests and
// decodes its own payloads.
package poll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// Runner is the state one connector Run shares between its loops.
type Runner struct {
	Env *pipeline.SourceEnv
	Log *slog.Logger
	// ErrBackoff is used after a failed poll, PublishBackoff while JetStream
	// does not acknowledge.
	ErrBackoff     pipeline.Backoff
	PublishBackoff pipeline.Backoff
	Now            func() time.Time
}

// Knobs are the time scales a connector's Source holds (tests turn them
// down).
type Knobs struct {
	ErrBackoff     pipeline.Backoff
	PublishBackoff pipeline.Backoff
	Now            func() time.Time
}

// DefaultKnobs are the production time scales.
func DefaultKnobs() Knobs {
	return Knobs{
		ErrBackoff:     pipeline.Backoff{Min: 5 * time.Second, Max: 10 * time.Minute},
		PublishBackoff: pipeline.Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second},
		Now:            time.Now,
	}
}

// FastKnobs are time scales for tests against local fakes.
func FastKnobs() Knobs {
	return Knobs{
		ErrBackoff:     pipeline.Backoff{Min: 100 * time.Millisecond, Max: time.Second},
		PublishBackoff: pipeline.Backoff{Min: 20 * time.Millisecond, Max: 100 * time.Millisecond},
		Now:            time.Now,
	}
}

// NewRunner checks env and returns a runner logging as component.
func NewRunner(env *pipeline.SourceEnv, k Knobs, component, platform string) (*Runner, error) {
	if env == nil || env.Publisher == nil || env.Cursors == nil || env.Metrics == nil {
		return nil, fmt.Errorf("%s: run: environment needs a publisher, a cursor store and metrics", component)
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if k.Now == nil {
		k.Now = time.Now
	}
	return &Runner{Env: env, ErrBackoff: k.ErrBackoff, PublishBackoff: k.PublishBackoff, Now: k.Now,
		Log: log.With("component", component, "platform", platform, "connector", env.Name)}, nil
}

// Warn logs a warning and counts it in earshot_connector_errors_total{type}.
func (r *Runner) Warn(typ, msg string, args ...any) {
	r.Env.Metrics.Error(typ)
	r.Log.Warn(msg, append(args, "type", typ)...)
}

// Every runs f every interval until ctx ends, backing off after failures
// (counted by their Error type, "network" for others). f may return a
// Wait to set the next delay itself (a quota spent for the day).
func (r *Runner) Every(ctx context.Context, interval time.Duration, what string, f func(context.Context) error) {
	bo := r.ErrBackoff
	for ctx.Err() == nil {
		wait := interval
		if err := f(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			var w *Wait
			var he *Error
			switch {
			case errors.As(err, &w):
				wait = time.Until(w.Until)
				r.Log.Info(what+": waiting", "reason", w.Reason, "until", w.Until.UTC())
			case errors.As(err, &he) && he.Type == "auth":
				wait = bo.Next()
				r.Env.Metrics.Error(he.Type)
				r.Log.Error(what+": the platform refused the credentials; check them", "error", err, "retry_in", wait)
			default:
				wait = bo.Next()
				typ := "network"
				if he != nil {
					typ = he.Type
				}
				r.Warn(typ, what+" failed", "error", err, "retry_in", wait)
			}
		} else {
			bo.Reset()
		}
		Sleep(ctx, wait)
	}
}

// Wait is returned by a poll that must not run again before Until (a
// daily quota spent); it is not an error to count.
type Wait struct {
	Until  time.Time
	Reason string
}

func (w *Wait) Error() string {
	return fmt.Sprintf("wait until %s: %s", w.Until.UTC().Format(time.RFC3339), w.Reason)
}

// Sleep waits d or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Publish publishes ms, retrying with backoff until JetStream acknowledged
// them; it fails only when ctx ends.
func (r *Runner) Publish(ctx context.Context, ms []*pipeline.Mention) error {
	return pipeline.PublishUntilAcked(ctx, r.Env.Publisher, ms, r.PublishBackoff, func(err error, wait time.Duration) {
		r.Warn("publish", "publishing mentions failed; retrying", "mentions", len(ms), "error", err, "retry_in", wait)
	})
}

// LoadJSON reads the cursor key into v. It reports false, leaving v alone,
// when there is none or it is unreadable (warned).
func (r *Runner) LoadJSON(ctx context.Context, key string, v any) bool {
	raw, err := r.Env.Cursors.Get(ctx, key)
	switch {
	case errors.Is(err, pipeline.ErrNoCursor):
		return false
	case err != nil:
		r.Warn("cursor", "reading a cursor failed; starting without it", "key", key, "error", err)
		return false
	}
	if err := json.Unmarshal(raw, v); err != nil {
		r.Warn("cursor", "ignoring an unreadable cursor", "key", key, "error", err)
		return false
	}
	return true
}

// SaveJSON writes v as the cursor key.
func (r *Runner) SaveJSON(ctx context.Context, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode cursor %s: %w", key, err)
	}
	if err := r.Env.Cursors.Put(ctx, key, raw); err != nil {
		return fmt.Errorf("save cursor %s: %w", key, err)
	}
	return nil
}

// Error is a request the platform answered with an error status, or an
// answer that could not be used.
type Error struct {
	Type   string // metric error type: auth, http_4xx, http_5xx, malformed, oversized, quota
	Status int
	Msg    string
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return e.Msg
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Msg)
}

// StatusError classifies an error status: 401/403 auth, 5xx http_5xx, other
// http_4xx.
func StatusError(what string, status int, msg string) *Error {
	if msg == "" {
		msg = http.StatusText(status)
	}
	typ := "http_4xx"
	switch {
	case status >= 500:
		typ = "http_5xx"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		typ = "auth"
	}
	return &Error{Type: typ, Status: status, Msg: what + ": " + msg}
}

// Malformed is an answer that could not be decoded.
func Malformed(what string, err error) *Error {
	return &Error{Type: "malformed", Msg: fmt.Sprintf("%s: %v", what, err)}
}

// ReadBody reads and closes resp.Body, failing beyond max bytes.
func ReadBody(resp *http.Response, max int64) ([]byte, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if int64(len(body)) > max {
		return nil, &Error{Type: "oversized", Msg: fmt.Sprintf("response larger than %d bytes", max)}
	}
	return body, nil
}

// RetryAfter is the Retry-After header (seconds or an HTTP date), else def.
func RetryAfter(h http.Header, now time.Time, def time.Duration) time.Duration {
	v := h.Get("Retry-After")
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now))
	}
	return def
}

// NewHTTPClient is the client connectors use: timeouts on headers and the
// whole exchange.
func NewHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: t, Timeout: time.Minute}
}

// Pacer spaces requests at least Gap apart (a platform's documented
// per-hour limit spread over the hour). The zero value does not wait.
type Pacer struct {
	Gap  time.Duration
	mu   sync.Mutex
	next time.Time
}

// Take waits for the next request slot.
func (p *Pacer) Take(ctx context.Context) error {
	p.mu.Lock()
	now := time.Now()
	at := p.next
	if at.Before(now) {
		at = now
	}
	p.next = at.Add(p.Gap)
	p.mu.Unlock()
	if d := time.Until(at); d > 0 {
		Sleep(ctx, d)
	}
	return ctx.Err()
}
