// Package rss is earshot's RSS, Atom and JSON Feed connector. It polls each
// configured feed on its own timer with conditional GETs, maps new items to
// mentions and publishes them, remembering per feed (in the cursor store)
// the ETag, Last-Modified and the keys of items already published.
//
// The same connector serves every platform that offers feeds: set platform
// (reddit, hackernews, mastodon, …) and kind to store their items as such.
//
// Failures stay with their feed: a slow, broken, oversized or malformed
// feed, or a gofeed panic, backs off that feed only (exponentially, up to
// max_backoff, honouring Retry-After on 429 and 503), while the others keep
// running. Invalid UTF-8 is repaired instead of rejecting the whole feed.
package rss

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/earshot-dev/earshot/pipeline"
)

func init() {
	pipeline.RegisterConnector("rss", New)
}

// Errors of one poll; each backs off the feed.
var (
	ErrTooLarge    = errors.New("feed response too large")
	ErrHTTPStatus  = errors.New("unexpected HTTP status")
	ErrRateLimited = errors.New("rate limited")
	ErrPublish     = errors.New("publish")
	ErrCursor      = errors.New("cursor")
)

// Source polls feeds and publishes their new items.
type Source struct {
	cfg    Config
	feeds  []*feedState
	client *http.Client
	now    func() time.Time
}

var _ pipeline.Source = (*Source)(nil)

// New builds an rss Source from its config entry. It validates without
// touching the network and reports every problem at once.
func New(spec *pipeline.ConnectorSpec, _ []pipeline.Topic) (pipeline.Source, error) {
	var cfg Config
	decodeErr := spec.Decode(&cfg) // on a type error, the other keys are still decoded
	cfg = cfg.withDefaults()
	if err := errors.Join(decodeErr, cfg.validate(MinInterval)); err != nil {
		// One line per problem, each saying where it is.
		var errs []error
		for _, e := range flatErrs(err) {
			var fe *pipeline.FieldError
			if msg := e.Error(); spec.Path != "" && !errors.As(e, &fe) {
				// Give the key its full path in the config file.
				line := lineRe.FindString(msg)
				e = fmt.Errorf("%s%s.%s", line, spec.Path, msg[len(line):])
			}
			errs = append(errs, fmt.Errorf("%s: %w: %w", spec.Where(), ErrInvalidConfig, e))
		}
		return nil, errors.Join(errs...)
	}
	return newSource(cfg), nil
}

var lineRe = regexp.MustCompile(`^line \d+: `)

// flatErrs unwraps joined errors into their parts.
func flatErrs(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, flatErrs(e)...)
	}
	return out
}

// Platform is the stored platform (the config's platform, default rss),
// which labels the connector's metrics.
func (s *Source) Platform() string { return s.cfg.Platform }

// newSource builds a Source from a defaulted, validated config.
func newSource(cfg Config) *Source {
	s := &Source{
		cfg:    cfg,
		client: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		now:    time.Now,
	}
	for _, f := range cfg.Feeds {
		u, err := parseFeedURL(f.URL)
		if err != nil {
			panic("rss: unvalidated config: " + err.Error())
		}
		s.feeds = append(s.feeds, &feedState{url: u, key: feedKey(u), name: f.Name})
	}
	return s
}

// Run polls every feed on its own goroutine until ctx is done, then returns
// nil. Errors are per feed: they are logged, counted and retried.
func (s *Source) Run(ctx context.Context, env *pipeline.SourceEnv) error {
	if env == nil || env.Publisher == nil || env.Cursors == nil {
		return errors.New("rss: run: environment needs a publisher and a cursor store")
	}
	w := &worker{Source: s, env: env, log: env.Logger, metrics: env.Metrics}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	w.log = w.log.With("component", "rss", "connector", env.Name, "platform", s.cfg.Platform)
	if w.metrics == nil {
		w.metrics = pipeline.NewMetrics(prometheus.NewRegistry()).Connector(s.cfg.Platform, env.Name)
	}
	defer s.client.CloseIdleConnections()
	var wg sync.WaitGroup
	for _, f := range s.feeds {
		st := &feedState{url: f.url, key: f.key, name: f.name} // fresh per Run
		wg.Go(func() { w.runFeed(ctx, st) })
	}
	wg.Wait()
	return nil
}

// feedState is one feed's state, owned by its goroutine.
type feedState struct {
	url  *url.URL
	key  string // URL without user info: source, id, cursor key, logs
	name string

	loaded         bool
	cur            cursor
	seen           map[uint64]struct{}
	dirty          bool // cur differs from the stored cursor
	failures       int  // consecutive failed polls
	warnedMaxItems bool
}

// cursor is what the cursor store keeps per feed (key: the feed URL).
type cursor struct {
	V            int    `json:"v"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	// Seen holds the 8-byte keys of items already published, big-endian,
	// concatenated, oldest first (base64 in JSON).
	Seen []byte `json:"seen,omitempty"`
}

func (c *cursor) keys() []uint64 {
	out := make([]uint64, 0, len(c.Seen)/8)
	for i := 0; i+8 <= len(c.Seen); i += 8 {
		out = append(out, binary.BigEndian.Uint64(c.Seen[i:]))
	}
	return out
}

// worker is a running Source with its environment.
type worker struct {
	*Source
	env     *pipeline.SourceEnv
	log     *slog.Logger
	metrics *pipeline.ConnectorMetrics
}

// firstPollSpread bounds the random delay of each feed's first poll.
const firstPollSpread = 5 * time.Second

// runFeed polls one feed until ctx is done.
func (w *worker) runFeed(ctx context.Context, f *feedState) {
	log := w.log.With("feed", f.key)
	if f.name != "" {
		log = log.With("feed_name", f.name)
	}
	// Spread the first polls of many feeds over the jitter window, but at
	// most a few seconds: a user who starts earshot wants mentions now.
	delay := time.Duration(rand.Float64() * min(*w.cfg.Jitter*float64(w.cfg.Interval), float64(firstPollSpread)))
	for {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		start := time.Now()
		n, err := w.poll(ctx, f)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			f.failures = 0
			delay = w.jittered(w.cfg.Interval)
			log.Debug("rss: polled", "published", n, "took", time.Since(start))
			continue
		}
		f.failures++
		delay = w.backoff(f.failures)
		var rl *rateLimitError
		if errors.As(err, &rl) && rl.after > delay {
			delay = rl.after
		}
		w.metrics.Error(errorType(err))
		log.Warn("rss: poll failed", "error", err, "failures", f.failures, "retry_in", delay)
	}
}

// jittered returns d moved at random by up to ±jitter.
func (s *Source) jittered(d time.Duration) time.Duration {
	j := *s.cfg.Jitter
	return time.Duration(float64(d) * (1 + j*(2*rand.Float64()-1)))
}

// backoff is the delay after the n-th consecutive failure: interval/4
// doubling per failure, capped at max_backoff, with jitter.
func (s *Source) backoff(n int) time.Duration {
	d := max(s.cfg.Interval/4, time.Millisecond)
	for i := 1; i < n && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return s.jittered(min(d, s.cfg.MaxBackoff))
}

// errorType is the bounded metric label of a poll error.
func errorType(err error) string {
	var se *statusError
	switch {
	case errors.As(err, &se) && se.code >= 500:
		return "http_5xx"
	case errors.As(err, &se):
		return "http_4xx"
	case errors.Is(err, ErrRateLimited):
		return "rate_limited"
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	case errors.Is(err, ErrParse):
		return "parse"
	case errors.Is(err, ErrPublish):
		return "publish"
	case errors.Is(err, ErrCursor):
		return "cursor"
	}
	return "fetch"
}

// poll fetches the feed once and publishes its new items, returning how many.
// The cursor advances only after the publisher acknowledged them.
func (w *worker) poll(ctx context.Context, f *feedState) (int, error) {
	if !f.loaded {
		if err := w.loadCursor(ctx, f); err != nil {
			return 0, err
		}
	}
	res, err := w.fetch(ctx, f)
	if err != nil {
		if errors.Is(err, ErrRateLimited) {
			w.metrics.Request("rate_limited")
		} else if ctx.Err() == nil {
			w.metrics.Request("error")
		}
		return 0, err
	}
	if res.notModified {
		w.metrics.Request("not_modified")
		return 0, w.saveCursor(ctx, f)
	}
	pf, err := parseFeed(res.body, res.contentType)
	if err != nil {
		w.metrics.Request("error")
		return 0, err
	}
	w.metrics.Request("ok")

	now := w.now()
	mp := &mapper{platform: w.cfg.Platform, kind: w.cfg.Kind, source: w.env.Name + "/" + f.key,
		feed: f.key, base: res.url, now: now}
	items, empty := mp.mapFeed(pf, w.cfg.MaxItems)
	if pf.nulls > 0 || empty > 0 {
		w.log.Debug("rss: skipped items with no content", "feed", f.key, "null", pf.nulls, "empty", empty)
	}
	if over := len(pf.Items) - w.cfg.MaxItems; over > 0 {
		// Items past max_items are neither published nor remembered.
		w.metrics.Error("max_items")
		lvl := slog.LevelDebug
		if !f.warnedMaxItems {
			lvl, f.warnedMaxItems = slog.LevelWarn, true
		}
		w.log.Log(ctx, lvl, "rss: feed has more items than max_items; the rest are ignored",
			"feed", f.key, "items", len(pf.Items), "max_items", w.cfg.MaxItems)
	}

	// New items, each once even when the response repeats it.
	present := make([]uint64, 0, len(items))
	inResponse := make(map[uint64]struct{}, len(items))
	var fresh []*pipeline.Mention
	for _, it := range items {
		if _, dup := inResponse[it.key]; dup {
			continue
		}
		inResponse[it.key] = struct{}{}
		present = append(present, it.key)
		if _, old := f.seen[it.key]; !old {
			fresh = append(fresh, it.m)
		}
	}
	slices.SortStableFunc(fresh, func(a, b *pipeline.Mention) int { return a.CreatedAt.Compare(b.CreatedAt) })
	if len(fresh) > 0 {
		if err := w.env.Publisher.Publish(ctx, fresh); err != nil {
			return 0, fmt.Errorf("%w: %d items: %w", ErrPublish, len(fresh), err)
		}
	}

	// Acknowledged: advance. Keys present in this response move to the
	// newest end, so an item still in the feed is never forgotten.
	next := cursor{V: 1, ETag: res.etag, LastModified: res.lastModified}
	keys := make([]uint64, 0, len(f.seen)+len(fresh))
	for _, k := range f.cur.keys() {
		if _, ok := inResponse[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Reverse(present) // document order is usually newest first
	keys = append(keys, present...)
	if drop := len(keys) - w.cfg.SeenLimit; drop > 0 {
		keys = keys[drop:]
	}
	next.Seen = make([]byte, 0, 8*len(keys))
	seen := make(map[uint64]struct{}, len(keys))
	for _, k := range keys {
		next.Seen = binary.BigEndian.AppendUint64(next.Seen, k)
		seen[k] = struct{}{}
	}
	if len(fresh) > 0 || next.ETag != f.cur.ETag || next.LastModified != f.cur.LastModified {
		f.dirty = true
	}
	f.cur, f.seen = next, seen
	return len(fresh), w.saveCursor(ctx, f)
}

// loadCursor reads the feed's cursor; a feed never polled starts empty.
func (w *worker) loadCursor(ctx context.Context, f *feedState) error {
	raw, err := w.env.Cursors.Get(ctx, f.key)
	f.cur, f.seen = cursor{V: 1}, map[uint64]struct{}{}
	switch {
	case errors.Is(err, pipeline.ErrNoCursor):
	case err != nil:
		return fmt.Errorf("%w: load: %w", ErrCursor, err)
	default:
		if err := json.Unmarshal(raw, &f.cur); err != nil {
			// A cursor we cannot read is a cursor we cannot trust: start
			// over; the stream deduplicates what is republished.
			w.log.Warn("rss: unreadable cursor, starting over", "feed", f.key, "error", err)
			w.metrics.Error("cursor")
			f.cur = cursor{V: 1}
		}
		for _, k := range f.cur.keys() {
			f.seen[k] = struct{}{}
		}
	}
	f.loaded = true
	return nil
}

// saveCursor stores the cursor if it changed since it was last stored.
func (w *worker) saveCursor(ctx context.Context, f *feedState) error {
	if !f.dirty {
		return nil
	}
	raw, err := json.Marshal(&f.cur)
	if err != nil {
		return fmt.Errorf("%w: encode: %w", ErrCursor, err)
	}
	// Items were acknowledged: record it even when shutdown has begun, or
	// the next run publishes them again.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := w.env.Cursors.Put(ctx, f.key, raw); err != nil {
		return fmt.Errorf("%w: store: %w", ErrCursor, err)
	}
	f.dirty = false
	return nil
}

// response is a fetched feed.
type response struct {
	notModified  bool
	body         []byte
	contentType  string
	etag         string
	lastModified string
	url          *url.URL // final URL after redirects, to resolve relative links
}

// statusError is an unexpected HTTP status.
type statusError struct {
	code   int
	status string
}

func (e *statusError) Error() string { return "http " + e.status }
func (e *statusError) Unwrap() error { return ErrHTTPStatus }

// rateLimitError is a 429, or a 503 with Retry-After.
type rateLimitError struct {
	status string
	after  time.Duration // 0 when the server did not say
}

func (e *rateLimitError) Error() string {
	if e.after > 0 {
		return fmt.Sprintf("http %s, retry after %v", e.status, e.after)
	}
	return "http " + e.status
}
func (e *rateLimitError) Unwrap() error { return ErrRateLimited }

// maxRetryAfter bounds how long a Retry-After can park a feed.
const maxRetryAfter = 24 * time.Hour

// fetch GETs the feed, conditionally when the cursor has validators.
func (w *worker) fetch(ctx context.Context, f *feedState) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	req.Header.Set("User-Agent", w.cfg.UserAgent)
	req.Header.Set("Accept", "application/rss+xml, application/atom+xml, application/feed+json, "+
		"application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5")
	if f.cur.ETag != "" {
		req.Header.Set("If-None-Match", f.cur.ETag)
	}
	if f.cur.LastModified != "" {
		req.Header.Set("If-Modified-Since", f.cur.LastModified)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", redactURLError(err))
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
		resp.Body.Close()
	}()
	switch code := resp.StatusCode; {
	case code == http.StatusNotModified:
		return &response{notModified: true}, nil
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
		return nil, &rateLimitError{status: resp.Status, after: retryAfter(resp.Header.Get("Retry-After"), w.now())}
	case code < 200 || code > 299:
		return nil, &statusError{code: code, status: resp.Status}
	}
	limit := int64(w.cfg.MaxBytes)
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("fetch: read body: %w", redactURLError(err))
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: more than max_bytes %d", ErrTooLarge, limit)
	}
	return &response{
		body:         body,
		contentType:  resp.Header.Get("Content-Type"),
		etag:         resp.Header.Get("ETag"),
		lastModified: resp.Header.Get("Last-Modified"),
		url:          resp.Request.URL,
	}, nil
}

// retryAfter parses a Retry-After value, seconds or an HTTP date, into a
// delay from now (0 when absent, invalid or past; at most maxRetryAfter).
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// redactURLError removes user info from the URL in a *url.Error.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.User != nil {
			ue.URL = feedKey(u)
		}
	}
	return err
}
