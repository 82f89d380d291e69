// Package mastodonfake is a local Mastodon instance for tests. It speaks
// the wire format earshot reads:
//
//   - GET /api/v1/timelines/tag/{tag}: a JSON array of Status entities,
//     newest first, paged with max_id, since_id and min_id (limit 20 by
//     default, at most 40) and a Link header with rel="next" and
//     rel="prev";
//   - GET /api/v1/streaming/hashtag?tag=…: server-sent events `update`,
//     `status.update` (a Status) and `delete` (a status id), with `:thump`
//     heartbeats; 401 {"error": "Missing access token"} when streaming
//     needs an account;
//   - X-RateLimit-Limit/-Remaining/-Reset (ISO 8601) on every answer, 429
//     {"error": "Too many requests"}.
//
// It records every request, and which broke the announced rate limit.
package mastodonfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/connectortest"
)

// Account is a Mastodon account.
type Account struct {
	Acct        string // "alice" (local) or "bob@other.example"
	DisplayName string
	Followers   int64
}

// Status is a status on the instance.
type Status struct {
	ID          string // assigned by Add: a Mastodon snowflake of Created
	URI         string // default: <instance>/users/<acct>/statuses/<id>
	Tags        []string
	Content     string // HTML
	SpoilerText string
	Language    string
	Account     Account
	Created     time.Time
	Edited      time.Time
	InReplyToID string
	Reblog      *Status
	Favourites  int64
	Reblogs     int64
	Replies     int64

	raw string // served verbatim (malformed or oversized statuses)
}

// Request is one request the fake received.
type Request struct {
	Path   string
	Query  url.Values
	Auth   bool
	At     time.Time
	Status int
}

// Server is a running fake instance.
type Server struct {
	URL string
	// AccessToken, when set, is the token that authenticates; StreamNeedsAuth
	// makes streaming answer 401 without it, as many instances do.
	AccessToken     string
	StreamNeedsAuth bool
	Heartbeat       time.Duration // between :thump comments; default 15s

	Window *connectortest.Window // per client, over every request
	Outage connectortest.Outage

	srv *httptest.Server

	mu         sync.Mutex
	statuses   []*Status // in id order
	seq        uint64
	streams    map[chan string]string // event channel -> tag
	requests   []Request
	violations []string
}

// New starts a fake instance with a window of 300 requests per 5 minutes,
// Mastodon's default. It stops at cleanup.
func New(t testing.TB) *Server {
	s := &Server{Heartbeat: 15 * time.Second, Window: connectortest.NewWindow(300, 5*time.Minute), streams: map[chan string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(func() {
		s.CutStreams()
		s.srv.Close()
	})
	return s
}

// Host is the instance's host name (host:port).
func (s *Server) Host() string { return strings.TrimPrefix(s.URL, "http://") }

func (s *Server) nextID(at time.Time) string {
	s.seq++
	return strconv.FormatUint(uint64(at.UnixMilli())<<16|(s.seq&0xffff), 10)
}

// Add publishes statuses: they join the timelines of their tags and are
// pushed as `update` to open streams of those tags. IDs and URIs are
// assigned when empty.
func (s *Server) Add(sts ...*Status) { s.add(true, sts) }

// AddQuiet adds statuses to the timelines without pushing them to open
// streams (as if they arrived while the client was disconnected).
func (s *Server) AddQuiet(sts ...*Status) { s.add(false, sts) }

func (s *Server) add(push bool, sts []*Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range sts {
		if st.Created.IsZero() {
			st.Created = time.Now().UTC()
		}
		if st.ID == "" {
			st.ID = s.nextID(st.Created)
		}
		if st.URI == "" && st.raw == "" {
			st.URI = fmt.Sprintf("%s/users/%s/statuses/%s", s.URL, st.Account.Acct, st.ID)
		}
		s.statuses = append(s.statuses, st)
		if push {
			s.push(st.Tags, "update", st.json())
		}
	}
}

// AddRaw adds a status served verbatim under tag (in the timeline and as
// an `update` event), e.g. a malformed or oversized one. raw gets the id
// the status was given.
func (s *Server) AddRaw(tag string, raw func(id string) string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &Status{Created: time.Now().UTC(), Tags: []string{tag}}
	st.ID = s.nextID(st.Created)
	st.raw = raw(st.ID)
	s.statuses = append(s.statuses, st)
	s.push(st.Tags, "update", st.raw)
	return st.ID
}

// Edit changes a status's content, marks it edited now and pushes
// `status.update`.
func (s *Server) Edit(id, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.find(id); st != nil {
		st.Content, st.Edited = content, time.Now().UTC()
		s.push(st.Tags, "status.update", st.json())
	}
}

// Delete removes a status and pushes `delete` with its id.
func (s *Server) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.find(id); st != nil {
		s.statuses = slices.DeleteFunc(s.statuses, func(x *Status) bool { return x == st })
		s.push(st.Tags, "delete", st.ID)
	}
}

// PushDelete pushes a `delete` event for id to streams of tag without
// touching the timeline (a deletion that arrives before its status).
func (s *Server) PushDelete(tag, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.push([]string{tag}, "delete", id)
}

// PushRaw pushes a raw event block ("event: …\ndata: …") to streams of tag.
func (s *Server) PushRaw(tag, block string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch, t := range s.streams {
		if t == tag {
			select {
			case ch <- block:
			default:
			}
		}
	}
}

func (s *Server) find(id string) *Status {
	for _, st := range s.statuses {
		if st.ID == id {
			return st
		}
	}
	return nil
}

// push sends an event to the open streams of tags; s.mu is held.
func (s *Server) push(tags []string, event, data string) {
	block := "event: " + event + "\ndata: " + data
	for ch, t := range s.streams {
		if slices.Contains(tags, t) {
			select {
			case ch <- block:
			default: // a stream that does not read loses events, as on a real server
			}
		}
	}
}

// GoDown starts an outage of d: open streams are cut at once, and every
// request until it ends answers 503.
func (s *Server) GoDown(d time.Duration) {
	s.Outage.Start(d)
	s.CutStreams()
}

// CutStreams closes every open stream.
func (s *Server) CutStreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.streams {
		close(ch)
		delete(s.streams, ch)
	}
}

// OpenStreams reports how many streams are connected.
func (s *Server) OpenStreams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.streams)
}

// Requests returns every request so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Violations lists requests that broke the announced rate limit.
func (s *Server) Violations() []string {
	s.mu.Lock()
	v := slices.Clone(s.violations)
	s.mu.Unlock()
	return append(v, s.Window.Violations()...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	auth := s.AccessToken != "" && r.Header.Get("Authorization") == "Bearer "+s.AccessToken
	status := http.StatusOK
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Path: r.URL.Path, Query: r.URL.Query(), Auth: auth, At: time.Now(), Status: status})
		s.mu.Unlock()
	}()
	if s.Outage.Down() {
		status = http.StatusServiceUnavailable
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprint(w, "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>")
		return
	}
	if h := r.Header.Get("Authorization"); h != "" && !auth {
		status = http.StatusUnauthorized
		writeJSON(w, status, map[string]string{"error": "The access token is invalid"})
		return
	}
	g := s.Window.Take(r.Method+" "+r.URL.Path, time.Now())
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(g.Limit))
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(g.Remaining))
	w.Header().Set("X-RateLimit-Reset", g.Reset.UTC().Format("2006-01-02T15:04:05.000000Z"))
	if !g.OK {
		status = http.StatusTooManyRequests
		writeJSON(w, status, map[string]string{"error": "Too many requests"})
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/v1/timelines/tag/"):
		tag, _ := url.PathUnescape(strings.TrimPrefix(r.URL.Path, "/api/v1/timelines/tag/"))
		s.timeline(w, r, strings.ToLower(tag))
	case r.URL.Path == "/api/v1/streaming/hashtag":
		if s.StreamNeedsAuth && !auth {
			status = http.StatusUnauthorized
			writeJSON(w, status, map[string]string{"error": "Missing access token"})
			return
		}
		tag := strings.ToLower(r.URL.Query().Get("tag"))
		if tag == "" {
			status = http.StatusBadRequest
			writeJSON(w, status, map[string]string{"error": "Missing tag name parameter"})
			return
		}
		s.stream(w, r, tag)
	case r.URL.Path == "/api/v1/streaming/health":
		fmt.Fprint(w, "OK")
	default:
		status = http.StatusNotFound
		writeJSON(w, status, map[string]string{"error": "Record not found"})
	}
}

func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// timeline serves a hashtag timeline page as Mastodon does: max_id and
// since_id bound it, min_id gives the oldest statuses right after it;
// the page is newest first either way.
func (s *Server) timeline(w http.ResponseWriter, r *http.Request, tag string) {
	q := r.URL.Query()
	limit := 20
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 {
		limit = min(n, 40)
	}
	s.mu.Lock()
	var sel []*Status // oldest first
	for _, st := range s.statuses {
		if !slices.Contains(st.Tags, tag) {
			continue
		}
		if v := q.Get("max_id"); v != "" && !idLess(st.ID, v) {
			continue
		}
		if v := q.Get("since_id"); v != "" && !idLess(v, st.ID) {
			continue
		}
		if v := q.Get("min_id"); v != "" && !idLess(v, st.ID) {
			continue
		}
		sel = append(sel, st)
	}
	s.mu.Unlock()
	slices.SortFunc(sel, func(a, b *Status) int {
		if idLess(a.ID, b.ID) {
			return -1
		}
		return 1
	})
	if q.Get("min_id") != "" {
		sel = sel[:min(limit, len(sel))] // the oldest after min_id
	} else {
		sel = sel[max(0, len(sel)-limit):] // the newest
	}
	slices.Reverse(sel)
	body := make([]json.RawMessage, len(sel))
	for i, st := range sel {
		body[i] = json.RawMessage(st.json())
	}
	if len(sel) > 0 {
		base := s.URL + r.URL.Path
		w.Header().Set("Link", fmt.Sprintf(`<%s?limit=%d&max_id=%s>; rel="next", <%s?limit=%d&min_id=%s>; rel="prev"`,
			base, limit, sel[len(sel)-1].ID, base, limit, sel[0].ID))
	}
	writeJSON(w, http.StatusOK, body)
}

// stream serves server-sent events to one client until it leaves, the
// stream is cut or an outage starts.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, tag string) {
	fl, _ := w.(http.Flusher)
	ch := make(chan string, 256)
	s.mu.Lock()
	s.streams[ch] = tag
	hb := s.Heartbeat
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if _, ok := s.streams[ch]; ok {
			delete(s.streams, ch)
		}
		s.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ":)\n")
	fl.Flush()
	tick := time.NewTicker(hb)
	defer tick.Stop()
	outage := time.NewTicker(20 * time.Millisecond)
	defer outage.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-outage.C:
			if time.Now().Before(s.Outage.Until()) {
				return // cut by the outage
			}
		case <-tick.C:
			fmt.Fprint(w, ":thump\n")
			fl.Flush()
		case block, ok := <-ch:
			if !ok {
				return
			}
			fmt.Fprint(w, block+"\n\n")
			fl.Flush()
		}
	}
}

// json renders the status as a Mastodon Status entity.
func (st *Status) json() string {
	if st.raw != "" {
		return st.raw
	}
	raw, _ := json.Marshal(st.entity())
	return string(raw)
}

func (st *Status) entity() map[string]any {
	var lang, edited, reply, reblog any
	if st.Language != "" {
		lang = st.Language
	}
	if !st.Edited.IsZero() {
		edited = st.Edited.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	if st.InReplyToID != "" {
		reply = st.InReplyToID
	}
	if st.Reblog != nil {
		reblog = st.Reblog.entity()
	}
	tags := make([]map[string]string, len(st.Tags))
	for i, t := range st.Tags {
		tags[i] = map[string]string{"name": t, "url": "https://example.invalid/tags/" + t}
	}
	user, _, _ := strings.Cut(st.Account.Acct, "@")
	link := strings.Replace(st.URI, "/users/"+st.Account.Acct+"/statuses/", "/@"+st.Account.Acct+"/", 1)
	return map[string]any{
		"id": st.ID, "uri": st.URI, "url": link, "created_at": st.Created.UTC().Format("2006-01-02T15:04:05.000Z"),
		"edited_at": edited, "content": st.Content, "spoiler_text": st.SpoilerText, "sensitive": st.SpoilerText != "",
		"language": lang, "visibility": "public", "in_reply_to_id": reply, "in_reply_to_account_id": nil,
		"reblog": reblog, "replies_count": st.Replies, "reblogs_count": st.Reblogs, "favourites_count": st.Favourites,
		"media_attachments": []any{}, "mentions": []any{}, "tags": tags, "emojis": []any{}, "card": nil, "poll": nil,
		"account": map[string]any{
			"id": "1", "username": user, "acct": st.Account.Acct, "display_name": st.Account.DisplayName,
			"url": "https://example.invalid/@" + st.Account.Acct, "followers_count": st.Account.Followers,
			"following_count": 0, "statuses_count": 1, "bot": false, "locked": false,
		},
	}
}
