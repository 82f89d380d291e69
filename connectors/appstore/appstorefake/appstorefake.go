// Package appstorefake is a local iTunes customer-reviews feed for tests.
// It speaks the wire format of
// GET /{country}/rss/customerreviews/page={n}/id={app}/sortby=mostrecent/json:
// the iTunes RSS JSON rendering ({"feed": {"entry": [...], "link": [...],
// "author", "updated", "rights", "title", "icon", "id"}}), where every value
// is {"label": …} or {"attributes": {…}}, entries carry "im:rating",
// "im:version", "im:voteSum", "im:voteCount", "updated", "id", "title",
// "content" and "author", and the feed links name the first, last,
// previous and next pages. 50 reviews a page, 10 pages at most; a page past
// the last has no "entry"; one entry is an object, not a list. Reviews are
// sorted by "updated", newest first (an edited review moves up).
// An unknown app answers an empty feed; page > 10 answers 400.
package appstorefake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/connectortest"
)

// Review is one customer review.
type Review struct {
	ID       int64
	App      int64
	Country  string // lower case
	Author   string
	Title    string
	Content  string
	Rating   int
	Version  string
	VoteSum  int
	Updated  time.Time
	Deleted  bool
	rawEntry string
}

// Request is one request the fake received.
type Request struct {
	Path   string
	At     time.Time
	Status int
}

// Server is a running fake; URL is the base_url.
type Server struct {
	URL    string
	Window *connectortest.Window
	Outage connectortest.Outage

	srv      *httptest.Server
	mu       sync.Mutex
	reviews  []*Review
	next     int64
	requests []Request
}

// New starts a fake.
func New(t testing.TB) *Server {
	s := &Server{Window: connectortest.NewWindow(600, time.Minute), next: 11_000_000_000}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Add adds reviews, assigning ids and Updated (now) when unset.
func (s *Server) Add(rs ...*Review) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rs {
		if r.ID == 0 {
			s.next++
			r.ID = s.next
		}
		if r.Updated.IsZero() {
			r.Updated = time.Now()
		}
		s.reviews = append(s.reviews, r)
	}
}

// AddRaw adds an entry served verbatim in app's feed for country.
func (s *Server) AddRaw(app int64, country string, raw func(id int64) string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	r := &Review{ID: s.next, App: app, Country: country, Updated: time.Now()}
	r.rawEntry = raw(r.ID)
	s.reviews = append(s.reviews, r)
	return r.ID
}

// Edit changes a review's text as its author does: it is updated now.
func (s *Server) Edit(id int64, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.reviews {
		if r.ID == id {
			r.Content, r.Updated = content, time.Now()
		}
	}
}

// Delete removes a review from the feed.
func (s *Server) Delete(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.reviews {
		if r.ID == id {
			r.Deleted = true
		}
	}
}

// Requests returns every request so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

var feedPath = regexp.MustCompile(`^/([a-z]{2})/rss/customerreviews/page=(\d+)/id=(\d+)/sortby=mostrecent/json$`)

func label(v string) map[string]any { return map[string]any{"label": v} }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Path: r.URL.Path, At: time.Now(), Status: status})
		s.mu.Unlock()
	}()
	if s.Outage.Down() {
		status = http.StatusServiceUnavailable
		w.WriteHeader(status)
		return
	}
	if g := s.Window.Take("GET "+r.URL.Path, time.Now()); !g.OK {
		status = http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.FormatInt(int64((time.Until(g.Reset)+time.Second-1)/time.Second), 10))
		w.WriteHeader(status)
		return
	}
	m := feedPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		status = http.StatusNotFound
		http.NotFound(w, r)
		return
	}
	country := m[1]
	page, _ := strconv.Atoi(m[2])
	app, _ := strconv.ParseInt(m[3], 10, 64)
	if page < 1 || page > 10 {
		status = http.StatusBadRequest
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprint(w, "<html><body>CustomerReviews RSS page depth is limited to 10</body></html>")
		return
	}
	s.mu.Lock()
	var sel []*Review
	for _, rv := range s.reviews {
		if rv.App == app && rv.Country == country && !rv.Deleted {
			sel = append(sel, rv)
		}
	}
	s.mu.Unlock()
	slices.SortStableFunc(sel, func(a, b *Review) int { return b.Updated.Compare(a.Updated) })
	if len(sel) > 500 {
		sel = sel[:500]
	}
	const per = 50
	last := max(1, (len(sel)+per-1)/per)
	base := fmt.Sprintf("https://itunes.apple.com/%s/rss/customerreviews", country)
	pageURL := func(n int) string { return fmt.Sprintf("%s/page=%d/id=%d/sortby=mostrecent/json", base, n, app) }
	feed := map[string]any{
		"author":  map[string]any{"name": label("iTunes Store"), "uri": label("http://www.apple.com/" + country + "/itunes/")},
		"updated": label(time.Now().Format("2006-01-02T15:04:05-07:00")),
		"rights":  label("Copyright 2008 Apple Inc."),
		"title":   label("iTunes Store: Customer Reviews"),
		"icon":    label("http://itunes.apple.com/favicon.ico"),
		"id":      label(pageURL(page)),
		"link": []any{
			map[string]any{"attributes": map[string]any{"rel": "alternate", "type": "text/html", "href": fmt.Sprintf("https://apps.apple.com/WebObjects/MZStore.woa/wa/viewGrouping?cc=%s&id=1", country)}},
			map[string]any{"attributes": map[string]any{"rel": "self", "href": pageURL(page)}},
			map[string]any{"attributes": map[string]any{"rel": "first", "href": pageURL(1)}},
			map[string]any{"attributes": map[string]any{"rel": "last", "href": pageURL(last)}},
			map[string]any{"attributes": map[string]any{"rel": "previous", "href": pageURL(max(1, page-1))}},
			map[string]any{"attributes": map[string]any{"rel": "next", "href": pageURL(min(last, page+1))}},
		},
	}
	start := (page - 1) * per
	if start < len(sel) {
		var entries []json.RawMessage
		for _, rv := range sel[start:min(start+per, len(sel))] {
			entries = append(entries, rv.entry())
		}
		if len(entries) == 1 {
			feed["entry"] = entries[0] // the feed renders a single entry as an object
		} else {
			feed["entry"] = entries
		}
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"feed": feed})
}

func (rv *Review) entry() json.RawMessage {
	if rv.rawEntry != "" {
		return json.RawMessage(rv.rawEntry)
	}
	e := map[string]any{
		"author": map[string]any{"uri": label(fmt.Sprintf("https://itunes.apple.com/%s/reviews/id%d", rv.Country, rv.ID%100000+1)),
			"name": label(rv.Author), "label": ""},
		"updated":        label(rv.Updated.Format("2006-01-02T15:04:05-07:00")),
		"im:rating":      label(strconv.Itoa(rv.Rating)),
		"im:version":     label(rv.Version),
		"id":             label(strconv.FormatInt(rv.ID, 10)),
		"title":          label(rv.Title),
		"content":        map[string]any{"label": rv.Content, "attributes": map[string]any{"type": "text"}},
		"link":           map[string]any{"attributes": map[string]any{"rel": "related", "href": fmt.Sprintf("https://itunes.apple.com/%s/review?id=%d&type=Purple%%20Software", rv.Country, rv.App)}},
		"im:voteSum":     label(strconv.Itoa(rv.VoteSum)),
		"im:contentType": map[string]any{"attributes": map[string]any{"term": "Application", "label": "Application"}},
		"im:voteCount":   label(strconv.Itoa(max(rv.VoteSum, 0))),
	}
	raw, _ := json.Marshal(e)
	return raw
}
