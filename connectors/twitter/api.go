package twitter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// Sentinel errors, matched with errors.Is against an *APIError.
var (
	ErrUnauthorized = errors.New("unauthorized")   // 401: a wrong or revoked token
	ErrForbidden    = errors.New("forbidden")      // 403: e.g. client-not-enrolled, a plan without this endpoint
	ErrRateLimited  = errors.New("rate limited")   // 429
	ErrServer       = errors.New("x server error") // 5xx
)

// APIError is a non-2xx answer of the X API, with its problem details.
// It never holds credentials.
type APIError struct {
	Endpoint string
	Status   int
	Title    string
	Detail   string
	Type     string
	Reason   string // e.g. "client-not-enrolled"
	Message  string // first entry of "errors", if any
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "x api %s: %d", e.Endpoint, e.Status)
	if e.Title != "" {
		b.WriteString(" " + e.Title)
	}
	if e.Detail != "" && e.Detail != e.Title {
		b.WriteString(": " + e.Detail)
	}
	if e.Message != "" && e.Message != e.Detail {
		b.WriteString(": " + e.Message)
	}
	if e.Reason != "" {
		b.WriteString(" (reason: " + e.Reason + ")")
	}
	return b.String()
}

// Is matches the sentinel errors by status.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrServer:
		return e.Status >= 500
	}
	return false
}

// errType is a bounded metric label for an error.
func errType(err error) string {
	var ae *APIError
	switch {
	case errors.Is(err, ErrUnauthorized), errors.Is(err, ErrForbidden):
		return "auth"
	case errors.Is(err, ErrRateLimited):
		return "rate_limited"
	case errors.As(err, &ae) && ae.Status >= 500:
		return "http_5xx"
	case errors.As(err, &ae):
		return "http_4xx"
	case errors.Is(err, pipeline.ErrStreamFull):
		return "stream_full"
	default:
		return "network"
	}
}

// parseAPIError reads a non-2xx response body (a v2 problem, or v1.1's
// {"errors":[{"code","message"}]}) into an APIError.
func parseAPIError(endpoint string, resp *http.Response) *APIError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &APIError{Endpoint: endpoint, Status: resp.StatusCode}
	var p struct {
		v2Problem
		Errors []v2Problem `json:"errors"`
	}
	if json.Unmarshal(body, &p) == nil {
		e.Title, e.Detail, e.Type, e.Reason = p.Title, p.Detail, p.Type, p.Reason
		if len(p.Errors) > 0 {
			e.Message = p.Errors[0].Message
			if e.Message == "" {
				e.Message = p.Errors[0].Detail
			}
		}
	}
	if e.Title == "" {
		e.Title = http.StatusText(resp.StatusCode)
	}
	return e
}

// apiClient speaks the X API v2 over net/http with a bearer token, waiting
// on the limiter before every request.
type apiClient struct {
	base   *url.URL
	hc     *http.Client
	bearer pipeline.Secret
	lim    *limiter
	cm     *pipeline.ConnectorMetrics
}

// do sends a request and returns a 2xx response with its body open, or an
// error (an *APIError for other statuses, whose body is consumed).
func (c *apiClient) do(ctx context.Context, method, endpoint string, q url.Values, body any) (*http.Response, error) {
	if err := c.lim.wait(ctx, endpoint); err != nil {
		return nil, err
	}
	u := c.base.JoinPath(endpoint)
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("x api %s: encode request: %w", endpoint, err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("x api %s: %w", endpoint, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.bearer.Reveal())
	req.Header.Set("User-Agent", "earshot")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.cm.Request("error")
		return nil, fmt.Errorf("x api %s: %w", endpoint, err)
	}
	c.lim.observe(endpoint, resp)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		c.cm.Request("ok")
		return resp, nil
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests {
		c.cm.Request("rate_limited")
	} else {
		c.cm.Request("error")
	}
	return nil, parseAPIError(endpoint, resp)
}

// getJSON GETs endpoint and decodes the body into out. A 429 is waited out
// (the limiter holds the next attempt until the reported reset) and retried.
func (c *apiClient) getJSON(ctx context.Context, endpoint string, q url.Values, out any) error {
	return c.jsonCall(ctx, http.MethodGet, endpoint, q, nil, out)
}

func (c *apiClient) jsonCall(ctx context.Context, method, endpoint string, q url.Values, body, out any) error {
	for {
		if err := c.lim.ready(ctx, endpoint); err != nil { // a reset may be minutes away: not within the request timeout
			return err
		}
		err := c.jsonOnce(ctx, method, endpoint, q, body, out)
		if errors.Is(err, ErrRateLimited) {
			continue // the limiter waits for the reset
		}
		return err
	}
}

// requestTimeout bounds one non-stream request, body included.
const requestTimeout = time.Minute

func (c *apiClient) jsonOnce(ctx context.Context, method, endpoint string, q url.Values, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := c.do(ctx, method, endpoint, q, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
		return fmt.Errorf("x api %s: decode response: %w", endpoint, err)
	}
	return nil
}
