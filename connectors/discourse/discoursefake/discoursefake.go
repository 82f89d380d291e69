// Package discoursefake is a local Discourse forum for tests. It speaks
// the wire format of Discourse's JSON API:
//
//   - GET /posts.json[?before=ID]: {"latest_posts": [...]}, the 50 newest
//     posts with an id below before, newest first (cooked HTML, topic_id,
//     topic_title, post_number, reply_to_post_number, reads, actions_summary
//     likes, version, updated_at);
//   - GET /t/{id}.json: the topic with title and post_stream {posts, stream};
//   - GET /posts/{id}.json and /posts/by_number/{topic}/{n}.json: one post,
//     404 {"errors": ["The requested URL or resource could not be found."],
//     "error_type": "not_found"} when deleted;
//   - GET /search.json?q=… order:latest: {"posts": [{id, blurb, …}],
//     "topics": [...], "grouped_search_result": {…}};
//   - Api-Key / Api-Username headers: a wrong key answers 403
//     {"errors": ["You are not permitted to view the requested resource."],
//     "error_type": "invalid_access"};
//   - 429 with Retry-After and {"errors": […], "error_type": "rate_limit",
//     "extras": {"wait_seconds": N}}.
package discoursefake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/connectortest"
)

// Post is one post.
type Post struct {
	ID           int64
	TopicID      int64
	PostNumber   int
	ReplyTo      int // reply_to_post_number, 0 for none
	Username     string
	Name         string
	Cooked       string
	Likes        int
	Reads        int
	Created      time.Time
	Updated      time.Time
	Version      int
	Deleted      bool
	raw          string
	topicTitleOf string
}

// Request is one request the fake received.
type Request struct {
	Path, Query string
	At          time.Time
	Status      int
	APIKey      string
}

// Server is a running fake; URL is the forum's base_url.
type Server struct {
	URL         string
	APIKey      string // when set, requests must carry it
	APIUsername string

	Window *connectortest.Window
	Outage connectortest.Outage

	srv      *httptest.Server
	mu       sync.Mutex
	posts    []*Post
	topics   map[int64]string
	next     int64
	requests []Request
}

// New starts a fake forum.
func New(t testing.TB) *Server {
	s := &Server{Window: connectortest.NewWindow(60, time.Minute), topics: map[int64]string{}, next: 1000}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Topic creates a topic with its first post and returns that post.
func (s *Server) Topic(title, username, cooked string) *Post {
	s.mu.Lock()
	s.next++
	tid := s.next
	s.topics[tid] = title
	s.mu.Unlock()
	p := &Post{TopicID: tid, PostNumber: 1, Username: username, Cooked: cooked}
	s.Add(p)
	return p
}

// Add adds posts to existing topics, assigning ids, post numbers and times.
func (s *Server) Add(ps ...*Post) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range ps {
		s.next++
		p.ID = s.next
		if p.PostNumber == 0 {
			n := 0
			for _, q := range s.posts {
				if q.TopicID == p.TopicID {
					n = max(n, q.PostNumber)
				}
			}
			p.PostNumber = n + 1
		}
		if p.Created.IsZero() {
			p.Created = time.Now()
		}
		if p.Updated.IsZero() {
			p.Updated = p.Created
		}
		if p.Version == 0 {
			p.Version = 1
		}
		s.posts = append(s.posts, p)
	}
}

// AddRaw adds a post served verbatim in /posts.json; raw gets its id.
func (s *Server) AddRaw(topic int64, raw func(id int64) string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	p := &Post{ID: s.next, TopicID: topic, Created: time.Now()}
	p.raw = raw(p.ID)
	s.posts = append(s.posts, p)
	return p.ID
}

// Edit changes a post's cooked HTML: a new version, updated now.
func (s *Server) Edit(id int64, cooked string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.find(id); p != nil {
		p.Cooked, p.Updated = cooked, time.Now()
		p.Version++
	}
}

// Delete deletes a post.
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter) int {
	writeJSON(w, http.StatusNotFound, map[string]any{"errors": []string{"The requested URL or resource could not be found."}, "error_type": "not_found"})
	return http.StatusNotFound
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Path: r.URL.Path, Query: r.URL.RawQuery, At: time.Now(), Status: status, APIKey: r.Header.Get("Api-Key")})
		s.mu.Unlock()
	}()
	if s.Outage.Down() {
		status = http.StatusBadGateway
		w.WriteHeader(status)
		return
	}
	if s.APIKey != "" && (r.Header.Get("Api-Key") != s.APIKey || r.Header.Get("Api-Username") != s.APIUsername) {
		status = http.StatusForbidden
		writeJSON(w, status, map[string]any{"errors": []string{"You are not permitted to view the requested resource."}, "error_type": "invalid_access"})
		return
	}
	if g := s.Window.Take("GET "+r.URL.Path, time.Now()); !g.OK {
		status = http.StatusTooManyRequests
		secs := int((time.Until(g.Reset) + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeJSON(w, status, map[string]any{"errors": []string{fmt.Sprintf("You’ve performed this action too many times. Please wait %d seconds before trying again.", secs)},
			"error_type": "rate_limit", "extras": map[string]any{"wait_seconds": secs, "time_left": fmt.Sprintf("%d seconds", secs)}})
		return
	}
	path := r.URL.Path
	q := r.URL.Query()
	switch {
	case path == "/posts.json":
		before := int64(1 << 62)
		if b := q.Get("before"); b != "" {
			n, err := strconv.ParseInt(b, 10, 64)
			if err != nil {
				status = http.StatusBadRequest
				writeJSON(w, status, map[string]any{"errors": []string{"before is invalid"}, "error_type": "invalid_parameters"})
				return
			}
			before = n
		}
		s.mu.Lock()
		var out []json.RawMessage
		for i := len(s.posts) - 1; i >= 0 && len(out) < 50; i-- {
			if p := s.posts[i]; !p.Deleted && p.ID < before {
				out = append(out, s.render(p))
			}
		}
		s.mu.Unlock()
		if out == nil {
			out = []json.RawMessage{}
		}
		writeJSON(w, status, map[string]any{"latest_posts": out})
	case strings.HasPrefix(path, "/t/") && strings.HasSuffix(path, ".json"):
		id, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(path, "/t/"), ".json"), 10, 64)
		s.mu.Lock()
		title, ok := s.topics[id]
		var stream []int64
		var first json.RawMessage
		for _, p := range s.posts {
			if p.TopicID == id && !p.Deleted && p.raw == "" {
				stream = append(stream, p.ID)
				if first == nil {
					first = s.render(p)
				}
			}
		}
		s.mu.Unlock()
		if !ok {
			status = notFound(w)
			return
		}
		writeJSON(w, status, map[string]any{"id": id, "title": title, "fancy_title": title, "slug": slug(title),
			"posts_count": len(stream), "post_stream": map[string]any{"posts": []json.RawMessage{first}, "stream": stream}})
	case strings.HasPrefix(path, "/posts/by_number/"):
		parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(path, "/posts/by_number/"), ".json"), "/")
		if len(parts) != 2 {
			status = notFound(w)
			return
		}
		tid, _ := strconv.ParseInt(parts[0], 10, 64)
		n, _ := strconv.Atoi(parts[1])
		s.mu.Lock()
		var out json.RawMessage
		for _, p := range s.posts {
			if p.TopicID == tid && p.PostNumber == n && !p.Deleted {
				out = s.render(p)
			}
		}
		s.mu.Unlock()
		if out == nil {
			status = notFound(w)
			return
		}
		writeJSON(w, status, out)
	case strings.HasPrefix(path, "/posts/") && strings.HasSuffix(path, ".json"):
		id, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(path, "/posts/"), ".json"), 10, 64)
		s.mu.Lock()
		var out json.RawMessage
		if p := s.find(id); p != nil && !p.Deleted {
			out = s.render(p)
		}
		s.mu.Unlock()
		if out == nil {
			status = notFound(w)
			return
		}
		writeJSON(w, status, out)
	case path == "/search.json":
		terms := strings.Fields(strings.ToLower(q.Get("q")))
		s.mu.Lock()
		var posts []map[string]any
		for i := len(s.posts) - 1; i >= 0 && len(posts) < 50; i-- {
			p := s.posts[i]
			if p.Deleted || p.raw != "" {
				continue
			}
			text := strings.ToLower(p.Cooked + " " + s.topics[p.TopicID])
			ok := true
			for _, t := range terms {
				if t != "order:latest" && !strings.Contains(text, t) {
					ok = false
				}
			}
			if ok {
				blurb := p.Cooked
				if len(blurb) > 200 {
					blurb = blurb[:200]
				}
				posts = append(posts, map[string]any{"id": p.ID, "name": p.Name, "username": p.Username, "created_at": p.Created.UTC().Format(time.RFC3339Nano),
					"like_count": p.Likes, "blurb": blurb, "post_number": p.PostNumber, "topic_id": p.TopicID})
			}
		}
		s.mu.Unlock()
		if posts == nil {
			posts = []map[string]any{}
		}
		writeJSON(w, status, map[string]any{"posts": posts, "topics": []any{}, "users": []any{}, "categories": []any{},
			"grouped_search_result": map[string]any{"more_posts": nil, "term": q.Get("q"), "search_log_id": 1}})
	default:
		status = notFound(w)
	}
}

func slug(title string) string { return strings.ReplaceAll(strings.ToLower(title), " ", "-") }

// render is a post as Discourse serializes it (the fields earshot reads
// and a few it does not). Callers hold s.mu.
func (s *Server) render(p *Post) json.RawMessage {
	if p.raw != "" {
		return json.RawMessage(p.raw)
	}
	var replyTo any
	if p.ReplyTo > 0 {
		replyTo = p.ReplyTo
	}
	title := s.topics[p.TopicID]
	m := map[string]any{
		"id": p.ID, "name": p.Name, "username": p.Username, "avatar_template": "/user_avatar/x/{size}/1.png",
		"created_at": p.Created.UTC().Format("2006-01-02T15:04:05.000Z"), "updated_at": p.Updated.UTC().Format("2006-01-02T15:04:05.000Z"),
		"cooked": p.Cooked, "post_number": p.PostNumber, "post_type": 1, "reply_count": 0, "reply_to_post_number": replyTo,
		"quote_count": 0, "incoming_link_count": 0, "reads": p.Reads, "readers_count": max(p.Reads-1, 0), "score": float64(p.Likes),
		"topic_id": p.TopicID, "topic_slug": slug(title), "topic_title": title, "topic_html_title": title, "category_id": 1,
		"display_username": p.Name, "version": p.Version, "user_id": len(p.Username), "deleted_at": nil, "user_deleted": false,
		"actions_summary": []map[string]any{{"id": 2, "count": p.Likes}},
	}
	raw, _ := json.Marshal(m)
	return raw
}
