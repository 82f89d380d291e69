// Package bluesky is earshot's Bluesky connector, `type: bluesky`.
//
// It reads Jetstream (GET /subscribe?wantedCollections=app.bsky.feed.post
// over WebSocket, one JSON event per message), which carries every post on
// the network. Posts that match no topic, tracked handle or tracked DID
// are dropped as early as possible and counted. The kept posts get their
// author's handle and follower count from the AppView
// (app.bsky.actor.getProfiles, 25 actors per request, cached with a TTL and
// a request budget), and are published. The cursor is the time_us of the
// last event whose kept posts were all acknowledged; a restart resumes a
// few seconds before it (duplicates are dropped by mention id).
package bluesky

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/earshot-dev/earshot/pipeline"
)

func init() {
	pipeline.RegisterConnector("bluesky", New)
}

// Platform is the platform name on every mention.
const Platform = "bluesky"

// Source is a configured bluesky connector.
type Source struct {
	cfg *settings
	hc  *http.Client

	// Knobs tests turn down.
	errBackoff     pipeline.Backoff
	publishBackoff pipeline.Backoff
	healthyAfter   time.Duration
	flushEvery     time.Duration // kept posts wait at most this long for their profiles
	cursorEvery    time.Duration // the cursor is saved at most this often when nothing is kept
	now            func() time.Time
}

var _ pipeline.Source = (*Source)(nil)

func newSource(cfg *settings) *Source {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 30 * time.Second
	return &Source{
		cfg:            cfg,
		hc:             &http.Client{Transport: t, Timeout: 30 * time.Second},
		errBackoff:     pipeline.Backoff{Min: time.Second, Max: 2 * time.Minute},
		publishBackoff: pipeline.Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second},
		healthyAfter:   time.Minute,
		flushEvery:     250 * time.Millisecond,
		cursorEvery:    time.Second,
		now:            time.Now,
	}
}

const cursorKey = "cursor"

// Run reads Jetstream until ctx is done; it returns nil on a clean stop.
func (s *Source) Run(ctx context.Context, env *pipeline.SourceEnv) error {
	if env == nil || env.Publisher == nil || env.Cursors == nil || env.Metrics == nil {
		return errors.New("bluesky: run: environment needs a publisher, a cursor store and metrics")
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	defer s.hc.CloseIdleConnections()
	r := newRun(s, env, log.With("component", "bluesky", "platform", Platform, "connector", env.Name))
	r.start = s.now()
	raw, err := env.Cursors.Get(ctx, cursorKey)
	switch {
	case err == nil:
		if c, perr := strconv.ParseInt(string(raw), 10, 64); perr == nil {
			r.saved = c
		} else {
			r.warn("cursor", "ignoring an unreadable cursor; reading from now", "error", perr)
		}
	case !errors.Is(err, pipeline.ErrNoCursor):
		r.warn("cursor", "reading the cursor failed; reading from now", "error", err)
	}
	if err := r.published.load(ctx, env.Cursors); err != nil {
		r.warn("cursor", "reading the kept posts failed; deletions of posts kept before this start will not be honoured", "error", err)
	}
	bo := s.errBackoff
	for ctx.Err() == nil {
		t0 := time.Now()
		err := r.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(t0) > s.healthyAfter {
			bo.Reset()
		}
		wait := bo.Next()
		r.warn(errType(err), "Jetstream connection ended; reconnecting", "error", err, "retry_in", wait)
		sleep(ctx, wait)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// connError is a failure of the Jetstream connection, with its metric type.
type connError struct {
	typ string
	err error
}

func (e *connError) Error() string { return e.err.Error() }
func (e *connError) Unwrap() error { return e.err }

func errType(err error) string {
	var ce *connError
	if errors.As(err, &ce) {
		return ce.typ
	}
	return "stream"
}

// subscribeURL is the Jetstream URL, resuming rewind before the cursor.
func (r *run) subscribeURL() string {
	u := r.cfg.base + "/subscribe?wantedCollections=app.bsky.feed.post"
	switch {
	case r.saved > 0:
		u += "&cursor=" + strconv.FormatInt(r.saved-r.cfg.Rewind.Microseconds(), 10)
	case r.cfg.Backfill > 0:
		u += "&cursor=" + strconv.FormatInt(r.start.Add(-r.cfg.Backfill).UnixMicro(), 10)
	}
	return u
}

// session is one Jetstream connection: it reads events until the
// connection fails, stalls or ctx ends.
func (r *run) session(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	conn, resp, err := websocket.Dial(dctx, r.subscribeURL(), &websocket.DialOptions{HTTPClient: r.src.hc,
		HTTPHeader: http.Header{"User-Agent": {"earshot (+https://github.com/earshot-dev/earshot)"}}})
	cancel()
	if err != nil {
		r.env.Metrics.Request("error")
		if resp != nil && resp.StatusCode >= 500 {
			return &connError{"http_5xx", fmt.Errorf("connect Jetstream: HTTP %d", resp.StatusCode)}
		}
		if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
			r.env.Metrics.Request("rate_limited")
		}
		return &connError{"network", fmt.Errorf("connect Jetstream: %w", err)}
	}
	r.env.Metrics.Request("ok")
	defer conn.CloseNow()
	conn.SetReadLimit(readLimit)

	frames := make(chan []byte, 1024)
	readErr := make(chan error, 1)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		defer close(frames)
		for {
			c, cancel := context.WithTimeout(rctx, r.cfg.StallTimeout)
			_, data, err := conn.Read(c)
			stalled := c.Err() == context.DeadlineExceeded
			cancel()
			if err != nil {
				if stalled {
					err = fmt.Errorf("stalled: nothing for %v", r.cfg.StallTimeout)
				}
				readErr <- &connError{"stream", fmt.Errorf("read Jetstream: %w", err)}
				return
			}
			select {
			case frames <- data:
			case <-rctx.Done():
				return
			}
		}
	}()
	tick := time.NewTicker(r.src.flushEvery)
	defer tick.Stop()
	for {
		select {
		case data, ok := <-frames:
			if !ok {
				if err := r.flush(ctx); err != nil {
					return err
				}
				select {
				case err := <-readErr:
					return err
				default:
					return ctx.Err()
				}
			}
			r.handle(data)
			if r.full() {
				if err := r.flush(ctx); err != nil {
					return err
				}
			}
		case <-tick.C:
			if err := r.flush(ctx); err != nil {
				return err
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// event is one Jetstream message.
type event struct {
	DID      string `json:"did"`
	TimeUS   int64  `json:"time_us"`
	Kind     string `json:"kind"` // commit, identity, account
	Commit   *commit
	Identity *struct {
		Handle string `json:"handle"`
	} `json:"identity"`
	Account *struct {
		Active bool   `json:"active"`
		Status string `json:"status"`
	} `json:"account"`
}

type commit struct {
	Operation  string          `json:"operation"` // create, update, delete
	Collection string          `json:"collection"`
	RKey       string          `json:"rkey"`
	Record     json.RawMessage `json:"record"`
}

// postRecord is an app.bsky.feed.post record.
type postRecord struct {
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"createdAt"`
	Langs     []string  `json:"langs"`
	Reply     *struct {
		Root   strongRef `json:"root"`
		Parent strongRef `json:"parent"`
	} `json:"reply"`
	Facets []struct {
		Features []struct {
			Type string `json:"$type"`
			URI  string `json:"uri"` // #link
			DID  string `json:"did"` // #mention
			Tag  string `json:"tag"` // #tag
		} `json:"features"`
	} `json:"facets"`
}

type strongRef struct {
	URI string `json:"uri"`
}

// atURI is the post's AT URI, its stable id.
func atURI(did, rkey string) string { return "at://" + did + "/app.bsky.feed.post/" + rkey }

func mentionID(uri string) string { return Platform + ":" + uri }

// handle processes one Jetstream message.
func (r *run) handle(data []byte) {
	if len(data) > r.cfg.MaxItemBytes {
		r.warn("oversized", "skipping a Jetstream event larger than max_item_bytes", "bytes", len(data), "max_item_bytes", r.cfg.MaxItemBytes)
		return
	}
	var ev event
	if err := json.Unmarshal(data, &ev); err != nil || ev.DID == "" || ev.TimeUS <= 0 {
		if err == nil {
			err = errors.New("no did or time_us")
		}
		r.warn("malformed", "skipping a malformed Jetstream event", "error", err)
		return
	}
	r.last = max(r.last, ev.TimeUS)
	switch ev.Kind {
	case "commit":
		if ev.Commit == nil || ev.Commit.Collection != "app.bsky.feed.post" || ev.Commit.RKey == "" {
			return
		}
		r.commit(&ev)
	case "identity":
		if ev.Identity != nil && ev.Identity.Handle != "" {
			r.profiles.setHandle(ev.DID, ev.Identity.Handle, r.src.now())
		}
	case "account":
		if ev.Account != nil && !ev.Account.Active {
			r.log.Debug("account inactive", "did", ev.DID, "status", ev.Account.Status)
		}
	}
}

func (r *run) commit(ev *event) {
	c := ev.Commit
	uri := atURI(ev.DID, c.RKey)
	if c.Operation == "delete" {
		if !r.published.has(uri) {
			r.skipped++ // a post earshot did not keep
			return
		}
		r.pending = append(r.pending, pipeline.Tombstone(Platform, mentionID(uri), "jetstream", tidTime(c.RKey), r.src.now()))
		return
	}
	if c.Operation != "create" && c.Operation != "update" {
		return
	}
	var rec postRecord
	if err := json.Unmarshal(c.Record, &rec); err != nil {
		r.warn("malformed", "skipping a malformed post record", "uri", uri, "error", err)
		return
	}
	m := &pipeline.Mention{
		ID:          mentionID(uri),
		Platform:    Platform,
		Source:      "jetstream",
		Kind:        pipeline.KindPost,
		Author:      pipeline.Author{ID: ev.DID},
		Text:        rec.Text,
		CreatedAt:   rec.CreatedAt,
		CollectedAt: r.src.now(),
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = time.UnixMicro(ev.TimeUS).UTC()
	}
	if len(rec.Langs) > 0 {
		m.Lang = rec.Langs[0]
	}
	if rec.Reply != nil && rec.Reply.Parent.URI != "" {
		m.Kind = pipeline.KindReply
		m.ParentID = mentionID(rec.Reply.Parent.URI)
		m.ConversationID = mentionID(rec.Reply.Root.URI)
	}
	if c.Operation == "update" {
		m.EditedAt = time.UnixMicro(ev.TimeUS).UTC()
	}
	// Facets: a link's full URI (the text may show it shortened) and tags
	// go to the entities the enrich stage completes; mentions are in the
	// text as @handle.
	for _, f := range rec.Facets {
		for _, ft := range f.Features {
			switch {
			case ft.Type == "app.bsky.richtext.facet#link" && ft.URI != "":
				m.Enrichment.Links = append(m.Enrichment.Links, ft.URI)
			case ft.Type == "app.bsky.richtext.facet#tag" && ft.Tag != "":
				m.Enrichment.Hashtags = append(m.Enrichment.Hashtags, strings.ToLower(strings.TrimPrefix(ft.Tag, "#")))
			}
		}
	}
	if p, ok := r.profiles.get(ev.DID, r.src.now()); ok {
		applyProfile(m, p)
	}
	if !r.keep(m, &rec) {
		r.skipped++
		return
	}
	r.pending = append(r.pending, m)
}

// keep reports whether a post matches a tracked DID or handle or a topic.
func (r *run) keep(m *pipeline.Mention, rec *postRecord) bool {
	if r.cfg.dids[m.Author.ID] {
		return true
	}
	for _, f := range rec.Facets {
		for _, ft := range f.Features {
			if ft.DID != "" && r.cfg.dids[ft.DID] {
				return true
			}
		}
	}
	if len(r.cfg.handles) > 0 && strings.IndexByte(m.Text, '@') >= 0 {
		lower := strings.ToLower(m.Text)
		for _, h := range r.cfg.handles {
			if strings.Contains(lower, "@"+h) {
				return true
			}
		}
	}
	if r.env.Matcher == nil {
		return false
	}
	ids, _ := r.env.Matcher.Match(m)
	if len(ids) == 0 {
		return false
	}
	m.MatchedRule = ids[0]
	return true
}

func applyProfile(m *pipeline.Mention, p profile) {
	m.Author.Handle, m.Author.Name, m.Author.Followers = p.Handle, p.Name, p.Followers
}

// postURL is the post's web address.
func postURL(m *pipeline.Mention) string {
	who := m.Author.Handle
	if who == "" || who == "handle.invalid" {
		who = m.Author.ID
	}
	rkey := m.ID[strings.LastIndexByte(m.ID, '/')+1:]
	return "https://bsky.app/profile/" + who + "/post/" + rkey
}

// tidTime is when a record key (a TID) was made: microseconds since the
// epoch in its upper 53 bits, in base32-sortable.
func tidTime(rkey string) time.Time {
	const alphabet = "234567abcdefghijklmnopqrstuvwxyz"
	if len(rkey) != 13 {
		return time.Time{}
	}
	var v uint64
	for i := 0; i < len(rkey); i++ {
		d := strings.IndexByte(alphabet, rkey[i])
		if d < 0 {
			return time.Time{}
		}
		v = v<<5 | uint64(d)
	}
	return time.UnixMicro(int64(v >> 10)).UTC()
}
