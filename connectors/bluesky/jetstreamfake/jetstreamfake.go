// Package jetstreamfake is a local Bluesky for tests: a Jetstream server
// and a public AppView on one host.
//
//   - GET /subscribe?wantedCollections=…&cursor=<time_us> upgrades to a
//     WebSocket and sends Jetstream's JSON events (kind commit with
//     operation create/update/delete, identity, account), replaying from
//     the cursor, then live.
//   - GET /xrpc/app.bsky.actor.getProfiles?actors=…(at most 25) answers
//     {"profiles": [ProfileViewDetailed]} with RateLimit-Limit/-Remaining/
//     -Reset/-Policy headers, 429 {"error": "RateLimitExceeded"} and 400
//     {"error": "InvalidRequest"} as the AppView does.
//
// It records AppView requests that broke the announced limit.
package jetstreamfake

import (
	"context"
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

	"github.com/coder/websocket"

	"github.com/earshot-dev/earshot/connectors/connectortest"
)

// Profile is an account on the fake network.
type Profile struct {
	DID, Handle, DisplayName string
	Followers                int64
}

// Post is a post record.
type Post struct {
	Text       string
	Langs      []string
	CreatedAt  time.Time
	ReplyTo    string // AT URI of the parent (root = parent)
	MentionDID string
	Link, Tag  string // a link facet's URI, a tag facet's tag
}

// Server is a running fake.
type Server struct {
	URL   string // http://host: the AppView
	WSURL string // ws://host: Jetstream

	Window *connectortest.Window // AppView requests
	Outage connectortest.Outage

	srv *httptest.Server

	mu        sync.Mutex
	events    [][]byte // the log, in time_us order
	times     []int64
	lastUS    int64
	seq       int64
	profiles  map[string]Profile
	subs      map[chan []byte]bool
	profileRq int
	batchMax  int
	asked     map[string]int // actor -> times asked
	viol      []string
}

// New starts a fake with an AppView window of 3000 requests per 5 minutes.
func New(t testing.TB) *Server {
	s := &Server{Window: connectortest.NewWindow(3000, 5*time.Minute), profiles: map[string]Profile{}, subs: map[chan []byte]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	s.WSURL = "ws" + strings.TrimPrefix(s.srv.URL, "http")
	t.Cleanup(func() { s.Cut(); s.srv.Close() })
	return s
}

// AddProfiles makes accounts known to the AppView.
func (s *Server) AddProfiles(ps ...Profile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range ps {
		s.profiles[p.DID] = p
	}
}

// nextTime is a fresh time_us, strictly increasing; s.mu is held.
func (s *Server) nextTime() int64 {
	us := time.Now().UnixMicro()
	if us <= s.lastUS {
		us = s.lastUS + 1
	}
	s.lastUS = us
	return us
}

// TID makes a record key for a time, as clients do.
func TID(t time.Time, clock int) string {
	const alphabet = "234567abcdefghijklmnopqrstuvwxyz"
	v := uint64(t.UnixMicro())<<10 | uint64(clock&1023)
	b := make([]byte, 13)
	for i := 12; i >= 0; i-- {
		b[i] = alphabet[v&31]
		v >>= 5
	}
	return string(b)
}

// emit appends an event to the log and sends it to subscribers; s.mu is held.
func (s *Server) emit(ev map[string]any) {
	us := s.nextTime()
	ev["time_us"] = us
	raw, _ := json.Marshal(ev)
	s.appendRaw(us, raw)
}

func (s *Server) appendRaw(us int64, raw []byte) {
	s.events = append(s.events, raw)
	s.times = append(s.times, us)
	for ch := range s.subs {
		select {
		case ch <- raw:
		default: // a consumer too slow loses events, as on Jetstream
		}
	}
}

func record(p Post) map[string]any {
	if p.CreatedAt.IsZero() {
		p.CreatedAt = time.Now()
	}
	rec := map[string]any{"$type": "app.bsky.feed.post", "text": p.Text, "createdAt": p.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")}
	if len(p.Langs) > 0 {
		rec["langs"] = p.Langs
	}
	if p.ReplyTo != "" {
		ref := map[string]string{"uri": p.ReplyTo, "cid": "bafyreifake"}
		rec["reply"] = map[string]any{"root": ref, "parent": ref}
	}
	var facets []any
	facet := func(feature map[string]string) {
		facets = append(facets, map[string]any{"index": map[string]int{"byteStart": 0, "byteEnd": 1}, "features": []any{feature}})
	}
	if p.MentionDID != "" {
		facet(map[string]string{"$type": "app.bsky.richtext.facet#mention", "did": p.MentionDID})
	}
	if p.Link != "" {
		facet(map[string]string{"$type": "app.bsky.richtext.facet#link", "uri": p.Link})
	}
	if p.Tag != "" {
		facet(map[string]string{"$type": "app.bsky.richtext.facet#tag", "tag": p.Tag})
	}
	if facets != nil {
		rec["facets"] = facets
	}
	return rec
}

// Create posts a record for did and returns its AT URI.
func (s *Server) Create(did string, p Post) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	rkey := TID(time.Now(), int(s.seq))
	s.emit(map[string]any{"did": did, "kind": "commit", "commit": map[string]any{"rev": rkey, "operation": "create",
		"collection": "app.bsky.feed.post", "rkey": rkey, "record": record(p), "cid": "bafyreifake" + rkey}})
	return "at://" + did + "/app.bsky.feed.post/" + rkey
}

func split(uri string) (did, rkey string) {
	rest := strings.TrimPrefix(uri, "at://")
	did, rest, _ = strings.Cut(rest, "/")
	return did, rest[strings.LastIndexByte(rest, '/')+1:]
}

// Update edits the post at uri.
func (s *Server) Update(uri string, p Post) {
	did, rkey := split(uri)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emit(map[string]any{"did": did, "kind": "commit", "commit": map[string]any{"rev": rkey + "u", "operation": "update",
		"collection": "app.bsky.feed.post", "rkey": rkey, "record": record(p), "cid": "bafyreiedit" + rkey}})
}

// Delete deletes the post at uri.
func (s *Server) Delete(uri string) {
	did, rkey := split(uri)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emit(map[string]any{"did": did, "kind": "commit", "commit": map[string]any{"rev": rkey + "d", "operation": "delete",
		"collection": "app.bsky.feed.post", "rkey": rkey}})
}

// Identity announces a handle change.
func (s *Server) Identity(did, handle string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	s.emit(map[string]any{"did": did, "kind": "identity", "identity": map[string]any{"did": did, "handle": handle, "seq": s.seq,
		"time": time.Now().UTC().Format(time.RFC3339)}})
}

// Account announces an account status change.
func (s *Server) Account(did string, active bool, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	acc := map[string]any{"did": did, "active": active, "seq": s.seq, "time": time.Now().UTC().Format(time.RFC3339)}
	if status != "" {
		acc["status"] = status
	}
	s.emit(map[string]any{"did": did, "kind": "account", "account": acc})
}

// Raw sends a raw message (malformed or oversized) in the log.
func (s *Server) Raw(raw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appendRaw(s.nextTime(), []byte(raw))
}

// Cut closes every open subscription.
func (s *Server) Cut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.subs {
		close(ch)
		delete(s.subs, ch)
	}
}

// GoDown cuts subscriptions and refuses requests for d.
func (s *Server) GoDown(d time.Duration) {
	s.Outage.Start(d)
	s.Cut()
}

// ProfileRequests reports getProfiles requests, and the most actors one asked for.
func (s *Server) ProfileRequests() (n, maxActors int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.profileRq, s.batchMax
}

// AskedTwice lists the actors getProfiles was asked for more than once.
func (s *Server) AskedTwice() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for a, n := range s.asked {
		if n > 1 {
			out = append(out, a)
		}
	}
	return out
}

// Violations lists AppView requests that broke the announced limit.
func (s *Server) Violations() []string {
	s.mu.Lock()
	v := slices.Clone(s.viol)
	s.mu.Unlock()
	return append(v, s.Window.Violations()...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if s.Outage.Down() {
		http.Error(w, "503 Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	switch r.URL.Path {
	case "/subscribe":
		s.subscribe(w, r)
	case "/xrpc/app.bsky.actor.getProfiles":
		s.getProfiles(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "MethodNotImplemented", "message": "Method Not Implemented"})
	}
}

func (s *Server) getProfiles(w http.ResponseWriter, r *http.Request) {
	g := s.Window.Take("getProfiles", time.Now())
	w.Header().Set("RateLimit-Limit", strconv.Itoa(g.Limit))
	w.Header().Set("RateLimit-Remaining", strconv.Itoa(g.Remaining))
	w.Header().Set("RateLimit-Reset", strconv.FormatInt((g.Reset.UnixMilli()+999)/1000, 10))
	w.Header().Set("RateLimit-Policy", fmt.Sprintf("%d;w=300", g.Limit))
	if !g.OK {
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"})
		return
	}
	actors := r.URL.Query()["actors"]
	s.mu.Lock()
	s.profileRq++
	s.batchMax = max(s.batchMax, len(actors))
	if s.asked == nil {
		s.asked = map[string]int{}
	}
	for _, a := range actors {
		s.asked[a]++
	}
	s.mu.Unlock()
	if len(actors) == 0 || len(actors) > 25 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "InvalidRequest",
			"message": fmt.Sprintf("Error: actors must not have more than 25 elements (got %d)", len(actors))})
		return
	}
	var out []map[string]any
	s.mu.Lock()
	for _, a := range actors {
		if p, ok := s.profiles[a]; ok {
			out = append(out, map[string]any{"did": p.DID, "handle": p.Handle, "displayName": p.DisplayName,
				"followersCount": p.Followers, "followsCount": 0, "postsCount": 1, "indexedAt": "2024-01-01T00:00:00.000Z"})
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"profiles": out})
}

func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !slices.Contains(q["wantedCollections"], "app.bsky.feed.post") {
		http.Error(w, "wantedCollections=app.bsky.feed.post expected by this fake", http.StatusBadRequest)
		return
	}
	var cursor int64
	if c := q.Get("cursor"); c != "" {
		v, err := strconv.ParseInt(c, 10, 64)
		if err != nil {
			http.Error(w, "invalid cursor", http.StatusBadRequest)
			return
		}
		cursor = v
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	ch := make(chan []byte, 100_000)
	s.mu.Lock()
	var backlog [][]byte
	if cursor > 0 {
		for i, us := range s.times {
			if us >= cursor {
				backlog = append(backlog, s.events[i])
			}
		}
	}
	s.subs[ch] = true
	s.mu.Unlock()
	ctx := conn.CloseRead(r.Context())
	send := func(b []byte) bool {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return conn.Write(wctx, websocket.MessageText, b) == nil
	}
	for _, b := range backlog {
		if !send(b) {
			return
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case b, ok := <-ch:
			if !ok {
				conn.Close(websocket.StatusGoingAway, "cut")
				return
			}
			if !send(b) {
				return
			}
		}
	}
}
