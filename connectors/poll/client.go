package poll

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/earshot-dev/earshot/connectors/quota"
)

// Client sends a connector's GETs: spaced by Pacer, held while a 429 is
// waited out (Quota), counted in the request metrics, size-limited.
type Client struct {
	HC       *http.Client
	Runner   *Runner
	Pacer    *Pacer
	Quota    *quota.Quota
	MaxBytes int64
	Header   http.Header // sent with every request (secrets are never logged)
	// Wait429 is how long a 429 asks to wait; nil (or 0) uses Retry-After,
	// else a minute.
	Wait429 func(h http.Header, body []byte) time.Duration
	// ErrorMessage extracts the platform's error message from a body.
	ErrorMessage func(body []byte) string
}

// NewClient returns a client with a pacer of gap and its own quota.
func NewClient(hc *http.Client, r *Runner, gap time.Duration, maxBytes int64) *Client {
	return &Client{HC: hc, Runner: r, Pacer: &Pacer{Gap: gap}, Quota: &quota.Quota{}, MaxBytes: maxBytes, Header: http.Header{}}
}

// Get sends GET base+path?q and returns the body of a 200, or the status
// of a 404 with a nil body and error; other statuses are *Error.
func (c *Client) Get(ctx context.Context, base, path string, q url.Values) ([]byte, int, error) {
	u := base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	for {
		if err := c.Pacer.Take(ctx); err != nil {
			return nil, 0, err
		}
		if err := c.Quota.Take(ctx); err != nil { // after the pacer: a 429 meanwhile holds this request
			return nil, 0, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, 0, err
		}
		for k, v := range c.Header {
			req.Header[k] = v
		}
		if req.Header.Get("Accept") == "" {
			req.Header.Set("Accept", "application/json")
		}
		if req.Header.Get("User-Agent") == "" {
			req.Header.Set("User-Agent", "earshot (+https://github.com/earshot-dev/earshot)")
		}
		m := c.Runner.Env.Metrics
		resp, err := c.HC.Do(req)
		if err != nil {
			m.Request("error")
			return nil, 0, fmt.Errorf("GET %s: %w", path, err)
		}
		body, rerr := ReadBody(resp, c.MaxBytes)
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			m.Request("rate_limited")
			now := c.Runner.Now()
			var wait time.Duration
			if c.Wait429 != nil {
				wait = c.Wait429(resp.Header, body)
			}
			if wait <= 0 {
				wait = RetryAfter(resp.Header, now, time.Minute)
			}
			c.Quota.Block(now.Add(wait))
			c.Runner.Log.Debug("429 Too Many Requests; waiting", "path", path, "wait", wait)
			continue
		case resp.StatusCode == http.StatusNotFound:
			m.Request("ok")
			return nil, resp.StatusCode, nil
		case resp.StatusCode != http.StatusOK:
			m.Request("error")
			msg := ""
			if c.ErrorMessage != nil {
				msg = c.ErrorMessage(body)
			}
			return nil, resp.StatusCode, StatusError("GET "+path, resp.StatusCode, msg)
		case rerr != nil:
			m.Request("error")
			return nil, resp.StatusCode, rerr
		}
		m.Request("ok")
		return body, resp.StatusCode, nil
	}
}
