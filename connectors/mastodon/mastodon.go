// Package mastodon is earshot's Mastodon connector, `type: mastodon`.
//
// For every instance and hashtag it reads the streaming API
// (GET /api/v1/streaming/hashtag?tag=…, server-sent events `update`,
// `status.update` and `delete`, `:thump` heartbeats) when the instance
// allows it, and fills gaps after a restart or a cut by polling the hashtag
// timeline (GET /api/v1/timelines/tag/{tag}) forward from its cursor with
// min_id, following the Link header. An instance that streams only to
// accounts (HTTP 401 or 403) is polled instead, with a log line saying why.
//
// The mention id is the status uri, so one post federated to two instances
// is one mention. Edits are re-published as new versions, deletions as
// tombstones.
package mastodon

import (
	"bufio"
	"bytes"
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
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/earshot-dev/earshot/connectors/quota"
	"github.com/earshot-dev/earshot/pipeline"
)

func init() {
	pipeline.RegisterConnector("mastodon", New)
}

// Platform is the platform name on every mention.
const Platform = "mastodon"

// Source is a configured mastodon connector.
type Source struct {
	cfg *settings
	hc  *http.Client // no overall timeout: streams stay open

	// Knobs tests turn down.
	errBackoff     pipeline.Backoff
	publishBackoff pipeline.Backoff
	healthyAfter   time.Duration // a stream up this long resets the backoff
	requestTimeout time.Duration // timeline requests
	now            func() time.Time
}

var _ pipeline.Source = (*Source)(nil)

func newSource(cfg *settings) *Source {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 30 * time.Second
	return &Source{
		cfg:            cfg,
		hc:             &http.Client{Transport: t},
		errBackoff:     pipeline.Backoff{Min: 2 * time.Second, Max: 5 * time.Minute},
		publishBackoff: pipeline.Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second},
		healthyAfter:   time.Minute,
		requestTimeout: time.Minute,
		now:            time.Now,
	}
}

// run is one instance's state in one Run call.
type run struct {
	src    *Source
	cfg    *settings
	env    *pipeline.SourceEnv
	log    *slog.Logger
	inst   instance
	quota  *quota.Quota
	ids    *idRing
	stream atomic.Bool // false once the instance refused streaming
}

// Run reads every instance until ctx is done. Errors are logged, counted
// and retried with backoff; it returns nil on a clean stop.
func (s *Source) Run(ctx context.Context, env *pipeline.SourceEnv) error {
	if env == nil || env.Publisher == nil || env.Cursors == nil || env.Metrics == nil {
		return errors.New("mastodon: run: environment needs a publisher, a cursor store and metrics")
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	defer s.hc.CloseIdleConnections()
	g, gctx := errgroup.WithContext(ctx)
	for _, inst := range s.cfg.instances {
		r := &run{src: s, cfg: s.cfg, env: env, inst: inst, quota: &quota.Quota{},
			log: log.With("component", "mastodon", "platform", Platform, "connector", env.Name, "instance", inst.host)}
		r.ids = loadRing(ctx, env.Cursors, inst.host, s.cfg.Remember, r.warn)
		r.stream.Store(s.cfg.stream)
		r.quota.OnWait = func(until time.Time) { r.log.Debug("waiting for the rate-limit window to reset", "reset", until.UTC()) }
		for _, tag := range s.cfg.tags {
			g.Go(func() error { r.tagLoop(gctx, tag); return nil })
		}
	}
	return g.Wait()
}

func (r *run) warn(typ, msg string, args ...any) {
	r.env.Metrics.Error(typ)
	r.log.Warn(msg, append(args, "type", typ)...)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// errStreamRefused is a streaming request the instance answered 401 or 403.
var errStreamRefused = errors.New("streaming refused")

// tagLoop reads one hashtag: stream (and catch up once connected) while the
// instance allows it, else poll every interval.
func (r *run) tagLoop(ctx context.Context, tag string) {
	key := "tag:" + r.inst.host + ":" + tag
	var cur string
	raw, err := r.env.Cursors.Get(ctx, key)
	switch {
	case err == nil:
		cur = string(raw)
	case !errors.Is(err, pipeline.ErrNoCursor):
		r.warn("cursor", "reading the cursor failed; reading the newest page", "tag", tag, "error", err)
	}
	bo := r.src.errBackoff
	fail := func(what string, err error) {
		wait := bo.Next()
		r.warn(errType(err), what+" failed", "tag", tag, "error", err, "retry_in", wait)
		sleep(ctx, wait)
	}
	for ctx.Err() == nil {
		if !r.stream.Load() {
			if err := r.catchUp(ctx, tag, key, &cur); err != nil && ctx.Err() == nil {
				fail("poll #"+tag, err)
				continue
			}
			bo.Reset()
			sleep(ctx, r.cfg.Interval)
			continue
		}
		resp, err := r.connect(ctx, tag)
		if errors.Is(err, errStreamRefused) {
			r.stream.Store(false)
			r.log.Info("the instance streams only to authenticated accounts; polling the hashtag timeline every interval instead",
				"tag", tag, "reason", err.Error(), "interval", r.cfg.Interval)
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				fail("connect the #"+tag+" stream", err)
			}
			continue
		}
		t0 := time.Now()
		err = r.catchUp(ctx, tag, key, &cur)
		if err == nil {
			err = r.readStream(ctx, resp, tag, key, &cur)
		}
		resp.Body.Close()
		if ctx.Err() != nil {
			return
		}
		if time.Since(t0) > r.src.healthyAfter {
			bo.Reset()
		}
		fail("the #"+tag+" stream", err)
	}
}

// httpError is a request the instance answered with an error status, or an
// answer that could not be used.
type httpError struct {
	typ    string // metric error type
	status int
	msg    string
}

func (e *httpError) Error() string {
	if e.status == 0 {
		return e.msg
	}
	return fmt.Sprintf("HTTP %d: %s", e.status, e.msg)
}

func errType(err error) string {
	var he *httpError
	if errors.As(err, &he) {
		return he.typ
	}
	return "network"
}

// statusError reads Mastodon's {"error": "…"} body.
func statusError(what string, status int, body []byte) *httpError {
	var e struct {
		Error string `json:"error"`
	}
	msg := http.StatusText(status)
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	typ := "http_4xx"
	switch {
	case status >= 500:
		typ = "http_5xx"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		typ = "auth"
	}
	return &httpError{typ: typ, status: status, msg: what + ": " + msg}
}

// do sends a GET to the instance after the rate-limit window allows it,
// and records the window the answer announces. A 429 blocks the window
// and is returned as an error.
func (r *run) do(ctx context.Context, u string, stream bool) (*http.Response, error) {
	if err := r.quota.Take(ctx); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if !r.inst.token.IsZero() {
		req.Header.Set("Authorization", "Bearer "+r.inst.token.Reveal())
	}
	if stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("User-Agent", "earshot (+https://github.com/earshot-dev/earshot)")
	resp, err := r.src.hc.Do(req)
	if err != nil {
		r.env.Metrics.Request("error")
		return nil, err
	}
	r.rateLimits(resp.Header)
	if resp.StatusCode == http.StatusTooManyRequests {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		r.env.Metrics.Request("rate_limited")
		if reset, err := time.Parse(time.RFC3339, resp.Header.Get("X-RateLimit-Reset")); err == nil {
			r.quota.Block(reset)
		} else if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			r.quota.Block(r.src.now().Add(time.Duration(s) * time.Second))
		} else {
			r.quota.Block(r.src.now().Add(time.Minute))
		}
		e := statusError("GET "+req.URL.Path, resp.StatusCode, body)
		e.typ = "rate_limited"
		return nil, e
	}
	return resp, nil
}

// rateLimits reads X-RateLimit-Remaining and X-RateLimit-Reset (an ISO 8601
// time).
func (r *run) rateLimits(h http.Header) {
	rem, err1 := strconv.ParseFloat(h.Get("X-RateLimit-Remaining"), 64)
	reset, err2 := time.Parse(time.RFC3339, h.Get("X-RateLimit-Reset"))
	if err1 != nil || err2 != nil {
		return
	}
	r.quota.Update(rem, reset)
	r.env.Metrics.RateLimitRemaining(rem)
}

// catchUp polls the hashtag timeline forward from the cursor (min_id),
// following the Link header's prev page, publishing each page and then
// advancing the cursor. Without a cursor it reads the newest page.
func (r *run) catchUp(ctx context.Context, tag, key string, cur *string) error {
	q := url.Values{"limit": {strconv.Itoa(pageLimit)}}
	if *cur != "" {
		q.Set("min_id", *cur)
	}
	next := r.inst.base + "/api/v1/timelines/tag/" + url.PathEscape(tag) + "?" + q.Encode()
	for page := 0; page < maxCatchUpPages && next != ""; page++ {
		sts, prev, err := r.timelinePage(ctx, next)
		if err != nil {
			return err
		}
		if len(sts) == 0 {
			return nil
		}
		newest := *cur
		ms := make([]*pipeline.Mention, 0, len(sts))
		for i := len(sts) - 1; i >= 0; i-- { // oldest first
			st := sts[i]
			if idLess(newest, st.ID) {
				newest = st.ID
			}
			if st.URI == "" {
				continue // oversized: only its id was read
			}
			ms = append(ms, r.statusMention(st, tag)...)
		}
		if err := r.publish(ctx, ms); err != nil {
			return err
		}
		if newest != *cur {
			if err := r.env.Cursors.Put(ctx, key, []byte(newest)); err != nil {
				return fmt.Errorf("save cursor of #%s: %w", tag, err)
			}
			*cur = newest
		}
		r.ids.save(ctx, r.env.Cursors, r.warn)
		if q.Get("min_id") == "" {
			return nil // first start: the newest page only
		}
		next = prev
		if next == "" && len(sts) == pageLimit {
			q.Set("min_id", newest)
			next = r.inst.base + "/api/v1/timelines/tag/" + url.PathEscape(tag) + "?" + q.Encode()
		}
	}
	return nil
}

// timelinePage GETs one page of statuses and the Link header's prev URL.
// A status that does not decode is counted as malformed and skipped; one
// larger than max_item_bytes as oversized (only its id is kept, for the
// cursor).
func (r *run) timelinePage(ctx context.Context, u string) ([]*status, string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.src.requestTimeout)
	defer cancel()
	resp, err := r.do(ctx, u, false)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		r.env.Metrics.Request("error")
		return nil, "", fmt.Errorf("read timeline: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		r.env.Metrics.Request("error")
		return nil, "", statusError("GET timeline", resp.StatusCode, body)
	}
	if len(body) > maxResponseBytes {
		r.env.Metrics.Request("error")
		return nil, "", &httpError{typ: "oversized", msg: fmt.Sprintf("timeline page larger than %d bytes", maxResponseBytes)}
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		r.env.Metrics.Request("error")
		return nil, "", &httpError{typ: "malformed", msg: fmt.Sprintf("timeline page is not a JSON array of statuses: %v", err)}
	}
	r.env.Metrics.Request("ok")
	out := make([]*status, 0, len(raws))
	for i, raw := range raws {
		st, err := r.decodeStatus(raw)
		if err != nil {
			r.warn(errType(err), "skipping a status of the timeline", "index", i, "error", err)
			if st == nil {
				continue
			}
		}
		out = append(out, st)
	}
	return out, linkRel(resp.Header.Get("Link"), "prev"), nil
}

// decodeStatus decodes one status. For an oversized one it returns the
// error and a status holding only the id.
func (r *run) decodeStatus(raw []byte) (*status, error) {
	if len(raw) > r.cfg.MaxItemBytes {
		var head struct {
			ID string `json:"id"`
		}
		err := &httpError{typ: "oversized", msg: fmt.Sprintf("status of %d bytes is larger than max_item_bytes %d", len(raw), r.cfg.MaxItemBytes)}
		if json.Unmarshal(raw, &head) == nil && isDigits(head.ID) {
			return &status{ID: head.ID}, err
		}
		return nil, err
	}
	var st status
	err := json.Unmarshal(raw, &st)
	if err == nil {
		err = st.check()
	}
	if err != nil {
		return nil, &httpError{typ: "malformed", msg: err.Error()}
	}
	return &st, nil
}

// linkRel returns the URL of rel in a Link header:
// <https://…?max_id=1>; rel="next", <https://…?min_id=2>; rel="prev".
func linkRel(h, rel string) string {
	for _, part := range strings.Split(h, ",") {
		u, params, ok := strings.Cut(part, ";")
		if !ok {
			continue
		}
		if strings.Contains(params, `rel="`+rel+`"`) {
			return strings.Trim(strings.TrimSpace(u), "<>")
		}
	}
	return ""
}

// statusMention maps a status and remembers it; a status whose deletion
// arrived first becomes its tombstone instead.
func (r *run) statusMention(st *status, tag string) []*pipeline.Mention {
	if k, ok := r.ids.lookup(st.ID); ok && k.URI == "" {
		r.ids.remember(known{ID: st.ID, URI: st.URI, Created: st.CreatedAt})
		return []*pipeline.Mention{pipeline.Tombstone(Platform, mentionID(st.URI), r.inst.host+"/tags/"+tag, st.CreatedAt, r.src.now())}
	}
	r.ids.remember(known{ID: st.ID, URI: st.URI, Created: st.CreatedAt})
	return []*pipeline.Mention{mention(st, r.inst.host, tag, r.src.now())}
}

// publish publishes ms, retrying with backoff until JetStream acknowledged
// them; it fails only when ctx ends.
func (r *run) publish(ctx context.Context, ms []*pipeline.Mention) error {
	return pipeline.PublishUntilAcked(ctx, r.env.Publisher, ms, r.src.publishBackoff, func(err error, wait time.Duration) {
		r.warn("publish", "publishing mentions failed; retrying", "mentions", len(ms), "error", err, "retry_in", wait)
	})
}

// connect opens the hashtag stream.
func (r *run) connect(ctx context.Context, tag string) (*http.Response, error) {
	u := r.inst.base + "/api/v1/streaming/hashtag?" + url.Values{"tag": {tag}}.Encode()
	resp, err := r.do(ctx, u, true)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		r.env.Metrics.Request("ok")
		return resp, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	r.env.Metrics.Request("error")
	e := statusError("GET /api/v1/streaming/hashtag", resp.StatusCode, body)
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return nil, fmt.Errorf("%w: %v", errStreamRefused, e)
	}
	return nil, e
}

// readStream reads server-sent events until the stream ends, stalls (no
// event or heartbeat for stall_timeout) or ctx ends.
func (r *run) readStream(ctx context.Context, resp *http.Response, tag, key string, cur *string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stall := time.AfterFunc(r.cfg.StallTimeout, func() { cancel(); resp.Body.Close() })
	defer stall.Stop()
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	var (
		event string
		data  bytes.Buffer
		skip  bool // the event's data went over max_item_bytes
	)
	for {
		line, err := readLine(br, r.cfg.MaxItemBytes+64)
		if errors.Is(err, errLineTooLong) {
			skip = true
			err = nil
		}
		if err != nil {
			if ctx.Err() != nil && stall != nil && !stall.Stop() {
				return &httpError{typ: "stream", msg: fmt.Sprintf("stream stalled: nothing for %v", r.cfg.StallTimeout)}
			}
			return &httpError{typ: "stream", msg: fmt.Sprintf("stream cut: %v", err)}
		}
		stall.Reset(r.cfg.StallTimeout)
		switch {
		case len(line) == 0: // dispatch
			if skip {
				r.warn("oversized", "skipping a stream event larger than max_item_bytes", "event", event)
			} else if event != "" {
				if err := r.event(ctx, event, data.Bytes(), tag, key, cur); err != nil {
					return err
				}
			}
			event, skip = "", false
			data.Reset()
		case line[0] == ':': // a comment: the :thump heartbeat
		default:
			field, value, _ := bytes.Cut(line, []byte(":"))
			value = bytes.TrimPrefix(value, []byte(" "))
			switch string(field) {
			case "event":
				event = string(value)
			case "data":
				if data.Len() > 0 {
					data.WriteByte('\n')
				}
				data.Write(value)
				if data.Len() > r.cfg.MaxItemBytes {
					skip = true
					data.Reset()
				}
			}
		}
	}
}

var errLineTooLong = errors.New("line too long")

// readLine reads one line without its line ending. A line longer than max
// is consumed and reported as errLineTooLong.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) <= max {
			line = append(line, chunk...)
		} else {
			line = line[:0]
			max = -1
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if max < 0 {
			return nil, errLineTooLong
		}
		return bytes.TrimRight(line, "\r\n"), nil
	}
}

// event handles one server-sent event.
func (r *run) event(ctx context.Context, event string, data []byte, tag, key string, cur *string) error {
	switch event {
	case "update", "status.update":
		st, err := r.decodeStatus(data)
		if err != nil {
			r.warn(errType(err), "skipping a stream event", "event", event, "error", err)
			return nil
		}
		var ms []*pipeline.Mention
		if event == "status.update" {
			m := mention(st, r.inst.host, tag, r.src.now())
			if m.EditedAt.IsZero() {
				m.EditedAt = r.src.now() // an edit without edited_at still is a newer version
			}
			r.ids.remember(known{ID: st.ID, URI: st.URI, Created: st.CreatedAt})
			ms = append(ms, m)
		} else {
			ms = r.statusMention(st, tag)
		}
		if err := r.publish(ctx, ms); err != nil {
			return err
		}
		if event == "update" && idLess(*cur, st.ID) {
			if err := r.env.Cursors.Put(ctx, key, []byte(st.ID)); err != nil {
				return fmt.Errorf("save cursor of #%s: %w", tag, err)
			}
			*cur = st.ID
		}
	case "delete":
		id := strings.Trim(string(data), `" `)
		if !isDigits(id) {
			r.warn("malformed", "skipping a delete event without a status id", "data", string(data))
			return nil
		}
		k, ok := r.ids.lookup(id)
		if !ok || k.URI == "" {
			// Deleted before earshot saw it (or too long ago): remember,
			// so a poll that returns it later publishes its tombstone.
			r.ids.remember(known{ID: id, Created: idTime(id)})
			r.env.Metrics.Skipped("delete_unseen", 1)
			break
		}
		if err := r.publish(ctx, []*pipeline.Mention{pipeline.Tombstone(Platform, mentionID(k.URI), r.inst.host+"/tags/"+tag, k.Created, r.src.now())}); err != nil {
			return err
		}
	default:
		return nil // other events of the API (announcements, filters_changed, …)
	}
	r.ids.save(ctx, r.env.Cursors, r.warn)
	return nil
}
