// Package reddit is earshot's Reddit connector, `type: reddit`.
//
// It reads Reddit's OAuth API with an application-only token (client
// credentials): the new posts and new comments of configured subreddits,
// and Reddit search (sort=new) for every topic's query. Each listing keeps
// the newest fullname it published as its cursor in the cursor store, written
// after JetStream acknowledged the mentions. Published items are re-checked
// through /api/info for a while: an edit is re-published as a new version of
// the mention, a deletion or removal as a tombstone.
//
// Every request honours X-Ratelimit-Remaining / -Reset and 429.
package reddit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/earshot-dev/earshot/connectors/quota"
	"github.com/earshot-dev/earshot/pipeline"
)

func init() {
	pipeline.RegisterConnector("reddit", New)
}

// Platform is the platform name on every mention.
const Platform = "reddit"

// Source is a configured reddit connector.
type Source struct {
	cfg *settings
	hc  *http.Client

	// Knobs tests turn down.
	errBackoff     pipeline.Backoff // after a failed poll
	publishBackoff pipeline.Backoff // while JetStream does not acknowledge
	now            func() time.Time
}

var _ pipeline.Source = (*Source)(nil)

func newSource(cfg *settings) *Source {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 30 * time.Second
	return &Source{
		cfg:            cfg,
		hc:             &http.Client{Transport: t, Timeout: time.Minute},
		errBackoff:     pipeline.Backoff{Min: 5 * time.Second, Max: 10 * time.Minute},
		publishBackoff: pipeline.Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second},
		now:            time.Now,
	}
}

// run is the state of one Run call.
type run struct {
	src   *Source
	cfg   *settings
	env   *pipeline.SourceEnv
	log   *slog.Logger
	quota *quota.Quota

	tokMu    sync.Mutex
	token    string
	tokenExp time.Time

	recent *recentSet
}

// Run reads Reddit until ctx is done. Errors while reading are logged,
// counted and retried with backoff; it returns nil on a clean stop.
func (s *Source) Run(ctx context.Context, env *pipeline.SourceEnv) error {
	if env == nil || env.Publisher == nil || env.Cursors == nil || env.Metrics == nil {
		return errors.New("reddit: run: environment needs a publisher, a cursor store and metrics")
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	defer s.hc.CloseIdleConnections()
	r := &run{src: s, cfg: s.cfg, env: env, quota: &quota.Quota{},
		log: log.With("component", "reddit", "platform", Platform, "connector", env.Name)}
	r.quota.OnWait = func(until time.Time) {
		r.log.Debug("waiting for the rate-limit window to reset", "reset", until.UTC())
	}
	r.recent = loadRecent(ctx, env.Cursors, r.warn)
	g, gctx := errgroup.WithContext(ctx)
	for _, l := range s.cfg.listings {
		g.Go(func() error { r.pollLoop(gctx, l); return nil })
	}
	if s.cfg.refresh > 0 {
		g.Go(func() error { r.refreshLoop(gctx); return nil })
	}
	return g.Wait()
}

// warn logs a warning and counts it, as every warning is.
func (r *run) warn(typ, msg string, args ...any) {
	r.env.Metrics.Error(typ)
	r.log.Warn(msg, append(args, "type", typ)...)
}

// every runs f every interval until ctx ends, backing off after failures.
func (r *run) every(ctx context.Context, interval time.Duration, what string, f func(context.Context) error) {
	bo := r.src.errBackoff
	for ctx.Err() == nil {
		wait := interval
		if err := f(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			wait = bo.Next()
			var he *httpError
			typ := "network"
			if errors.As(err, &he) {
				typ = he.typ
			}
			if typ == "auth" {
				r.env.Metrics.Error(typ)
				r.log.Error(what+": Reddit refused the credentials; check client_id and client_secret", "error", err, "retry_in", wait)
			} else {
				r.warn(typ, what+" failed", "error", err, "retry_in", wait)
			}
		} else {
			bo.Reset()
		}
		sleep(ctx, wait)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// cursor is a listing's position: the newest item it published.
type cursor struct {
	Newest  string  `json:"newest"`  // fullname
	Created float64 `json:"created"` // its created_utc
}

func (r *run) pollLoop(ctx context.Context, l listing) {
	var cur cursor
	raw, err := r.env.Cursors.Get(ctx, "listing:"+l.Key)
	switch {
	case err == nil:
		if err := json.Unmarshal(raw, &cur); err != nil {
			r.warn("cursor", "ignoring an unreadable cursor; reading the newest page again", "listing", l.Key, "error", err)
			cur = cursor{}
		}
	case !errors.Is(err, pipeline.ErrNoCursor):
		r.warn("cursor", "reading the cursor failed; reading the newest page", "listing", l.Key, "error", err)
	}
	r.every(ctx, r.cfg.Interval, "poll "+l.Path, func(ctx context.Context) error { return r.poll(ctx, l, &cur) })
}

// poll reads a listing from the newest item back to the cursor (at most
// max_pages pages; one page on the first start), publishes what is new,
// oldest first, and then advances the cursor.
func (r *run) poll(ctx context.Context, l listing, cur *cursor) error {
	var (
		fresh  []thing
		newest *thing
		after  string
	)
	for page := 0; page < r.cfg.MaxPages; page++ {
		q := url.Values{}
		for k, v := range l.Query {
			q[k] = v
		}
		q.Set("limit", strconv.Itoa(pageLimit))
		q.Set("raw_json", "1")
		if after != "" {
			q.Set("after", after)
		}
		lst, err := r.get(ctx, l.Path, q)
		if err != nil {
			return err
		}
		reached := false
		for i := range lst.things {
			th := &lst.things[i]
			if newest == nil {
				newest = th
			}
			if cur.Newest != "" && (th.Data.Name == cur.Newest || th.Data.CreatedUTC < cur.Created) {
				reached = true
				break
			}
			fresh = append(fresh, *th)
		}
		if reached || cur.Newest == "" || lst.after == "" {
			break
		}
		if page == r.cfg.MaxPages-1 {
			r.warn("gap", "more new items than max_pages reach; the oldest of them are not read", "listing", l.Key, "pages", r.cfg.MaxPages)
		}
		after = lst.after
	}
	if newest == nil || newest.Data.Name == cur.Newest {
		return nil
	}
	ms := make([]*pipeline.Mention, 0, len(fresh))
	seen := make([]recentItem, 0, len(fresh))
	for i := len(fresh) - 1; i >= 0; i-- { // oldest first
		th := &fresh[i]
		if th.oversized {
			continue
		}
		if th.removed() {
			r.env.Metrics.Skipped("removed", 1)
			continue
		}
		ms = append(ms, r.mention(th, l.Rule))
		seen = append(seen, recentItem{Name: th.Data.Name, Created: int64(th.Data.CreatedUTC), Edited: th.editedUnix(), Rule: l.Rule})
	}
	if err := r.publish(ctx, ms); err != nil {
		return nil // ctx ended: nothing to report
	}
	next := cursor{Newest: newest.Data.Name, Created: newest.Data.CreatedUTC}
	raw, _ := json.Marshal(next)
	if err := r.env.Cursors.Put(ctx, "listing:"+l.Key, raw); err != nil {
		return fmt.Errorf("save cursor of %s: %w", l.Key, err)
	}
	*cur = next
	if r.cfg.refresh > 0 && len(seen) > 0 {
		r.recent.add(seen, r.src.now().Add(-r.cfg.refresh), r.cfg.RefreshMax)
		r.recent.save(ctx, r.env.Cursors, r.warn)
	}
	return nil
}

// publish publishes ms, retrying with backoff until JetStream acknowledged
// them; it fails only when ctx ends.
func (r *run) publish(ctx context.Context, ms []*pipeline.Mention) error {
	return pipeline.PublishUntilAcked(ctx, r.env.Publisher, ms, r.src.publishBackoff, func(err error, wait time.Duration) {
		r.warn("publish", "publishing mentions failed; retrying", "mentions", len(ms), "error", err, "retry_in", wait)
	})
}

// refreshLoop re-checks recently published items for edits and deletions.
func (r *run) refreshLoop(ctx context.Context) {
	r.every(ctx, r.cfg.RefreshInterval, "re-check recent items", r.refresh)
}

func (r *run) refresh(ctx context.Context) error {
	items := r.recent.snapshot(r.src.now().Add(-r.cfg.refresh), r.cfg.RefreshMax)
	for start := 0; start < len(items); start += pageLimit {
		chunk := items[start:min(start+pageLimit, len(items))]
		byName := make(map[string]recentItem, len(chunk))
		names := make([]string, len(chunk))
		for i, it := range chunk {
			names[i] = it.Name
			byName[it.Name] = it
		}
		lst, err := r.get(ctx, "/api/info", url.Values{"id": {strings.Join(names, ",")}, "raw_json": {"1"}})
		if err != nil {
			return err
		}
		var (
			ms      []*pipeline.Mention
			gone    []string
			updated []recentItem
		)
		for i := range lst.things {
			th := &lst.things[i]
			it, ok := byName[th.Data.Name]
			if !ok || th.oversized {
				continue
			}
			switch {
			case th.removed():
				ms = append(ms, pipeline.Tombstone(Platform, mentionID(th.Data.Name), source(th),
					time.Unix(it.Created, 0), r.src.now()))
				gone = append(gone, it.Name)
			case th.editedUnix() > it.Edited:
				ms = append(ms, r.mention(th, it.Rule))
				it.Edited = th.editedUnix()
				updated = append(updated, it)
			}
		}
		if len(ms) == 0 {
			continue
		}
		if err := r.publish(ctx, ms); err != nil {
			return nil
		}
		r.recent.apply(gone, updated)
		r.recent.save(ctx, r.env.Cursors, r.warn)
	}
	return nil
}

// httpError is a request Reddit answered with an error status, or an
// answer that could not be used.
type httpError struct {
	typ    string // metric error type: auth, http_4xx, http_5xx, malformed, oversized
	status int
	msg    string
}

func (e *httpError) Error() string {
	if e.status == 0 {
		return e.msg
	}
	return fmt.Sprintf("HTTP %d: %s", e.status, e.msg)
}

// get sends an authorised GET to base_url+path and decodes the Listing.
// It waits for the rate-limit window, renews the token once on 401, and
// retries after a 429 once the window reset.
func (r *run) get(ctx context.Context, path string, q url.Values) (*listingPage, error) {
	renewed := false
	for {
		if err := r.quota.Take(ctx); err != nil {
			return nil, err
		}
		tok, err := r.accessToken(ctx)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.baseURL+path+"?"+q.Encode(), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "bearer "+tok)
		req.Header.Set("User-Agent", r.cfg.UserAgent)
		req.Header.Set("Accept", "application/json")
		resp, err := r.src.hc.Do(req)
		if err != nil {
			r.env.Metrics.Request("error")
			return nil, fmt.Errorf("GET %s: %w", path, err)
		}
		body, rerr := readBody(resp)
		r.rateLimits(resp)
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			r.env.Metrics.Request("rate_limited")
			until := r.src.now().Add(retryAfter(resp.Header, time.Minute))
			r.quota.Block(until)
			r.log.Debug("429 Too Many Requests; waiting", "path", path, "until", until.UTC())
			continue
		case resp.StatusCode == http.StatusUnauthorized && !renewed:
			r.env.Metrics.Request("error")
			r.dropToken()
			renewed = true
			continue
		case resp.StatusCode != http.StatusOK:
			r.env.Metrics.Request("error")
			return nil, statusError(path, resp.StatusCode, body)
		case rerr != nil:
			r.env.Metrics.Request("error")
			return nil, rerr
		}
		r.env.Metrics.Request("ok")
		return r.decodeListing(path, body)
	}
}

func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if len(body) > maxResponseBytes {
		return nil, &httpError{typ: "oversized", msg: fmt.Sprintf("response larger than %d bytes", maxResponseBytes)}
	}
	return body, nil
}

// statusError describes an error answer with Reddit's JSON error body
// ({"message": "Forbidden", "error": 403, "reason": "private"}) when there is one.
func statusError(path string, status int, body []byte) error {
	var e struct {
		Message string `json:"message"`
		Reason  string `json:"reason"`
	}
	msg := http.StatusText(status)
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		msg = e.Message
		if e.Reason != "" {
			msg += " (" + e.Reason + ")"
		}
	}
	typ := "http_4xx"
	switch {
	case status >= 500:
		typ = "http_5xx"
	case status == http.StatusUnauthorized:
		typ = "auth"
	}
	return &httpError{typ: typ, status: status, msg: "GET " + path + ": " + msg}
}

// rateLimits reads X-Ratelimit-Remaining and X-Ratelimit-Reset (seconds
// until the window resets).
func (r *run) rateLimits(resp *http.Response) {
	rem, err1 := strconv.ParseFloat(resp.Header.Get("X-Ratelimit-Remaining"), 64)
	reset, err2 := strconv.ParseFloat(resp.Header.Get("X-Ratelimit-Reset"), 64)
	if err1 != nil || err2 != nil {
		return
	}
	r.quota.Update(rem, r.src.now().Add(time.Duration(reset*float64(time.Second))))
	r.env.Metrics.RateLimitRemaining(rem)
}

// retryAfter is how long a 429 asks to wait: X-Ratelimit-Reset, else
// Retry-After, else def.
func retryAfter(h http.Header, def time.Duration) time.Duration {
	for _, k := range []string{"X-Ratelimit-Reset", "Retry-After"} {
		if v, err := strconv.ParseFloat(h.Get(k), 64); err == nil && v >= 0 {
			return time.Duration(v * float64(time.Second))
		}
	}
	return def
}

// accessToken returns a valid application-only token, requesting a new one
// a minute before the current one expires.
func (r *run) accessToken(ctx context.Context) (string, error) {
	r.tokMu.Lock()
	defer r.tokMu.Unlock()
	if r.token != "" && r.src.now().Before(r.tokenExp.Add(-time.Minute)) {
		return r.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.authURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(r.cfg.clientID.Reveal(), r.cfg.clientSecret.Reveal())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", r.cfg.UserAgent)
	resp, err := r.src.hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("access token: %w", err)
	}
	body, err := readBody(resp)
	if err != nil {
		return "", fmt.Errorf("access token: %w", err)
	}
	var tok struct {
		AccessToken string  `json:"access_token"`
		ExpiresIn   float64 `json:"expires_in"`
		Error       any     `json:"error"`
		Message     string  `json:"message"`
	}
	_ = json.Unmarshal(body, &tok)
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "", &httpError{typ: "auth", status: resp.StatusCode, msg: "access token: the client id or secret was refused"}
	case resp.StatusCode != http.StatusOK:
		return "", statusError("access token", resp.StatusCode, body)
	case tok.Error != nil || tok.AccessToken == "":
		return "", &httpError{typ: "auth", status: resp.StatusCode, msg: fmt.Sprintf("access token: no token (error %v)", tok.Error)}
	}
	if tok.ExpiresIn <= 0 {
		tok.ExpiresIn = 3600
	}
	r.token = tok.AccessToken
	r.tokenExp = r.src.now().Add(time.Duration(tok.ExpiresIn * float64(time.Second)))
	return r.token, nil
}

func (r *run) dropToken() {
	r.tokMu.Lock()
	defer r.tokMu.Unlock()
	r.token = ""
}
