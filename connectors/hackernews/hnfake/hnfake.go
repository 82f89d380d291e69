// Package hnfake is a local Hacker News Search API (Algolia) for tests. It
// speaks the API's wire format at /api/v1 (the base_url):
//
//   - GET /search_by_date?query=…&tags=…&numericFilters=…&page=&hitsPerPage=
//     answers {"hits": [...], "nbHits", "page", "nbPages", "hitsPerPage",
//     "exhaustiveNbHits", "query", "params", "processingTimeMS"}, newest
//     first; tags is a comma list (AND) of tags or parenthesised OR groups
//     ("(story,comment)"); numericFilters is a comma list of
//     created_at_i / points / num_comments comparisons (<, <=, =, >, >=);
//     pages beyond paginationLimitedTo (1000 hits) are empty.
//   - GET /items/{id} answers the item with its children, or 404
//     {"status": 404, "error": "Not Found"} for a deleted one.
//
// The API allows 10,000 requests per hour per IP; beyond that (or when
// told to refuse) it answers 429 with a JSON error body and Retry-After.
// Hits carry story_text / comment_text as HN's HTML.
package hnfake

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

// Item is a story or a comment.
type Item struct {
	ID          int64
	Type        string // "story" or "comment"
	Author      string
	Title       string // story
	URL         string // story link
	Text        string // HTML: story_text or comment_text
	Points      int64
	NumComments int64
	ParentID    int64 // comment
	StoryID     int64 // comment
	Created     time.Time
	Updated     time.Time
	Deleted     bool

	raw string // a raw hit served as is (malformed or oversized)
}

// Request is one request the fake received.
type Request struct {
	Path   string
	Query  url.Values
	At     time.Time
	Status int
}

// Server is a running fake; URL is the base_url (…/api/v1).
type Server struct {
	URL    string
	Window *connectortest.Window
	Outage connectortest.Outage

	srv      *httptest.Server
	mu       sync.Mutex
	items    []*Item
	next     int64
	requests []Request
}

// New starts a fake with the documented limit of 10,000 requests an hour.
func New(t testing.TB) *Server {
	s := &Server{Window: connectortest.NewWindow(10000, time.Hour), next: 40_000_000}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/", s.serve)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL + "/api/v1"
	t.Cleanup(s.srv.Close)
	return s
}

// Add adds items, assigning ids (when 0) and Created (when zero).
func (s *Server) Add(items ...*Item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range items {
		if it.ID == 0 {
			s.next++
			it.ID = s.next
		}
		if it.Created.IsZero() {
			it.Created = time.Now()
		}
		if it.Updated.IsZero() {
			it.Updated = it.Created
		}
		if it.Type == "comment" && it.StoryID == 0 {
			it.StoryID = it.ParentID
		}
		s.items = append(s.items, it)
	}
}

// AddRaw adds a hit served verbatim by searches matching its text; raw
// gets the id it was given.
func (s *Server) AddRaw(typ string, raw func(id int64) string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	it := &Item{ID: s.next, Type: typ, Created: time.Now()}
	it.Updated = it.Created
	it.raw = raw(it.ID)
	s.items = append(s.items, it)
	return it.ID
}

// Edit changes an item's text (HN allows edits for two hours).
func (s *Server) Edit(id int64, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it := s.find(id); it != nil {
		it.Text, it.Updated = text, time.Now()
	}
}

// Delete deletes an item: it leaves the index and /items answers 404.
func (s *Server) Delete(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it := s.find(id); it != nil {
		it.Deleted = true
	}
}

func (s *Server) find(id int64) *Item {
	for _, it := range s.items {
		if it.ID == id {
			return it
		}
	}
	return nil
}

// Requests returns every request so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Path: r.URL.Path, Query: r.URL.Query(), At: time.Now(), Status: status})
		s.mu.Unlock()
	}()
	if s.Outage.Down() {
		status = http.StatusBadGateway
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprint(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
		return
	}
	g := s.Window.Take(r.Method+" "+r.URL.Path, time.Now())
	if !g.OK {
		status = http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.FormatInt(int64((time.Until(g.Reset)+time.Second-1)/time.Second), 10))
		writeJSON(w, status, map[string]any{"message": "Too many requests", "status": status})
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/api/v1")
	switch {
	case path == "/search_by_date" || path == "/search":
		status = s.search(w, r.URL.Query(), path == "/search_by_date")
	case strings.HasPrefix(path, "/items/"):
		status = s.item(w, strings.TrimPrefix(path, "/items/"))
	default:
		status = http.StatusNotFound
		writeJSON(w, status, map[string]any{"status": 404, "error": "Not Found"})
	}
}

type numFilter struct {
	attr, op string
	v        int64
}

func parseNumericFilters(v string) ([]numFilter, error) {
	var out []numFilter
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		i := strings.IndexAny(f, "<>=!")
		if i <= 0 {
			return nil, fmt.Errorf("invalid numeric filter %q", f)
		}
		j := i
		for j < len(f) && strings.ContainsRune("<>=!", rune(f[j])) {
			j++
		}
		n, err := strconv.ParseInt(strings.TrimSpace(f[j:]), 10, 64)
		attr, op := strings.TrimSpace(f[:i]), f[i:j]
		if err != nil || !slices.Contains([]string{"<", "<=", "=", ">", ">=", "!="}, op) ||
			!slices.Contains([]string{"created_at_i", "points", "num_comments"}, attr) {
			return nil, fmt.Errorf("invalid numeric filter %q", f)
		}
		out = append(out, numFilter{attr, op, n})
	}
	return out, nil
}

func (f numFilter) keep(it *Item) bool {
	var x int64
	switch f.attr {
	case "created_at_i":
		x = it.Created.Unix()
	case "points":
		x = it.Points
	case "num_comments":
		x = it.NumComments
	}
	switch f.op {
	case "<":
		return x < f.v
	case "<=":
		return x <= f.v
	case "=":
		return x == f.v
	case ">":
		return x > f.v
	case ">=":
		return x >= f.v
	}
	return x != f.v
}

// tagsOf are the _tags of an item.
func (it *Item) tagsOf() []string {
	story := it.ID
	if it.Type == "comment" {
		story = it.StoryID
	}
	return []string{it.Type, "author_" + it.Author, "story_" + strconv.FormatInt(story, 10)}
}

// tagMatch applies Algolia's tags syntax: comma = AND, (a,b) = OR.
func tagMatch(filter string, tags []string) bool {
	for _, group := range splitTags(filter) {
		ok := false
		for _, t := range group {
			if slices.Contains(tags, t) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func splitTags(s string) [][]string {
	var out [][]string
	for len(s) > 0 {
		if s[0] == '(' {
			end := strings.IndexByte(s, ')')
			if end < 0 {
				end = len(s) - 1
			}
			out = append(out, strings.Split(s[1:end], ","))
			s = strings.TrimPrefix(s[end+1:], ",")
			continue
		}
		t, rest, _ := strings.Cut(s, ",")
		out = append(out, []string{t})
		s = rest
	}
	return out
}

// queryMatch: every word (or "quoted phrase") of q occurs in the item.
func queryMatch(q string, it *Item) bool {
	text := strings.ToLower(it.Title + " " + it.Text + " " + it.URL + " " + it.Author + " " + it.raw)
	q = strings.ToLower(q)
	for q != "" {
		q = strings.TrimSpace(q)
		var term string
		if strings.HasPrefix(q, `"`) {
			end := strings.IndexByte(q[1:], '"')
			if end < 0 {
				term, q = q[1:], ""
			} else {
				term, q = q[1:end+1], q[end+2:]
			}
		} else {
			term, q, _ = strings.Cut(q, " ")
		}
		if term != "" && !strings.Contains(text, term) {
			return false
		}
	}
	return true
}

func (s *Server) search(w http.ResponseWriter, q url.Values, byDate bool) int {
	bad := func(msg string) int {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": msg, "status": 400})
		return http.StatusBadRequest
	}
	filters, err := parseNumericFilters(q.Get("numericFilters"))
	if err != nil {
		return bad(err.Error())
	}
	hpp, page := 20, 0
	if v := q.Get("hitsPerPage"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1000 {
			return bad("hitsPerPage must be between 0 and 1000")
		}
		hpp = n
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return bad("page must be a non-negative integer")
		}
		page = n
	}
	s.mu.Lock()
	var sel []*Item
	for _, it := range s.items {
		if it.Deleted || !queryMatch(q.Get("query"), it) || (q.Get("tags") != "" && !tagMatch(q.Get("tags"), it.tagsOf())) {
			continue
		}
		keep := true
		for _, f := range filters {
			keep = keep && f.keep(it)
		}
		if keep {
			sel = append(sel, it)
		}
	}
	s.mu.Unlock()
	if byDate {
		slices.SortStableFunc(sel, func(a, b *Item) int { return b.Created.Compare(a.Created) })
	}
	const limit = 1000 // paginationLimitedTo
	reachable := min(len(sel), limit)
	nbPages := 0
	if hpp > 0 {
		nbPages = (reachable + hpp - 1) / hpp
	}
	hits := []json.RawMessage{}
	if start := page * hpp; start < reachable {
		for _, it := range sel[start:min(start+hpp, reachable)] {
			hits = append(hits, it.hit())
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"hits": hits, "nbHits": len(sel), "page": page, "nbPages": nbPages,
		"hitsPerPage": hpp, "exhaustiveNbHits": true, "exhaustiveTypo": true, "query": q.Get("query"),
		"params": q.Encode(), "processingTimeMS": 1})
	return http.StatusOK
}

func (it *Item) hit() json.RawMessage {
	if it.raw != "" {
		return json.RawMessage(it.raw)
	}
	h := map[string]any{
		"objectID": strconv.FormatInt(it.ID, 10), "author": it.Author,
		"created_at": it.Created.UTC().Format("2006-01-02T15:04:05Z"), "created_at_i": it.Created.Unix(),
		"updated_at": it.Updated.UTC().Format("2006-01-02T15:04:05Z"), "_tags": it.tagsOf(),
		"_highlightResult": map[string]any{"author": map[string]any{"value": it.Author, "matchLevel": "none", "matchedWords": []string{}}},
	}
	if it.Type == "story" {
		h["title"], h["points"], h["num_comments"], h["story_id"] = it.Title, it.Points, it.NumComments, it.ID
		h["url"] = nil
		if it.URL != "" {
			h["url"] = it.URL
		}
		if it.Text != "" {
			h["story_text"] = it.Text
		}
		h["children"] = []int64{}
	} else {
		h["comment_text"], h["parent_id"], h["story_id"] = it.Text, it.ParentID, it.StoryID
		h["story_title"], h["story_url"] = "a story", nil
	}
	raw, _ := json.Marshal(h)
	return raw
}

// item is GET /items/{id}.
func (s *Server) item(w http.ResponseWriter, idStr string) int {
	id, err := strconv.ParseInt(idStr, 10, 64)
	s.mu.Lock()
	var it *Item
	if err == nil {
		it = s.find(id)
	}
	var out map[string]any
	if it != nil && !it.Deleted && it.raw == "" {
		out = map[string]any{"id": it.ID, "created_at": it.Created.UTC().Format("2006-01-02T15:04:05.000Z"),
			"created_at_i": it.Created.Unix(), "type": it.Type, "author": it.Author, "text": it.Text,
			"points": nil, "parent_id": nil, "story_id": it.ID, "children": []any{}, "options": []any{}}
		if it.Type == "story" {
			out["title"], out["url"], out["points"] = it.Title, it.URL, it.Points
		} else {
			out["parent_id"], out["story_id"], out["title"], out["url"] = it.ParentID, it.StoryID, nil, nil
		}
	}
	s.mu.Unlock()
	if out == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"status": 404, "error": "Not Found"})
		return http.StatusNotFound
	}
	writeJSON(w, http.StatusOK, out)
	return http.StatusOK
}
