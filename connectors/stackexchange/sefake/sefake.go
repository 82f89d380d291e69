// Package sefake is a local Stack Exchange API 2.3 for tests. It speaks
// the API's wire format at /2.3 (the base_url):
//
//   - GET /questions, /answers, /comments and /search/advanced?q=… with
//     site, sort=creation, order=desc, fromdate/todate (unix seconds,
//     inclusive), page (from 1), pagesize (at most 100), filter and key;
//   - GET /questions/{ids}, /answers/{ids}, /comments/{ids} (ids joined
//     by ';', at most 100);
//   - every answer is the common wrapper {"items": [...], "has_more",
//     "quota_max", "quota_remaining", "backoff"?}, gzip-compressed
//     (Content-Encoding: gzip) whatever the request asked for;
//   - errors are HTTP 400 (404 for an unknown method) with {"error_id",
//     "error_message", "error_name"}: 400 bad_parameter (an unknown site or
//     sort), 403 access_denied (a wrong key), 502 throttle_violation (too
//     many requests; "more requests available in N seconds"), which also
//     answers every request once the daily quota is spent.
//
// The body field is only included with filter=withbody. The fake records
// requests that came before a method's announced backoff expired, or
// during a throttle window, as violations.
package sefake

import (
	"compress/gzip"
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

// Post is a question, answer or comment.
type Post struct {
	Type        string // "question", "answer" or "comment"
	ID          int64
	Site        string
	Title       string // question
	Body        string // HTML
	Owner       string
	OwnerID     int64
	Reputation  int64
	Tags        []string
	Score       int64
	AnswerCount int64
	ViewCount   int64
	IsAnswered  bool
	QuestionID  int64 // answer
	PostID      int64 // comment: the question or answer
	Created     time.Time
	LastEdit    time.Time
	Deleted     bool

	raw string
}

// Request is one request the fake received.
type Request struct {
	Path    string
	Query   url.Values
	At      time.Time
	Status  int
	Gzipped bool // the request accepted gzip
}

// Server is a running fake; URL is the base_url (…/2.3).
type Server struct {
	URL   string
	Key   string // when set, requests with another key answer 403
	Sites []string

	// Throttle is the per-IP request window (30 a second, as documented).
	Throttle *connectortest.Window
	Outage   connectortest.Outage

	srv        *httptest.Server
	mu         sync.Mutex
	posts      []*Post
	next       int64
	quotaMax   int
	quotaLeft  int
	backoff    map[string]int       // method -> seconds announced on its next answer
	backoffEnd map[string]time.Time // method -> announced backoff end
	requests   []Request
	violations []string
}

// New starts a fake serving sites stackoverflow and superuser with a daily
// quota of 10,000 (a registered key's quota).
func New(t testing.TB) *Server {
	s := &Server{Sites: []string{"stackoverflow", "superuser"}, Throttle: connectortest.NewWindow(30, time.Second),
		next: 79_000_000, quotaMax: 10000, quotaLeft: 10000, backoff: map[string]int{}, backoffEnd: map[string]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/2.3/", s.serve)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL + "/2.3"
	t.Cleanup(s.srv.Close)
	return s
}

// SetQuota sets the daily quota and what is left of it.
func (s *Server) SetQuota(max, left int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quotaMax, s.quotaLeft = max, left
}

// QuotaLeft reports the quota left.
func (s *Server) QuotaLeft() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.quotaLeft
}

// Backoff makes the next answer of method (e.g. "/questions") carry
// "backoff": seconds.
func (s *Server) Backoff(method string, seconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.backoff[method] = seconds
}

// Add adds posts, assigning ids (when 0), the site (default stackoverflow)
// and Created (when zero).
func (s *Server) Add(posts ...*Post) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range posts {
		if p.ID == 0 {
			s.next++
			p.ID = s.next
		}
		if p.Site == "" {
			p.Site = "stackoverflow"
		}
		if p.Created.IsZero() {
			p.Created = time.Now()
		}
		s.posts = append(s.posts, p)
	}
}

// AddRaw adds an item served verbatim in its type's listings.
func (s *Server) AddRaw(typ, site string, raw func(id int64) string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	p := &Post{Type: typ, ID: s.next, Site: site, Created: time.Now()}
	p.raw = raw(p.ID)
	s.posts = append(s.posts, p)
	return p.ID
}

// Edit changes a post's body and sets its last_edit_date to now.
func (s *Server) Edit(id int64, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.find(id); p != nil {
		p.Body, p.LastEdit = body, time.Now()
	}
}

// Delete deletes a post: it disappears from every answer.
func (s *Server) Delete(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.find(id); p != nil {
		p.Deleted = true
	}
}

func (s *Server) find(id int64) *Post {
	for _, p := range s.posts {
		if p.ID == id {
			return p
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

// Violations lists requests made during an announced backoff or throttle.
func (s *Server) Violations() []string {
	s.mu.Lock()
	v := slices.Clone(s.violations)
	s.mu.Unlock()
	return append(v, s.Throttle.Violations()...)
}

// write sends v gzip-compressed, as the API always does.
func write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Encoding", "gzip")
	w.WriteHeader(status)
	gz := gzip.NewWriter(w)
	_ = json.NewEncoder(gz).Encode(v)
	_ = gz.Close()
}

func apiError(id int, name, msg string) map[string]any {
	return map[string]any{"error_id": id, "error_name": name, "error_message": msg}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	method := strings.TrimPrefix(r.URL.Path, "/2.3")
	if i := strings.LastIndexByte(method, '/'); i > 0 && method != "/search/advanced" {
		method = method[:i] // /questions/{ids} -> /questions
	}
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Path: r.URL.Path, Query: r.URL.Query(), At: time.Now(), Status: status,
			Gzipped: strings.Contains(r.Header.Get("Accept-Encoding"), "gzip")})
		s.mu.Unlock()
	}()
	if s.Outage.Down() {
		status = http.StatusServiceUnavailable
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprint(w, "<html><body>Service Unavailable</body></html>")
		return
	}
	now := time.Now()
	q := r.URL.Query()
	s.mu.Lock()
	if end, ok := s.backoffEnd[method]; ok && now.Before(end) {
		s.violations = append(s.violations, fmt.Sprintf("GET %s at %s, backoff announced until %s", method,
			now.Format("15:04:05.000"), end.Format("15:04:05.000")))
	}
	keyOK := s.Key == "" || q.Get("key") == s.Key
	quotaOut := s.quotaLeft <= 0
	s.mu.Unlock()
	if !keyOK {
		status = http.StatusBadRequest
		write(w, status, apiError(403, "access_denied", "`key` is not valid for passed access_token, token not found."))
		return
	}
	if quotaOut {
		status = http.StatusBadRequest
		secs := int(time.Until(now.Truncate(24*time.Hour).Add(24*time.Hour)) / time.Second)
		write(w, status, apiError(502, "throttle_violation", fmt.Sprintf("too many requests from this IP, more requests available in %d seconds", secs)))
		return
	}
	if g := s.Throttle.Take("GET "+method, now); !g.OK {
		status = http.StatusBadRequest
		secs := int((time.Until(g.Reset) + time.Second - 1) / time.Second)
		write(w, status, apiError(502, "throttle_violation", fmt.Sprintf("too many requests from this IP, more requests available in %d seconds", secs)))
		return
	}
	if !slices.Contains(s.Sites, q.Get("site")) {
		status = http.StatusBadRequest
		write(w, status, apiError(400, "bad_parameter", "site is required"))
		return
	}
	var typ string
	switch method {
	case "/questions", "/search/advanced":
		typ = "question"
	case "/answers":
		typ = "answer"
	case "/comments":
		typ = "comment"
	default:
		status = http.StatusNotFound
		write(w, status, apiError(404, "no_method", "method not recognized"))
		return
	}
	if v := q.Get("sort"); v != "" && v != "creation" && v != "activity" && v != "votes" && !(method == "/search/advanced" && v == "relevance") {
		status = http.StatusBadRequest
		write(w, status, apiError(400, "bad_parameter", "sort"))
		return
	}
	var ids []int64
	if rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/2.3"), method); rest != "" && method != "/search/advanced" {
		for _, p := range strings.Split(strings.TrimPrefix(rest, "/"), ";") {
			n, err := strconv.ParseInt(p, 10, 64)
			if err != nil {
				status = http.StatusBadRequest
				write(w, status, apiError(400, "bad_parameter", "ids"))
				return
			}
			ids = append(ids, n)
		}
		if len(ids) > 100 {
			status = http.StatusBadRequest
			write(w, status, apiError(400, "bad_parameter", "ids: at most 100"))
			return
		}
	}
	from, _ := strconv.ParseInt(q.Get("fromdate"), 10, 64)
	terms := strings.Fields(strings.ToLower(strings.ReplaceAll(q.Get("q"), `"`, " ")))
	s.mu.Lock()
	var sel []*Post
	for _, p := range s.posts {
		if p.Deleted || p.Type != typ || p.Site != q.Get("site") || p.Created.Unix() < from {
			continue
		}
		if ids != nil && !slices.Contains(ids, p.ID) {
			continue
		}
		text := strings.ToLower(p.Title + " " + p.Body + " " + p.raw)
		ok := true
		for _, t := range terms {
			ok = ok && strings.Contains(text, t)
		}
		if ok {
			sel = append(sel, p)
		}
	}
	s.quotaLeft--
	left, qmax := s.quotaLeft, s.quotaMax
	backoff := s.backoff[method]
	delete(s.backoff, method)
	if backoff > 0 {
		s.backoffEnd[method] = now.Add(time.Duration(backoff) * time.Second)
	}
	s.mu.Unlock()
	if ids == nil {
		slices.SortStableFunc(sel, func(a, b *Post) int { return b.Created.Compare(a.Created) })
	}
	page, size := 1, 30
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 {
		page = n
	}
	if n, err := strconv.Atoi(q.Get("pagesize")); err == nil && n >= 0 {
		if n > 100 {
			status = http.StatusBadRequest
			write(w, status, apiError(400, "bad_parameter", "pagesize"))
			return
		}
		size = n
	}
	start := min((page-1)*size, len(sel))
	end := min(start+size, len(sel))
	items := make([]json.RawMessage, 0, end-start)
	for _, p := range sel[start:end] {
		items = append(items, p.item(q.Get("filter") == "withbody"))
	}
	out := map[string]any{"items": items, "has_more": end < len(sel), "quota_max": qmax, "quota_remaining": left}
	if backoff > 0 {
		out["backoff"] = backoff
	}
	write(w, status, out)
}

func (p *Post) item(withBody bool) json.RawMessage {
	if p.raw != "" {
		return json.RawMessage(p.raw)
	}
	owner := map[string]any{"account_id": p.OwnerID + 1000, "reputation": p.Reputation, "user_id": p.OwnerID,
		"user_type": "registered", "display_name": p.Owner,
		"link": fmt.Sprintf("https://%s.com/users/%d/%s", p.Site, p.OwnerID, strings.ToLower(p.Owner))}
	host := p.Site + ".com"
	m := map[string]any{"owner": owner, "score": p.Score, "creation_date": p.Created.Unix(), "content_license": "CC BY-SA 4.0"}
	if !p.LastEdit.IsZero() && p.Type != "comment" {
		m["last_edit_date"] = p.LastEdit.Unix()
	}
	if withBody {
		m["body"] = p.Body
	}
	switch p.Type {
	case "question":
		m["question_id"], m["title"], m["tags"], m["is_answered"] = p.ID, p.Title, p.Tags, p.IsAnswered
		m["view_count"], m["answer_count"], m["last_activity_date"] = p.ViewCount, p.AnswerCount, p.Created.Unix()
		m["link"] = fmt.Sprintf("https://%s/questions/%d/%s", host, p.ID, strings.ReplaceAll(strings.ToLower(p.Title), " ", "-"))
		if p.Tags == nil {
			m["tags"] = []string{}
		}
	case "answer":
		m["answer_id"], m["question_id"], m["is_accepted"], m["last_activity_date"] = p.ID, p.QuestionID, p.IsAnswered, p.Created.Unix()
	case "comment":
		m["comment_id"], m["post_id"], m["edited"] = p.ID, p.PostID, !p.LastEdit.IsZero()
	}
	raw, _ := json.Marshal(m)
	return raw
}
