// Package ytfake is a local YouTube Data API v3 for tests. It speaks the
// API's wire format at /youtube/v3 (the base_url):
//
//   - GET /commentThreads?part=snippet,replies&videoId=…|id=a,b&order=time
//     &maxResults=&pageToken=&textFormat= (1 unit): threads newest first,
//     each with its top-level comment and up to 5 replies;
//   - GET /comments?part=snippet&parentId=…|id=… (1 unit): replies, oldest
//     first;
//   - GET /channels?part=contentDetails&id=… (1 unit): the uploads playlist;
//   - GET /playlistItems?part=contentDetails&playlistId=… (1 unit);
//   - GET /search?part=snippet&type=video&order=date&q=… (100 units);
//   - every request needs key=; errors are {"error": {"code", "message",
//     "errors": [{"message", "domain", "reason"}]}}: 400 keyInvalid,
//     403 quotaExceeded (the day's units are spent), 403 commentsDisabled,
//     403 rateLimitExceeded, 404 videoNotFound.
package ytfake

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

// Comment is a top-level comment (ParentID "") or a reply.
type Comment struct {
	ID        string
	VideoID   string
	ParentID  string
	Author    string
	ChannelID string
	Text      string
	Likes     int64
	Published time.Time
	Updated   time.Time
	Deleted   bool
	raw       string
}

// Video is a video with its channel.
type Video struct {
	ID, ChannelID, Title string
	Published            time.Time
	CommentsDisabled     bool
}

// Request is one request the fake received.
type Request struct {
	Path   string
	Query  map[string][]string
	At     time.Time
	Status int
	Units  int
}

// Server is a running fake.
type Server struct {
	URL    string
	Key    string
	Window *connectortest.Window
	Outage connectortest.Outage

	srv      *httptest.Server
	mu       sync.Mutex
	comments []*Comment
	videos   []*Video
	next     int
	quota    int // units left today
	used     int
	requests []Request
}

// New starts a fake with key "yt-key" and 10,000 units for the day.
func New(t testing.TB) *Server {
	s := &Server{Key: "yt-key", Window: connectortest.NewWindow(1000, 100*time.Second), quota: 10000}
	mux := http.NewServeMux()
	mux.HandleFunc("/youtube/v3/", s.serve)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL + "/youtube/v3"
	t.Cleanup(s.srv.Close)
	return s
}

// SetQuota sets the units left today.
func (s *Server) SetQuota(units int) { s.mu.Lock(); s.quota = units; s.mu.Unlock() }

// Used reports the units spent.
func (s *Server) Used() int { s.mu.Lock(); defer s.mu.Unlock(); return s.used }

// AddVideo adds a video.
func (s *Server) AddVideo(v *Video) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v.Published.IsZero() {
		v.Published = time.Now()
	}
	s.videos = append(s.videos, v)
}

// Add adds comments, assigning ids and times.
func (s *Server) Add(cs ...*Comment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		s.next++
		if c.ID == "" {
			c.ID = fmt.Sprintf("Ugz%08dAaABAg", s.next)
			if c.ParentID != "" {
				c.ID = c.ParentID + "." + fmt.Sprintf("9%07d", s.next)
			}
		}
		if c.Published.IsZero() {
			c.Published = time.Now()
		}
		if c.Updated.IsZero() {
			c.Updated = c.Published
		}
		s.comments = append(s.comments, c)
	}
}

// AddRaw adds a thread served verbatim on video; raw gets its id.
func (s *Server) AddRaw(video string, raw func(id string) string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	c := &Comment{ID: fmt.Sprintf("Ugr%08dAaABAg", s.next), VideoID: video, Published: time.Now()}
	c.raw = raw(c.ID)
	s.comments = append(s.comments, c)
	return c.ID
}

// Edit changes a comment's text; it is updated now.
func (s *Server) Edit(id, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.comments {
		if c.ID == id {
			c.Text, c.Updated = text, time.Now()
		}
	}
}

// Delete deletes a comment (a thread with its replies).
func (s *Server) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.comments {
		if c.ID == id || c.ParentID == id {
			c.Deleted = true
		}
	}
}

// Requests returns every request so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func apiError(w http.ResponseWriter, code int, domain, reason, msg string) int {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg,
		"errors": []map[string]any{{"message": msg, "domain": domain, "reason": reason}}}})
	return code
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(v)
}

var costs = map[string]int{"/commentThreads": 1, "/comments": 1, "/channels": 1, "/playlistItems": 1, "/search": 100}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	status, units := http.StatusOK, 0
	path := strings.TrimPrefix(r.URL.Path, "/youtube/v3")
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Path: path, Query: r.URL.Query(), At: time.Now(), Status: status, Units: units})
		s.mu.Unlock()
	}()
	if s.Outage.Down() {
		status = apiError(w, http.StatusServiceUnavailable, "global", "backendError", "Backend Error")
		return
	}
	q := r.URL.Query()
	if q.Get("key") != s.Key {
		status = apiError(w, http.StatusBadRequest, "usageLimits", "keyInvalid", "API key not valid. Please pass a valid API key.")
		return
	}
	cost, ok := costs[path]
	if !ok {
		status = apiError(w, http.StatusNotFound, "global", "notFound", "Not Found")
		return
	}
	s.mu.Lock()
	if s.quota < cost {
		s.mu.Unlock()
		status = apiError(w, http.StatusForbidden, "youtube.quota", "quotaExceeded",
			`The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>.`)
		return
	}
	s.quota -= cost
	s.used += cost
	units = cost
	s.mu.Unlock()
	if g := s.Window.Take("GET "+path, time.Now()); !g.OK {
		status = apiError(w, http.StatusForbidden, "youtube.quota", "rateLimitExceeded", "The request cannot be completed because you have exceeded your quota.")
		return
	}
	switch path {
	case "/commentThreads":
		status = s.threads(w, q)
	case "/comments":
		status = s.replies(w, q)
	case "/channels":
		var items []any
		for _, id := range strings.Split(q.Get("id"), ",") {
			items = append(items, map[string]any{"kind": "youtube#channel", "etag": "e", "id": id,
				"contentDetails": map[string]any{"relatedPlaylists": map[string]any{"likes": "", "uploads": "UU" + strings.TrimPrefix(id, "UC")}}})
		}
		writeJSON(w, map[string]any{"kind": "youtube#channelListResponse", "etag": "e", "pageInfo": map[string]any{"totalResults": len(items), "resultsPerPage": 5}, "items": items})
	case "/playlistItems":
		ch := "UC" + strings.TrimPrefix(q.Get("playlistId"), "UU")
		max, _ := strconv.Atoi(q.Get("maxResults"))
		if max <= 0 {
			max = 5
		}
		s.mu.Lock()
		var items []any
		for i := len(s.videos) - 1; i >= 0 && len(items) < max; i-- {
			if v := s.videos[i]; v.ChannelID == ch {
				items = append(items, map[string]any{"kind": "youtube#playlistItem", "etag": "e", "id": "pl" + v.ID,
					"contentDetails": map[string]any{"videoId": v.ID, "videoPublishedAt": v.Published.UTC().Format(time.RFC3339)}})
			}
		}
		s.mu.Unlock()
		writeJSON(w, map[string]any{"kind": "youtube#playlistItemListResponse", "etag": "e", "items": items, "pageInfo": map[string]any{"totalResults": len(items), "resultsPerPage": max}})
	case "/search":
		term := strings.ToLower(q.Get("q"))
		s.mu.Lock()
		var items []any
		for i := len(s.videos) - 1; i >= 0; i-- {
			if v := s.videos[i]; strings.Contains(strings.ToLower(v.Title), term) {
				items = append(items, map[string]any{"kind": "youtube#searchResult", "etag": "e",
					"id":      map[string]any{"kind": "youtube#video", "videoId": v.ID},
					"snippet": map[string]any{"publishedAt": v.Published.UTC().Format(time.RFC3339), "channelId": v.ChannelID, "title": v.Title}})
			}
		}
		s.mu.Unlock()
		writeJSON(w, map[string]any{"kind": "youtube#searchListResponse", "etag": "e", "regionCode": "US", "items": items,
			"pageInfo": map[string]any{"totalResults": len(items), "resultsPerPage": 25}})
	}
}

func (s *Server) video(id string) *Video {
	for _, v := range s.videos {
		if v.ID == id {
			return v
		}
	}
	return nil
}

func (c *Comment) resource() map[string]any {
	sn := map[string]any{"channelId": "UCchan", "videoId": c.VideoID, "textDisplay": c.Text, "textOriginal": c.Text,
		"authorDisplayName": "@" + c.Author, "authorProfileImageUrl": "https://yt3.ggpht.com/x", "authorChannelUrl": "http://www.youtube.com/@" + c.Author,
		"authorChannelId": map[string]any{"value": c.ChannelID}, "canRate": true, "viewerRating": "none", "likeCount": c.Likes,
		"publishedAt": c.Published.UTC().Format(time.RFC3339), "updatedAt": c.Updated.UTC().Format(time.RFC3339)}
	if c.ParentID != "" {
		sn["parentId"] = c.ParentID
	}
	return map[string]any{"kind": "youtube#comment", "etag": "e" + c.ID, "id": c.ID, "snippet": sn}
}

// page cuts items at pageToken (an offset) and maxResults.
func page[T any](items []T, q map[string][]string, def, max int) ([]T, string) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	n := def
	if v, err := strconv.Atoi(get("maxResults")); err == nil && v > 0 {
		n = min(v, max)
	}
	start, _ := strconv.Atoi(strings.TrimPrefix(get("pageToken"), "tok"))
	start = min(start, len(items))
	end := min(start+n, len(items))
	next := ""
	if end < len(items) {
		next = "tok" + strconv.Itoa(end)
	}
	return items[start:end], next
}

func (s *Server) threads(w http.ResponseWriter, q map[string][]string) int {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	s.mu.Lock()
	vid := get("videoId")
	if vid != "" {
		v := s.video(vid)
		if v == nil {
			s.mu.Unlock()
			return apiError(w, http.StatusNotFound, "youtube.commentThread", "videoNotFound", "The video identified by the <code><a href=\"/youtube/v3/docs/commentThreads/list#videoId\">videoId</a></code> parameter could not be found.")
		}
		if v.CommentsDisabled {
			s.mu.Unlock()
			return apiError(w, http.StatusForbidden, "youtube.commentThread", "commentsDisabled", "The video identified by the <code><a href=\"/youtube/v3/docs/commentThreads/list#videoId\">videoId</a></code> parameter has disabled comments.")
		}
	}
	ids := strings.Split(get("id"), ",")
	var sel []*Comment
	for _, c := range s.comments {
		if c.Deleted || c.ParentID != "" || (vid != "" && c.VideoID != vid) || (vid == "" && !slices.Contains(ids, c.ID)) {
			continue
		}
		sel = append(sel, c)
	}
	slices.SortStableFunc(sel, func(a, b *Comment) int { return b.Published.Compare(a.Published) })
	pg, next := page(sel, q, 20, 100)
	items := []json.RawMessage{}
	for _, c := range pg {
		if c.raw != "" {
			items = append(items, json.RawMessage(c.raw))
			continue
		}
		var replies []any
		total := 0
		for _, r := range s.comments {
			if r.ParentID == c.ID && !r.Deleted {
				total++
				if len(replies) < 5 {
					replies = append(replies, r.resource())
				}
			}
		}
		th := map[string]any{"kind": "youtube#commentThread", "etag": "t" + c.ID, "id": c.ID,
			"snippet": map[string]any{"channelId": "UCchan", "videoId": c.VideoID, "topLevelComment": c.resource(),
				"canReply": true, "totalReplyCount": total, "isPublic": true}}
		if total > 0 && strings.Contains(get("part"), "replies") {
			th["replies"] = map[string]any{"comments": replies}
		}
		raw, _ := json.Marshal(th)
		items = append(items, raw)
	}
	s.mu.Unlock()
	out := map[string]any{"kind": "youtube#commentThreadListResponse", "etag": "e", "items": items,
		"pageInfo": map[string]any{"totalResults": len(pg), "resultsPerPage": len(pg)}}
	if next != "" {
		out["nextPageToken"] = next
	}
	writeJSON(w, out)
	return http.StatusOK
}

func (s *Server) replies(w http.ResponseWriter, q map[string][]string) int {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	parent := get("parentId")
	ids := strings.Split(get("id"), ",")
	s.mu.Lock()
	var sel []*Comment
	for _, c := range s.comments {
		if c.Deleted || (parent != "" && c.ParentID != parent) || (parent == "" && !slices.Contains(ids, c.ID)) {
			continue
		}
		sel = append(sel, c)
	}
	pg, next := page(sel, q, 20, 100)
	items := []any{}
	for _, c := range pg {
		items = append(items, c.resource())
	}
	s.mu.Unlock()
	out := map[string]any{"kind": "youtube#commentListResponse", "etag": "e", "items": items,
		"pageInfo": map[string]any{"totalResults": len(pg), "resultsPerPage": len(pg)}}
	if next != "" {
		out["nextPageToken"] = next
	}
	writeJSON(w, out)
	return http.StatusOK
}
