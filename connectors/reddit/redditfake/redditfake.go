// Package redditfake is a local Reddit for tests. It speaks Reddit's wire
// format: the OAuth2 application-only token endpoint (POST
// /api/v1/access_token, HTTP basic auth, grant_type=client_credentials),
// and on the same host the oauth.reddit.com endpoints earshot reads
// (GET /r/{sub}/new, /r/{sub}/comments, /search, /api/info) answering
// Listing JSON ({"kind": "Listing", "data": {"children": [{"kind": "t3",
// "data": {…}}], "after", "before"}}) paged with after/before/limit, with
// X-Ratelimit-Used/-Remaining/-Reset headers, 429, and Reddit's JSON
// error bodies ({"message": "Forbidden", "error": 403}).
//
// It records every request, and which broke the announced rate limit or
// came without a bearer token or a descriptive User-Agent.
package redditfake

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

// Item is a post (Kind "t3") or a comment ("t1").
type Item struct {
	Kind        string // t3 or t1
	ID          string // base36; assigned by Add when empty
	Subreddit   string
	Title       string // posts
	Body        string // selftext of a post, body of a comment
	Author      string
	Created     time.Time
	Score       int64
	NumComments int64
	ParentID    string // comments: fullname of the parent
	LinkID      string // comments: fullname of the post
	Edited      time.Time

	raw string // a raw child JSON served as is (malformed or oversized items)
}

// Name is the item's fullname.
func (it *Item) Name() string { return it.Kind + "_" + it.ID }

// Request is one request the fake received.
type Request struct {
	Method, Path string
	Query        url.Values
	At           time.Time
	Status       int
}

// Server is a running fake.
type Server struct {
	URL          string
	ClientID     string
	ClientSecret string
	TokenTTL     time.Duration

	Window *connectortest.Window // per client, over every API request
	Outage connectortest.Outage

	srv *httptest.Server

	mu         sync.Mutex
	items      []*Item // in creation order
	next       int64
	tokens     map[string]time.Time
	requests   []Request
	violations []string
}

// New starts a fake with client id "client" and secret "secret", and a
// window of 600 requests per 10 minutes as Reddit announces for OAuth
// clients. It stops at cleanup.
func New(t testing.TB) *Server {
	s := &Server{ClientID: "client", ClientSecret: "secret", TokenTTL: 24 * time.Hour,
		Window: connectortest.NewWindow(600, 10*time.Minute), tokens: map[string]time.Time{}, next: 1_000_000}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// AuthURL is the token endpoint.
func (s *Server) AuthURL() string { return s.URL + "/api/v1/access_token" }

// Add adds items; their ids are assigned in order when empty, and Created
// defaults to now.
func (s *Server) Add(items ...*Item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range items {
		if it.ID == "" {
			s.next++
			it.ID = strconv.FormatInt(s.next, 36)
		}
		if it.Created.IsZero() {
			it.Created = time.Now()
		}
		s.items = append(s.items, it)
	}
}

// AddRaw adds a child served verbatim in kind's listings of sub, e.g. a
// malformed or oversized one. It returns the fullname it was given.
func (s *Server) AddRaw(kind, sub string, raw func(name string) string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	it := &Item{Kind: kind, ID: strconv.FormatInt(s.next, 36), Subreddit: sub, Created: time.Now()}
	it.raw = raw(it.Name())
	s.items = append(s.items, it)
	return it.Name()
}

// Edit changes an item's text and marks it edited now.
func (s *Server) Edit(name, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it := s.find(name); it != nil {
		it.Body, it.Edited = body, time.Now()
	}
}

// Delete deletes an item as its author does: body and author become
// "[deleted]".
func (s *Server) Delete(name string) { s.replace(name, "[deleted]", "[deleted]") }

// Remove removes an item as a moderator does: the body becomes "[removed]".
func (s *Server) Remove(name string) { s.replace(name, "[removed]", "") }

func (s *Server) replace(name, body, author string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it := s.find(name); it != nil {
		it.Body = body
		if author != "" {
			it.Author = author
		}
	}
}

func (s *Server) find(name string) *Item {
	for _, it := range s.items {
		if it.Name() == name {
			return it
		}
	}
	return nil
}

// RevokeTokens invalidates every token issued so far, as Reddit does when
// an app's secret is rotated: the next API requests answer 401.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.tokens {
		s.tokens[k] = time.Time{}
	}
}

// Requests returns every request so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Violations lists requests that broke the announced rate limit, or that
// Reddit's API rules forbid (no bearer token, no descriptive User-Agent).
func (s *Server) Violations() []string {
	s.mu.Lock()
	v := slices.Clone(s.violations)
	s.mu.Unlock()
	return append(v, s.Window.Violations()...)
}

func (s *Server) record(r *http.Request, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), At: time.Now(), Status: status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// errorBody is Reddit's JSON error body.
func errorBody(status int) map[string]any {
	return map[string]any{"message": http.StatusText(status), "error": status}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	defer func() { s.record(r, status) }()
	if s.Outage.Down() {
		status = http.StatusServiceUnavailable
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(status)
		fmt.Fprint(w, "<!doctype html><html><title>Ow! -- reddit.com</title><body>all of our servers are busy right now</body></html>")
		return
	}
	if r.URL.Path == "/api/v1/access_token" {
		status = s.token(w, r)
		return
	}
	if ua := r.UserAgent(); ua == "" || strings.HasPrefix(ua, "Go-http-client") {
		s.mu.Lock()
		s.violations = append(s.violations, fmt.Sprintf("%s %s without a descriptive User-Agent (%q)", r.Method, r.URL.Path, ua))
		s.mu.Unlock()
	}
	if !s.authorized(r) {
		status = http.StatusUnauthorized
		w.Header().Set("www-authenticate", `Bearer realm="reddit", error="invalid_token"`)
		writeJSON(w, status, errorBody(status))
		return
	}
	g := s.Window.Take(r.Method+" "+r.URL.Path, time.Now())
	w.Header().Set("X-Ratelimit-Used", strconv.Itoa(g.Used))
	w.Header().Set("X-Ratelimit-Remaining", strconv.FormatFloat(float64(g.Remaining), 'f', 1, 64))
	w.Header().Set("X-Ratelimit-Reset", strconv.FormatInt(int64((time.Until(g.Reset)+time.Second-1)/time.Second), 10))
	if !g.OK {
		status = http.StatusTooManyRequests
		writeJSON(w, status, errorBody(status))
		return
	}
	if r.Method != http.MethodGet {
		status = http.StatusMethodNotAllowed
		writeJSON(w, status, errorBody(status))
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	switch {
	case len(parts) == 3 && parts[0] == "r" && parts[2] == "new":
		s.listing(w, q, func(it *Item) bool { return it.Kind == "t3" && strings.EqualFold(it.Subreddit, parts[1]) })
	case len(parts) == 3 && parts[0] == "r" && parts[2] == "comments":
		s.listing(w, q, func(it *Item) bool { return it.Kind == "t1" && strings.EqualFold(it.Subreddit, parts[1]) })
	case r.URL.Path == "/search":
		if q.Get("sort") != "new" {
			status = http.StatusBadRequest
			writeJSON(w, status, errorBody(status))
			return
		}
		terms := searchTerms(q.Get("q"))
		s.listing(w, q, func(it *Item) bool { return it.Kind == "t3" && matches(it, terms) })
	case r.URL.Path == "/api/info":
		s.info(w, q)
	default:
		status = http.StatusNotFound
		writeJSON(w, status, errorBody(status))
	}
}

// token is POST /api/v1/access_token.
func (s *Server) token(w http.ResponseWriter, r *http.Request) int {
	id, secret, ok := r.BasicAuth()
	if r.Method != http.MethodPost || !ok || id != s.ClientID || secret != s.ClientSecret {
		writeJSON(w, http.StatusUnauthorized, errorBody(http.StatusUnauthorized))
		return http.StatusUnauthorized
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusOK, map[string]any{"error": "unsupported_grant_type"})
		return http.StatusOK
	}
	s.mu.Lock()
	tok := fmt.Sprintf("fake-token-%d", len(s.tokens)+1)
	s.tokens[tok] = time.Now().Add(s.TokenTTL)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "bearer",
		"expires_in": int(s.TokenTTL / time.Second), "scope": "*"})
	return http.StatusOK
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[h[7:]]
	return ok && time.Now().Before(exp)
}

// searchTerms splits a query on OR into lower-cased terms, quotes removed.
func searchTerms(q string) []string {
	var out []string
	for _, t := range strings.Split(q, " OR ") {
		if t = strings.ToLower(strings.Trim(strings.TrimSpace(t), `"()`)); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func matches(it *Item, terms []string) bool {
	text := strings.ToLower(it.Title + " " + it.Body + " " + it.raw)
	for _, t := range terms {
		if strings.Contains(text, t) {
			return true
		}
	}
	return false
}

// listing serves the items keep selects, newest first, paged as Reddit
// pages: limit (default 25, at most 100), after (older than that fullname)
// or before (newer than it).
func (s *Server) listing(w http.ResponseWriter, q url.Values, keep func(*Item) bool) {
	s.mu.Lock()
	var sel []*Item
	for i := len(s.items) - 1; i >= 0; i-- {
		if keep(s.items[i]) {
			sel = append(sel, s.items[i])
		}
	}
	s.mu.Unlock()
	slices.SortStableFunc(sel, func(a, b *Item) int { return b.Created.Compare(a.Created) })
	limit := 25
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 {
		limit = min(n, 100)
	}
	start, end := 0, len(sel)
	if a := q.Get("after"); a != "" {
		i := slices.IndexFunc(sel, func(it *Item) bool { return it.Name() == a })
		start = i + 1
		if i < 0 {
			start = len(sel) // Reddit answers an empty page for an unknown anchor
		}
	}
	if b := q.Get("before"); b != "" {
		i := slices.IndexFunc(sel, func(it *Item) bool { return it.Name() == b })
		if i < 0 {
			i = 0
		}
		end = i
		start = max(0, end-limit)
	}
	page := sel[start:min(end, start+limit)]
	var after, before any
	if start+len(page) < len(sel) && len(page) > 0 {
		after = page[len(page)-1].Name()
	}
	if start > 0 && len(page) > 0 {
		before = page[0].Name()
	}
	writeListing(w, page, after, before)
}

// info is GET /api/info?id=t3_a,t1_b: those items, in the order asked.
func (s *Server) info(w http.ResponseWriter, q url.Values) {
	s.mu.Lock()
	var out []*Item
	for _, name := range strings.Split(q.Get("id"), ",") {
		if it := s.find(name); it != nil {
			out = append(out, it)
		}
	}
	s.mu.Unlock()
	writeListing(w, out, nil, nil)
}

func writeListing(w http.ResponseWriter, items []*Item, after, before any) {
	children := make([]json.RawMessage, 0, len(items))
	for _, it := range items {
		children = append(children, it.child())
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": "Listing", "data": map[string]any{
		"after": after, "before": before, "dist": len(children), "modhash": "", "geo_filter": "",
		"children": children}})
}

// child renders an item as Reddit does (the fields earshot reads, and a
// few it does not).
func (it *Item) child() json.RawMessage {
	if it.raw != "" {
		return json.RawMessage(it.raw)
	}
	var edited any = false
	if !it.Edited.IsZero() {
		edited = float64(it.Edited.Unix())
	}
	d := map[string]any{
		"id": it.ID, "name": it.Name(), "subreddit": it.Subreddit, "subreddit_name_prefixed": "r/" + it.Subreddit,
		"author": it.Author, "author_fullname": "t2_" + strings.ToLower(it.Author), "created_utc": float64(it.Created.Unix()),
		"created": float64(it.Created.Unix()), "score": it.Score, "ups": it.Score, "edited": edited,
		"archived": false, "locked": false, "stickied": false, "gilded": 0, "distinguished": nil,
	}
	if it.Author == "[deleted]" {
		delete(d, "author_fullname")
	}
	if it.Kind == "t1" {
		postID := strings.TrimPrefix(it.LinkID, "t3_")
		d["body"] = it.Body
		d["parent_id"] = it.ParentID
		d["link_id"] = it.LinkID
		d["permalink"] = fmt.Sprintf("/r/%s/comments/%s/comment/%s/", it.Subreddit, postID, it.ID)
		d["link_permalink"] = fmt.Sprintf("https://www.reddit.com/r/%s/comments/%s/", it.Subreddit, postID)
	} else {
		d["title"] = it.Title
		d["selftext"] = it.Body
		d["is_self"] = true
		d["num_comments"] = it.NumComments
		d["permalink"] = fmt.Sprintf("/r/%s/comments/%s/post/", it.Subreddit, it.ID)
		d["url"] = "https://www.reddit.com" + d["permalink"].(string)
		d["removed_by_category"] = nil
		if it.Body == "[removed]" {
			d["removed_by_category"] = "moderator"
		}
	}
	raw, _ := json.Marshal(map[string]any{"kind": it.Kind, "data": d})
	return raw
}
