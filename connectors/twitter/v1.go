package twitter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dghubble/go-twitter/twitter"
	"github.com/dghubble/oauth1"

	"github.com/earshot-dev/earshot/pipeline"
)

// go-twitter's fixed v1.1 bases, rewritten onto base_url.
var v1Hosts = map[string]bool{"api.twitter.com": true, "stream.twitter.com": true}

// rewriteTransport points go-twitter (which always builds
// https://api.twitter.com/1.1/… and https://stream.twitter.com/1.1/…) at
// base_url: it replaces scheme, host and the /1.1/ path prefix.
type rewriteTransport struct {
	base *url.URL // ends in "/"
	next http.RoundTripper
}

func (t *rewriteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if v1Hosts[req.URL.Host] && strings.HasPrefix(req.URL.Path, "/1.1/") {
		u := *t.base
		u.Path = t.base.Path + strings.TrimPrefix(req.URL.Path, "/1.1/")
		u.RawPath = ""
		u.RawQuery = req.URL.RawQuery
		req = req.Clone(req.Context())
		req.URL = &u
		req.Host = ""
	}
	return t.next.RoundTrip(req)
}

// bearerTransport adds the app-only bearer token.
type bearerTransport struct {
	token pipeline.Secret
	next  http.RoundTripper
}

func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+t.token.Reveal())
	return t.next.RoundTrip(req)
}

// limitTransport waits on the limiter before each request and records the
// rate-limit headers and outcome of each response.
type limitTransport struct {
	lim  *limiter
	cm   *pipeline.ConnectorMetrics
	next http.RoundTripper
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ep := req.URL.Path
	if err := t.lim.wait(req.Context(), ep); err != nil {
		return nil, err
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		t.cm.Request("error")
		return nil, err
	}
	t.lim.observe(ep, resp)
	switch {
	case resp.StatusCode < 300:
		t.cm.Request("ok")
	case resp.StatusCode == http.StatusTooManyRequests:
		t.cm.Request("rate_limited")
	default:
		t.cm.Request("error")
	}
	return resp, nil
}

// ctxTransport binds go-twitter's context-free requests to ctx.
type ctxTransport struct {
	ctx  context.Context
	next http.RoundTripper
}

func (t ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.next.RoundTrip(req.WithContext(t.ctx))
}

// v1Chain is the transport go-twitter's requests go through: rewrite to
// base_url, authenticate (bearer or OAuth 1.0a, signing the rewritten URL),
// wait for and record rate limits, send.
func (r *run) v1Chain() http.RoundTripper {
	var next http.RoundTripper = &limitTransport{lim: r.lim, cm: r.env.Metrics, next: r.src.hc.Transport}
	if o := r.cfg.oauth; o != nil {
		cfg := oauth1.NewConfig(o.consumerKey.Reveal(), o.consumerSecret.Reveal())
		hctx := context.WithValue(context.Background(), oauth1.HTTPClient, &http.Client{Transport: next})
		next = cfg.Client(hctx, oauth1.NewToken(o.accessToken.Reveal(), o.accessSecret.Reveal())).Transport
	} else {
		next = &bearerTransport{token: r.cfg.bearer, next: next}
	}
	base := *r.cfg.base
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	if base.String() == DefaultBaseURLv11 {
		return next // go-twitter's own hosts
	}
	return &rewriteTransport{base: &base, next: next}
}

// v1Text is the full text of a v1.1 status: extended_tweet.full_text in
// compatibility mode (streams), full_text with tweet_mode=extended.
func v1Text(t *twitter.Tweet) string {
	switch {
	case t.ExtendedTweet != nil && t.ExtendedTweet.FullText != "":
		return unescapeText(t.ExtendedTweet.FullText)
	case t.FullText != "":
		return unescapeText(t.FullText)
	}
	return unescapeText(t.Text)
}

// v1Mention maps a v1.1 status.
func v1Mention(t *twitter.Tweet, source, matched string, now time.Time) *pipeline.Mention {
	id := t.IDStr
	if id == "" && t.ID != 0 {
		id = strconv.FormatInt(t.ID, 10)
	}
	m := &pipeline.Mention{
		ID:          "twitter:" + id,
		Platform:    Platform,
		Source:      source,
		Kind:        pipeline.KindPost,
		Text:        v1Text(t),
		Lang:        t.Lang,
		CollectedAt: now,
		MatchedRule: matched,
		Engagement: pipeline.Engagement{
			Likes:   int64(t.FavoriteCount),
			Reposts: int64(t.RetweetCount),
			Replies: int64(t.ReplyCount),
			Quotes:  int64(t.QuoteCount),
		},
	}
	if ts, err := t.CreatedAtTime(); err == nil {
		m.CreatedAt = ts.UTC()
	}
	if u := t.User; u != nil {
		m.Author = pipeline.Author{ID: u.IDStr, Handle: u.ScreenName, Name: u.Name,
			Followers: int64(u.FollowersCount), Verified: u.Verified}
		if m.Author.ID == "" && u.ID != 0 {
			m.Author.ID = strconv.FormatInt(u.ID, 10)
		}
	}
	switch {
	case t.RetweetedStatus != nil:
		m.Kind, m.ParentID = pipeline.KindRepost, t.RetweetedStatus.IDStr
		m.Text = v1Text(t.RetweetedStatus) // the repost's own text is the truncated "RT @x: …"
	case t.InReplyToStatusIDStr != "" || t.InReplyToStatusID != 0:
		m.Kind, m.ParentID = pipeline.KindReply, t.InReplyToStatusIDStr
		if m.ParentID == "" {
			m.ParentID = strconv.FormatInt(t.InReplyToStatusID, 10)
		}
	case t.QuotedStatusIDStr != "" || t.QuotedStatus != nil:
		m.Kind, m.ParentID = pipeline.KindQuote, t.QuotedStatusIDStr
		if m.ParentID == "" {
			m.ParentID = t.QuotedStatus.IDStr
		}
	}
	m.URL = postURL(m.Author.Handle, id)
	return m
}

// v1Hay is what v1.1 track terms are matched against: text, quoted and
// reposted text, URLs, hashtags and screen names, lower-cased.
func v1Hay(t *twitter.Tweet) string {
	var b strings.Builder
	add := func(tw *twitter.Tweet) {
		if tw == nil {
			return
		}
		b.WriteString(v1Text(tw) + " ")
		if tw.User != nil {
			b.WriteString(tw.User.ScreenName + " ")
		}
		ents := tw.Entities
		if tw.ExtendedTweet != nil && tw.ExtendedTweet.Entities != nil {
			ents = tw.ExtendedTweet.Entities
		}
		if ents != nil {
			for _, u := range ents.Urls {
				b.WriteString(u.ExpandedURL + " " + u.DisplayURL + " ")
			}
			for _, m := range ents.UserMentions {
				b.WriteString(m.ScreenName + " ")
			}
		}
	}
	add(t)
	add(t.RetweetedStatus)
	add(t.QuotedStatus)
	return strings.ToLower(b.String())
}

// v1Matched finds the query whose track terms match a streamed status: its
// MatchedRule and Source (v1.1 streams do not say which term matched).
func (r *run) v1Matched(t *twitter.Tweet) (matched, source string) {
	hay := v1Hay(t)
	for _, q := range r.cfg.queries {
		for _, term := range q.Track {
			if trackMatches(term, hay) {
				return q.Matched, r.source(q.Value)
			}
		}
	}
	return "", r.source("stream")
}

// v1SearchPath is the path search requests arrive at (the limiter's key).
func v1SearchPath(base *url.URL) string {
	p := base.Path
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p + "search/tweets.json"
}

// v1Search polls v1.1 search/tweets for every query each interval.
func (r *run) v1Search(ctx context.Context) error {
	return r.pollLoop(ctx, "search", r.pollV1Search)
}

func (r *run) pollV1Search(ctx context.Context, q query) error {
	key := cursorKey("v1search:", q)
	cur, err := r.loadCursor(ctx, key, q)
	if err != nil {
		return err
	}
	if cur.Page == "" {
		cur.Newest, cur.StartTime = "", ""
		if cur.SinceID == "" {
			cur.StartTime = r.startTime() // v1.1 search has no start_time: posts older are dropped
		}
	}
	chain := r.v1Chain()
	for {
		if err := r.budget.wait(ctx); err != nil {
			return err
		}
		if err := r.lim.ready(ctx, v1SearchPath(r.cfg.base)); err != nil {
			return err
		}
		reqCtx, cancel := context.WithTimeout(ctx, requestTimeout)
		client := twitter.NewClient(&http.Client{Transport: ctxTransport{ctx: reqCtx, next: chain}})
		params := &twitter.SearchTweetParams{Query: q.Value, Count: r.maxResults(1), ResultType: "recent",
			TweetMode: "extended", IncludeEntities: twitter.Bool(true)}
		params.SinceID, _ = strconv.ParseInt(cur.SinceID, 10, 64)
		params.MaxID, _ = strconv.ParseInt(cur.Page, 10, 64)
		res, resp, err := client.Search.Tweets(params)
		cancel()
		if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
			continue // the limiter holds the next request until the reset
		}
		if resp != nil && resp.StatusCode >= 300 {
			ae := &APIError{Endpoint: "/1.1/search/tweets.json", Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
			var apiErr twitter.APIError
			if errors.As(err, &apiErr) && len(apiErr.Errors) > 0 {
				ae.Message = fmt.Sprintf("%d %s", apiErr.Errors[0].Code, apiErr.Errors[0].Message)
			}
			return fmt.Errorf("search %q: %w", q.Label, ae)
		}
		if err != nil {
			return fmt.Errorf("search %q: %w", q.Label, err)
		}
		if err := r.budget.add(ctx, len(res.Statuses)); err != nil {
			r.warn("cursor", "saving the read budget failed", "error", err)
		}
		var start time.Time
		if cur.StartTime != "" {
			start, _ = time.Parse(time.RFC3339, cur.StartTime)
		}
		now := time.Now()
		ms := make([]*pipeline.Mention, 0, len(res.Statuses))
		var minID int64
		older := false
		for i := range res.Statuses {
			t := &res.Statuses[i]
			if t.ID == 0 {
				r.warn("parse", "search returned a status without an id", "query", q.Label)
				continue
			}
			if minID == 0 || t.ID < minID {
				minID = t.ID
			}
			if ts, err := t.CreatedAtTime(); err == nil && !start.IsZero() && ts.Before(start) {
				older = true // before the backfill window
				continue
			}
			ms = append(ms, v1Mention(t, r.source(q.Value), q.Matched, now))
			if id := strconv.FormatInt(t.ID, 10); cur.Newest == "" || idLess(cur.Newest, id) {
				cur.Newest = id
			}
		}
		if err := r.publish(ctx, ms); err != nil {
			return err
		}
		if len(res.Statuses) == 0 || older || res.Metadata == nil || res.Metadata.NextResults == "" || minID <= 1 {
			if cur.Newest == "" {
				return nil
			}
			if err := r.saveCursor(ctx, key, searchCursor{Query: q.Value, SinceID: cur.Newest}); err != nil {
				return fmt.Errorf("search %q: save cursor: %w", q.Label, err)
			}
			return nil
		}
		cur.Page = strconv.FormatInt(minID-1, 10)
		if err := r.saveCursor(ctx, key, cur); err != nil {
			return fmt.Errorf("search %q: save cursor: %w", q.Label, err)
		}
	}
}

// errStreamEnded is what the one-shot transport answers go-twitter's own
// reconnect attempt with, so its retry goroutine ends and earshot's loop
// reconnects with X's documented backoffs instead.
var errStreamEnded = errors.New("stream connection ended")

// oneShotTransport lets one stream connection through, turns a non-200
// answer into an *APIError (go-twitter would otherwise retry on its own or
// stop silently) and watches the body for silence.
type oneShotTransport struct {
	ctx    context.Context
	next   http.RoundTripper
	used   atomic.Bool
	onData func()
}

func (t *oneShotTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.used.Swap(true) {
		return nil, errStreamEnded
	}
	resp, err := t.next.RoundTrip(req.WithContext(t.ctx))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, parseAPIError(req.URL.Path, resp)
	}
	resp.Body = &activityBody{ReadCloser: resp.Body, onData: t.onData}
	return resp, nil
}

// activityBody calls onData whenever bytes arrive.
type activityBody struct {
	io.ReadCloser
	onData func()
}

func (b *activityBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.onData()
	}
	return n, err
}

// v1Stream keeps a v1.1 statuses/filter stream open with the topics' track
// terms until ctx is done.
func (r *run) v1Stream(ctx context.Context) error {
	return r.streamLoop(ctx, nil, r.v1StreamOnce)
}

func (r *run) v1StreamOnce(ctx context.Context) (time.Duration, error) {
	connCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stalled, connected atomic.Bool
	var start time.Time
	var startMu sync.Mutex
	stall := r.cfg.StallTimeout
	timer := time.AfterFunc(stall, func() { stalled.Store(true); cancel() })
	defer timer.Stop()
	st := &oneShotTransport{ctx: connCtx, next: r.v1Chain(), onData: func() {
		if !connected.Swap(true) {
			startMu.Lock()
			start = time.Now()
			startMu.Unlock()
		}
		timer.Reset(stall)
	}}
	client := twitter.NewClient(&http.Client{Transport: st})
	var track []string
	for _, q := range r.cfg.queries {
		track = append(track, q.Track...)
	}
	stream, err := client.Streams.Filter(&twitter.StreamFilterParams{Track: track, StallWarnings: twitter.Bool(true)})
	if err != nil {
		return 0, fmt.Errorf("v1.1 stream: %w", err)
	}
	count := func(kind string) { r.src.mx.stream.WithLabelValues(r.env.Name, kind).Inc() }
	var endErr, pubErr error
	budgetSpent := false
	for msg := range stream.Messages { // drained until go-twitter closes it
		switch m := msg.(type) {
		case *twitter.Tweet:
			if budgetSpent || pubErr != nil {
				continue
			}
			count("post")
			timer.Stop()
			if err := r.budget.add(ctx, 1); err != nil {
				r.warn("cursor", "saving the read budget failed", "error", err)
			}
			if m.ID == 0 && m.IDStr == "" {
				r.warn("parse", "skipping a v1.1 status without an id")
			} else if matched, source := r.v1Matched(m); r.publish(ctx, []*pipeline.Mention{v1Mention(m, source, matched, time.Now())}) != nil {
				pubErr = ctx.Err() // publish retries until acknowledged or ctx is done
				cancel()
				continue
			}
			timer.Reset(stall)
			if r.budget.remaining() == 0 {
				budgetSpent = true
				cancel()
			}
		case *twitter.StatusDeletion:
			r.src.mx.deletions.WithLabelValues(r.env.Name).Inc()
			id := m.IDStr
			if id == "" && m.ID != 0 {
				id = strconv.FormatInt(m.ID, 10)
			}
			if id == "" || pubErr != nil {
				continue
			}
			// A tombstone: the stored mention is marked deleted. The post's
			// time comes from its snowflake id, so the tombstone lands in
			// the post's partition.
			tomb := pipeline.Tombstone(Platform, "twitter:"+id, r.env.Name+"/deletions", snowflakeTime(id), time.Now())
			if r.publish(ctx, []*pipeline.Mention{tomb}) != nil {
				pubErr = ctx.Err()
				cancel()
			}
		case *twitter.StreamDisconnect:
			count("error")
			r.warn("stream_error", "v1.1 stream disconnect notice", "code", m.Code, "reason", m.Reason)
		case *twitter.StallWarning:
			r.log.Debug("v1.1 stall warning", "code", m.Code, "message", m.Message, "percent_full", m.PercentFull)
		case *twitter.StreamLimit:
			r.warn("stream_limit", "v1.1 limit notice: matching statuses were not delivered", "undelivered", m.Track)
		case error:
			var se *json.SyntaxError
			var te *json.UnmarshalTypeError
			switch {
			case errors.As(m, &se), errors.As(m, &te):
				count("malformed")
				r.warn("parse", "skipping a malformed stream line", "error", m)
			case errors.Is(m, errStreamEnded):
			default:
				if endErr == nil {
					endErr = m
				}
			}
		default:
			r.log.Debug("unhandled v1.1 stream message", "type", fmt.Sprintf("%T", m))
		}
	}
	stream.Stop()
	startMu.Lock()
	var up time.Duration
	if connected.Load() {
		up = max(time.Since(start), time.Nanosecond)
	}
	startMu.Unlock()
	var ae *APIError
	switch {
	case pubErr != nil:
		return up, pubErr
	case budgetSpent:
		return up, ErrBudgetSpent
	case errors.As(endErr, &ae):
		return 0, ae
	case stalled.Load():
		return up, errStalled
	case endErr != nil:
		return up, fmt.Errorf("%w: %w", errDisconnected, endErr)
	}
	return up, errDisconnected
}

// snowflakeTime is when an X post id was made (zero if id is not a
// snowflake): milliseconds since 2010-11-04T01:42:54.657Z in the bits above 22.
func snowflakeTime(id string) time.Time {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n>>22 == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n>>22 + 1288834974657).UTC()
}
