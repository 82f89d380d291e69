// Package xfake is a local fake of the X API for contract tests: v2 recent
// search, counts, the filtered stream and its rules, and the v1.1 search and
// statuses/filter endpoints go-twitter calls. It speaks the documented wire
// formats (JSON bodies, "\r\n"-delimited streams with keep-alives, problem
// bodies, x-rate-limit-* headers), enforces per-endpoint rate-limit windows,
// and records every request so tests can check how a client behaved.
package xfake

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// User is an X account.
type User struct {
	ID        string
	Username  string
	Name      string
	Followers int64
	Verified  bool
}

// Ref is a referenced post: Type is "replied_to", "quoted" or "retweeted".
type Ref struct {
	Type string
	ID   string
}

// Post is a post the fake serves.
type Post struct {
	ID              string // numeric, as X's
	AuthorID        string
	Text            string // as the author wrote it; served with &, < and > escaped, as X does
	NoteText        string // long posts: the full text (v2 note_tweet)
	CreatedAt       time.Time
	Lang            string
	ConversationID  string
	InReplyToUserID string
	Refs            []Ref
	Likes, Reposts  int64
	Replies, Quotes int64
	Views           int64
	// Matches lists the X queries (search query, rule value) this post
	// matches; the fake does not evaluate X's query language.
	Matches []string
}

// Rule is a filtered stream rule.
type Rule struct {
	ID    string `json:"id"`
	Value string `json:"value"`
	Tag   string `json:"tag,omitempty"`
}

// Request is one request the fake received.
type Request struct {
	At     time.Time
	Method string
	Path   string
	Query  url.Values
	Body   string
	Status int
}

// Quota is a rate-limit window: Limit requests per Window.
type Quota struct {
	Limit  int
	Window time.Duration
}

type quotaState struct {
	Quota
	remaining int
	reset     time.Time // a whole second, as x-rate-limit-reset is
}

type failure struct {
	status int
}

// Server is a running fake X API.
type Server struct {
	URL string

	// BearerToken is the token every request must carry (v2; v1.1 app-only).
	BearerToken string
	// OAuth 1.0a credentials v1.1 accepts (verified HMAC-SHA1 signatures).
	ConsumerKey, ConsumerSecret, AccessToken, AccessSecret string
	// KeepAlive is the interval of "\r\n" keep-alives on streams (X: 20 s).
	KeepAlive time.Duration

	hs     *httptest.Server
	closed chan struct{}

	mu          sync.Mutex
	users       map[string]User
	posts       map[string]*Post
	rules       []Rule
	nextRule    int
	quotas      map[string]*quotaState
	fails       map[string][]failure
	forbidden   bool
	reqs        []Request
	violations  []string
	events      []event
	eventsCh    chan struct{}
	conns       int
	maxConns    int
	connects    int
	delivered   []string
	reads       int
	trackParams []string
}

// New starts a fake on a random loopback port; it stops at test cleanup.
func New(t testing.TB) *Server {
	s := &Server{
		BearerToken: "test-bearer-token",
		KeepAlive:   100 * time.Millisecond,
		closed:      make(chan struct{}),
		users:       map[string]User{},
		posts:       map[string]*Post{},
		quotas:      map[string]*quotaState{},
		fails:       map[string][]failure{},
		eventsCh:    make(chan struct{}, 1),
		nextRule:    1,
	}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.hs.URL
	t.Cleanup(s.Close)
	return s
}

// Close stops the server, ending open streams.
func (s *Server) Close() {
	select {
	case <-s.closed:
		return
	default:
	}
	close(s.closed)
	s.hs.CloseClientConnections()
	s.hs.Close()
}

// ID returns the n-th test post id: large numeric ids like X's, increasing with n.
func ID(n int) string { return strconv.FormatInt(1790000000000000000+int64(n), 10) }

// AddUsers adds accounts.
func (s *Server) AddUsers(us ...User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range us {
		s.users[u.ID] = u
	}
}

// AddPosts adds posts (searchable at once; streamed when pushed).
func (s *Server) AddPosts(ps ...Post) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range ps {
		p := p
		if p.CreatedAt.IsZero() {
			p.CreatedAt = time.Now().Add(-time.Minute)
		}
		s.posts[p.ID] = &p
	}
}

// SetQuota sets the rate-limit window of an endpoint path, e.g.
// "/2/tweets/search/recent". Endpoints without one allow 1000 per 15 min.
func (s *Server) SetQuota(path string, q Quota) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quotas[path] = &quotaState{Quota: q}
}

// Fail makes the next n requests to path answer status with X's documented
// body for it (401, 403, 429, 503). A 429 also spends the path's window
// until about a second ahead.
func (s *Server) Fail(path string, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails[path] = append(s.fails[path], failure{status: status})
	}
}

// SetForbidden makes every v2 request answer 403 client-not-enrolled.
func (s *Server) SetForbidden(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forbidden = v
}

// SetRules replaces the stream rules (e.g. to plant foreign or stale rules).
func (s *Server) SetRules(rs ...Rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = nil
	for _, r := range rs {
		if r.ID == "" {
			r.ID = s.ruleID()
		}
		s.rules = append(s.rules, r)
	}
}

// Rules returns the current stream rules.
func (s *Server) Rules() []Rule {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rules)
}

func (s *Server) ruleID() string {
	id := strconv.FormatInt(1500000000000000000+int64(s.nextRule), 10)
	s.nextRule++
	return id
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// RequestsTo returns the requests to one path.
func (s *Server) RequestsTo(method, path string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Path == path && (method == "" || r.Method == method) {
			out = append(out, r)
		}
	}
	return out
}

// Violations lists requests that arrived while their endpoint's window was
// spent, before its reset: a client honouring the headers makes none.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.violations)
}

// Reads is how many posts the fake returned (in data, search and streams):
// what X bills.
func (s *Server) Reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// Delivered lists the post ids written completely to stream connections.
func (s *Server) Delivered() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.delivered)
}

// StreamConnects is how many stream connections were accepted;
// MaxConcurrentStreams the most open at once.
func (s *Server) StreamConnects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connects
}

// MaxConcurrentStreams is the most stream connections open at once.
func (s *Server) MaxConcurrentStreams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxConns
}

// OpenStreams is how many stream connections are open now.
func (s *Server) OpenStreams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// TrackParams lists the track parameter of each v1.1 filter connection.
func (s *Server) TrackParams() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.trackParams)
}

// Stream events, written in order to whichever stream connection is open.
type event struct {
	kind string // post, raw, cut, close, stall, delete
	id   string
	raw  string
}

func (s *Server) push(evs ...event) {
	s.mu.Lock()
	s.events = append(s.events, evs...)
	s.mu.Unlock()
	select {
	case s.eventsCh <- struct{}{}:
	default:
	}
}

// StreamPosts queues posts (added with AddPosts) for the stream. On v2 a
// post is sent only if it matches a current rule, with matching_rules.
func (s *Server) StreamPosts(ids ...string) {
	for _, id := range ids {
		s.push(event{kind: "post", id: id})
	}
}

// StreamRaw queues a raw line (e.g. malformed JSON, an error object).
func (s *Server) StreamRaw(line string) { s.push(event{kind: "raw", raw: line}) }

// StreamOperationalDisconnect queues X's operational-disconnect error
// message followed by the end of the connection.
func (s *Server) StreamOperationalDisconnect() {
	s.push(event{kind: "raw", raw: `{"errors":[{"title":"operational-disconnect","disconnect_type":"UpstreamOperationalDisconnect","detail":"This stream has been disconnected upstream for operational reasons.","type":"https://api.twitter.com/2/problems/operational-disconnect"}]}`},
		event{kind: "close"})
}

// StreamCut writes the first half of the next queued post and drops the
// connection; the post stays queued and is sent whole on the next one.
func (s *Server) StreamCut() { s.push(event{kind: "cut"}) }

// StreamClose ends the connection cleanly.
func (s *Server) StreamClose() { s.push(event{kind: "close"}) }

// StreamStall stops writing anything, keep-alives included, until the
// client goes away.
func (s *Server) StreamStall() { s.push(event{kind: "stall"}) }

// StreamDelete queues a v1.1 status deletion notice (ignored on v2).
func (s *Server) StreamDelete(id string) { s.push(event{kind: "delete", id: id}) }

// PendingEvents is how many stream events are not yet written.
func (s *Server) PendingEvents() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

// ---- HTTP ----

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	rec := Request{At: time.Now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: string(body)}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	s.mu.Lock()
	idx := len(s.reqs)
	s.reqs = append(s.reqs, rec)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.reqs[idx].Status = sw.status
		s.mu.Unlock()
	}()
	v1 := strings.HasPrefix(r.URL.Path, "/1.1/")
	if !s.authorized(r, v1) {
		if v1 {
			writeJSON(sw, http.StatusUnauthorized, `{"errors":[{"code":32,"message":"Could not authenticate you."}]}`)
		} else {
			writeJSON(sw, http.StatusUnauthorized, `{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}`)
		}
		return
	}
	s.mu.Lock()
	forbidden := s.forbidden && !v1
	s.mu.Unlock()
	if forbidden {
		writeProblem(sw, http.StatusForbidden, false)
		return
	}
	if !s.rateLimit(sw, r, v1, rec.At) {
		return
	}
	switch {
	case r.URL.Path == "/2/tweets/search/recent" && r.Method == http.MethodGet:
		s.searchRecent(sw, r)
	case r.URL.Path == "/2/tweets/counts/recent" && r.Method == http.MethodGet:
		s.countsRecent(sw, r)
	case r.URL.Path == "/2/tweets/search/stream/rules" && r.Method == http.MethodGet:
		s.listRules(sw, r)
	case r.URL.Path == "/2/tweets/search/stream/rules" && r.Method == http.MethodPost:
		s.changeRules(sw, body)
	case r.URL.Path == "/2/tweets/search/stream" && r.Method == http.MethodGet:
		s.stream(sw, r, false)
	case r.URL.Path == "/1.1/search/tweets.json" && r.Method == http.MethodGet:
		s.v1Search(sw, r)
	case r.URL.Path == "/1.1/statuses/filter.json" && r.Method == http.MethodPost:
		s.stream(sw, r, true)
	default:
		if v1 {
			writeJSON(sw, http.StatusNotFound, `{"errors":[{"code":34,"message":"Sorry, that page does not exist."}]}`)
		} else {
			writeJSON(sw, http.StatusNotFound, `{"title":"Not Found Error","detail":"Sorry, that page does not exist.","type":"https://api.twitter.com/2/problems/resource-not-found","status":404}`)
		}
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }
func (w *statusWriter) Flush()               { w.ResponseWriter.(http.Flusher).Flush() }

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func writeValue(w http.ResponseWriter, status int, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	writeJSON(w, status, string(raw))
}

// writeProblem writes X's documented error body for a status.
func writeProblem(w http.ResponseWriter, status int, v1 bool) {
	if v1 {
		switch status {
		case http.StatusTooManyRequests:
			writeJSON(w, status, `{"errors":[{"code":88,"message":"Rate limit exceeded"}]}`)
		case http.StatusUnauthorized:
			writeJSON(w, status, `{"errors":[{"code":32,"message":"Could not authenticate you."}]}`)
		case http.StatusForbidden:
			writeJSON(w, status, `{"errors":[{"code":453,"message":"You currently have access to a subset of Twitter API v2 endpoints and limited v1.1 endpoints only."}]}`)
		default:
			writeJSON(w, status, `{"errors":[{"code":130,"message":"Over capacity"}]}`)
		}
		return
	}
	switch status {
	case http.StatusTooManyRequests:
		writeJSON(w, status, `{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}`)
	case http.StatusUnauthorized:
		writeJSON(w, status, `{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}`)
	case http.StatusForbidden:
		writeJSON(w, status, `{"client_id":"28130581","detail":"When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project. You can create a project via the developer portal.","registration_url":"https://developer.twitter.com/en/docs/projects/overview","title":"Client Forbidden","required_enrollment":"Appropriate Level of API Access","reason":"client-not-enrolled","type":"https://api.twitter.com/2/problems/client-forbidden"}`)
	default:
		writeJSON(w, status, fmt.Sprintf(`{"title":%q,"detail":%q,"type":"about:blank","status":%d}`,
			http.StatusText(status), http.StatusText(status), status))
	}
}

// rateLimit applies the endpoint's window and scripted failures. It writes
// the response and returns false when the request is refused.
func (s *Server) rateLimit(w http.ResponseWriter, r *http.Request, v1 bool, at time.Time) bool {
	s.mu.Lock()
	q := s.quotas[r.URL.Path]
	if q == nil {
		q = &quotaState{Quota: Quota{Limit: 1000, Window: 15 * time.Minute}}
		s.quotas[r.URL.Path] = q
	}
	if !q.reset.IsZero() && q.remaining == 0 && at.Before(q.reset) {
		s.violations = append(s.violations, fmt.Sprintf("%s %s at %s, window spent until %s",
			r.Method, r.URL.Path, at.Format("15:04:05.000"), q.reset.Format("15:04:05.000")))
	}
	if q.reset.IsZero() || !at.Before(q.reset) {
		q.remaining = q.Limit
		q.reset = ceilSecond(at.Add(q.Window))
	}
	var fail *failure
	if fs := s.fails[r.URL.Path]; len(fs) > 0 {
		fail = &fs[0]
		s.fails[r.URL.Path] = fs[1:]
		if fail.status == http.StatusTooManyRequests {
			q.remaining = 0
			q.reset = ceilSecond(at.Add(time.Second))
		}
	}
	refused := fail != nil || q.remaining == 0
	if !refused {
		q.remaining--
	}
	w.Header().Set("x-rate-limit-limit", strconv.Itoa(q.Limit))
	w.Header().Set("x-rate-limit-remaining", strconv.Itoa(q.remaining))
	w.Header().Set("x-rate-limit-reset", strconv.FormatInt(q.reset.Unix(), 10))
	s.mu.Unlock()
	switch {
	case fail != nil:
		writeProblem(w, fail.status, v1)
		return false
	case refused:
		writeProblem(w, http.StatusTooManyRequests, v1)
		return false
	}
	return true
}

func ceilSecond(t time.Time) time.Time {
	if t.Truncate(time.Second).Equal(t) {
		return t
	}
	return t.Truncate(time.Second).Add(time.Second)
}

// authorized checks the bearer token, or on v1.1 an OAuth 1.0a header whose
// HMAC-SHA1 signature is verified against the URL the request arrived at.
func (s *Server) authorized(r *http.Request, v1 bool) bool {
	h := r.Header.Get("Authorization")
	if h == "Bearer "+s.BearerToken && s.BearerToken != "" {
		return true
	}
	if !v1 || s.ConsumerKey == "" || !strings.HasPrefix(h, "OAuth ") {
		return false
	}
	params := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(h, "OAuth "), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return false
		}
		uv, err := url.QueryUnescape(strings.Trim(v, `"`))
		if err != nil {
			return false
		}
		params[k] = uv
	}
	if params["oauth_consumer_key"] != s.ConsumerKey || params["oauth_token"] != s.AccessToken {
		return false
	}
	sig := params["oauth_signature"]
	delete(params, "oauth_signature")
	all := []string{}
	add := func(k, v string) { all = append(all, pct(k)+"="+pct(v)) }
	for k, v := range params {
		add(k, v)
	}
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			add(k, v)
		}
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		raw, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(raw)))
		form, _ := url.ParseQuery(string(raw))
		for k, vs := range form {
			for _, v := range vs {
				add(k, v)
			}
		}
	}
	sort.Strings(all)
	base := r.Method + "&" + pct("http://"+r.Host+r.URL.Path) + "&" + pct(strings.Join(all, "&"))
	mac := hmac.New(sha1.New, []byte(pct(s.ConsumerSecret)+"&"+pct(s.AccessSecret)))
	mac.Write([]byte(base))
	return hmac.Equal([]byte(sig), []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil))))
}

// pct is OAuth 1.0a percent-encoding (RFC 3986 unreserved kept).
func pct(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// ---- v2 search and counts ----

func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// matching returns posts matching q, newest first. s.mu is held.
func (s *Server) matching(q string) []*Post {
	var out []*Post
	for _, p := range s.posts {
		if slices.Contains(p.Matches, q) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return idLess(out[j].ID, out[i].ID) })
	return out
}

func invalid(w http.ResponseWriter, param, msg string) {
	writeValue(w, http.StatusBadRequest, map[string]any{
		"errors": []any{map[string]any{"parameters": map[string][]string{param: {}}, "message": msg}},
		"title":  "Invalid Request", "detail": "One or more parameters to your request was invalid.",
		"type": "https://api.twitter.com/2/problems/invalid-request",
	})
}

func (s *Server) searchRecent(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	query := q.Get("query")
	if query == "" {
		invalid(w, "query", "The `query` query parameter can not be empty")
		return
	}
	max := 10
	if v := q.Get("max_results"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 || n > 100 {
			invalid(w, "max_results", fmt.Sprintf("The `max_results` query parameter value [%s] is not between 10 and 100", v))
			return
		}
		max = n
	}
	var start time.Time
	if v := q.Get("start_time"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			invalid(w, "start_time", "Invalid 'start_time':'"+v+"'")
			return
		}
		start = t
	}
	since, token := q.Get("since_id"), q.Get("next_token")
	s.mu.Lock()
	if p, ok := s.posts[since]; ok && p.CreatedAt.Before(time.Now().Add(-7*24*time.Hour)) {
		s.mu.Unlock()
		invalid(w, "since_id", "Invalid 'since_id':'"+since+"'. 'since_id' must be a tweet id created after "+
			time.Now().Add(-7*24*time.Hour).UTC().Format("2006-01-02T15:04Z")+".")
		return
	}
	s.mu.Unlock()
	until := ""
	if token != "" {
		if !strings.HasPrefix(token, "b26v89c19zqg8o3f") {
			invalid(w, "next_token", "The `next_token` query parameter value ["+token+"] is not valid")
			return
		}
		until = strings.TrimPrefix(token, "b26v89c19zqg8o3f")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var page []*Post
	more := false
	for _, p := range s.matching(query) {
		if since != "" && !idLess(since, p.ID) || until != "" && !idLess(p.ID, until) || !start.IsZero() && p.CreatedAt.Before(start) {
			continue
		}
		if len(page) == max {
			more = true
			break
		}
		page = append(page, p)
	}
	s.reads += len(page)
	meta := map[string]any{"result_count": len(page)}
	resp := map[string]any{"meta": meta}
	if len(page) > 0 {
		meta["newest_id"], meta["oldest_id"] = page[0].ID, page[len(page)-1].ID
		resp["data"], resp["includes"] = s.v2Render(page, q)
	}
	if more {
		meta["next_token"] = "b26v89c19zqg8o3f" + page[len(page)-1].ID
	}
	writeValue(w, http.StatusOK, resp)
}

func (s *Server) countsRecent(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	query := q.Get("query")
	if query == "" {
		invalid(w, "query", "The `query` query parameter can not be empty")
		return
	}
	now := time.Now().UTC()
	start := now.Add(-7 * 24 * time.Hour)
	if v := q.Get("start_time"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			invalid(w, "start_time", "Invalid 'start_time':'"+v+"'")
			return
		}
		start = t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	type bucket struct {
		End        string `json:"end"`
		Start      string `json:"start"`
		TweetCount int    `json:"tweet_count"`
	}
	var data []bucket
	total := 0
	for b := start.Truncate(time.Hour); b.Before(now); b = b.Add(time.Hour) {
		n := 0
		for _, p := range s.matching(query) {
			if !p.CreatedAt.Before(b) && p.CreatedAt.Before(b.Add(time.Hour)) && !p.CreatedAt.Before(start) {
				n++
			}
		}
		total += n
		data = append(data, bucket{End: b.Add(time.Hour).Format("2006-01-02T15:04:05.000Z"), Start: b.Format("2006-01-02T15:04:05.000Z"), TweetCount: n})
	}
	writeValue(w, http.StatusOK, map[string]any{"data": data, "meta": map[string]any{"total_tweet_count": total}})
}

// v2Render renders posts with the fields and expansions the request asked
// for, as X does: unrequested fields are absent. s.mu is held.
func (s *Server) v2Render(posts []*Post, q url.Values) ([]map[string]any, map[string]any) {
	exp := strings.Split(q.Get("expansions"), ",")
	tf := strings.Split(q.Get("tweet.fields"), ",")
	uf := strings.Split(q.Get("user.fields"), ",")
	data := make([]map[string]any, 0, len(posts))
	var users []map[string]any
	var tweets []map[string]any
	seenU, seenT := map[string]bool{}, map[string]bool{}
	addUser := func(id string) {
		u, ok := s.users[id]
		if !ok || seenU[id] {
			return
		}
		seenU[id] = true
		m := map[string]any{"id": u.ID, "name": u.Name, "username": u.Username}
		if slices.Contains(uf, "verified") {
			m["verified"] = u.Verified
		}
		if slices.Contains(uf, "public_metrics") {
			m["public_metrics"] = map[string]any{"followers_count": u.Followers, "following_count": 10, "tweet_count": 100, "listed_count": 1}
		}
		users = append(users, m)
	}
	for _, p := range posts {
		data = append(data, s.v2Tweet(p, tf))
		if slices.Contains(exp, "author_id") {
			addUser(p.AuthorID)
		}
		for _, ref := range p.Refs {
			rp, ok := s.posts[ref.ID]
			if !ok || !slices.Contains(exp, "referenced_tweets.id") || seenT[ref.ID] {
				continue
			}
			seenT[ref.ID] = true
			tweets = append(tweets, s.v2Tweet(rp, tf))
			if slices.Contains(exp, "referenced_tweets.id.author_id") {
				addUser(rp.AuthorID)
			}
		}
	}
	inc := map[string]any{}
	if len(users) > 0 {
		inc["users"] = users
	}
	if len(tweets) > 0 {
		inc["tweets"] = tweets
	}
	return data, inc
}

func (s *Server) v2Tweet(p *Post, tf []string) map[string]any {
	m := map[string]any{"id": p.ID, "text": xEscape(p.Text), "edit_history_tweet_ids": []string{p.ID}}
	has := func(f string) bool { return slices.Contains(tf, f) }
	if has("author_id") {
		m["author_id"] = p.AuthorID
	}
	if has("created_at") {
		m["created_at"] = p.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	if has("lang") && p.Lang != "" {
		m["lang"] = p.Lang
	}
	if has("conversation_id") {
		c := p.ConversationID
		if c == "" {
			c = p.ID
		}
		m["conversation_id"] = c
	}
	if has("in_reply_to_user_id") && p.InReplyToUserID != "" {
		m["in_reply_to_user_id"] = p.InReplyToUserID
	}
	if has("referenced_tweets") && len(p.Refs) > 0 {
		var refs []map[string]string
		for _, r := range p.Refs {
			refs = append(refs, map[string]string{"type": r.Type, "id": r.ID})
		}
		m["referenced_tweets"] = refs
	}
	if has("public_metrics") {
		m["public_metrics"] = map[string]int64{"retweet_count": p.Reposts, "reply_count": p.Replies,
			"like_count": p.Likes, "quote_count": p.Quotes, "bookmark_count": 0, "impression_count": p.Views}
	}
	if has("note_tweet") && p.NoteText != "" {
		m["note_tweet"] = map[string]any{"text": xEscape(p.NoteText)}
	}
	if has("entities") {
		m["entities"] = map[string]any{}
	}
	return m
}

// ---- v2 rules ----

func (s *Server) listRules(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	meta := map[string]any{"sent": time.Now().UTC().Format(time.RFC3339Nano), "result_count": len(s.rules)}
	resp := map[string]any{"meta": meta}
	if len(s.rules) > 0 {
		resp["data"] = s.rules
	}
	writeValue(w, http.StatusOK, resp)
}

func (s *Server) changeRules(w http.ResponseWriter, body []byte) {
	var req struct {
		Add    []Rule `json:"add"`
		Delete *struct {
			IDs []string `json:"ids"`
		} `json:"delete"`
	}
	if err := json.Unmarshal(body, &req); err != nil || (req.Add == nil) == (req.Delete == nil) {
		writeValue(w, http.StatusBadRequest, map[string]any{"errors": []any{map[string]any{"message": "Request must contain exactly one of add or delete"}},
			"title": "Invalid Request", "detail": "One or more parameters to your request was invalid.", "type": "https://api.twitter.com/2/problems/invalid-request"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sent := time.Now().UTC().Format(time.RFC3339Nano)
	if req.Delete != nil {
		deleted := 0
		var errs []any
		for _, id := range req.Delete.IDs {
			i := slices.IndexFunc(s.rules, func(r Rule) bool { return r.ID == id })
			if i < 0 {
				errs = append(errs, map[string]any{"id": id, "title": "Not Found Error", "type": "https://api.twitter.com/2/problems/resource-not-found"})
				continue
			}
			s.rules = slices.Delete(s.rules, i, i+1)
			deleted++
		}
		resp := map[string]any{"meta": map[string]any{"sent": sent, "summary": map[string]int{"deleted": deleted, "not_deleted": len(req.Delete.IDs) - deleted}}}
		if errs != nil {
			resp["errors"] = errs
		}
		writeValue(w, http.StatusOK, resp)
		return
	}
	var created []Rule
	var errs []any
	for _, r := range req.Add {
		switch {
		case strings.TrimSpace(r.Value) == "" || strings.Contains(r.Value, "((("):
			errs = append(errs, map[string]any{"value": r.Value, "details": []string{"Rule is invalid"}, "title": "Invalid Rule", "type": "https://api.twitter.com/2/problems/invalid-rules"})
		case slices.ContainsFunc(s.rules, func(x Rule) bool { return x.Value == r.Value }):
			id := s.rules[slices.IndexFunc(s.rules, func(x Rule) bool { return x.Value == r.Value })].ID
			errs = append(errs, map[string]any{"value": r.Value, "id": id, "title": "DuplicateRule", "type": "https://api.twitter.com/2/problems/duplicate-rules"})
		default:
			r.ID = s.ruleID()
			s.rules = append(s.rules, r)
			created = append(created, r)
		}
	}
	resp := map[string]any{"meta": map[string]any{"sent": sent, "summary": map[string]int{
		"created": len(created), "not_created": len(req.Add) - len(created), "valid": len(created), "invalid": len(req.Add) - len(created)}}}
	if created != nil {
		resp["data"] = created
	}
	if errs != nil {
		resp["errors"] = errs
	}
	writeValue(w, http.StatusCreated, resp)
}

// ---- streams ----

// nextEvent waits for the next stream event; it returns ok=false for a
// keep-alive tick and done=true when the connection must end.
func (s *Server) nextEvent(ctx context.Context, tick <-chan time.Time) (ev event, ok, done bool) {
	for {
		s.mu.Lock()
		if len(s.events) > 0 {
			ev = s.events[0]
			s.mu.Unlock()
			return ev, true, false
		}
		s.mu.Unlock()
		select {
		case <-s.eventsCh:
		case <-tick:
			return event{}, false, false
		case <-ctx.Done():
			return event{}, false, true
		case <-s.closed:
			return event{}, false, true
		}
	}
}

func (s *Server) pop() {
	s.mu.Lock()
	if len(s.events) > 0 {
		s.events = s.events[1:]
	}
	s.mu.Unlock()
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, v1 bool) {
	if v1 {
		_ = r.ParseForm()
		s.mu.Lock()
		s.trackParams = append(s.trackParams, r.Form.Get("track"))
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.conns++
	s.connects++
	s.maxConns = max(s.maxConns, s.conns)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.conns--
		s.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	fl.Flush()
	ticker := time.NewTicker(s.KeepAlive)
	defer ticker.Stop()
	q := r.URL.Query()
	write := func(line string) bool {
		if _, err := io.WriteString(w, line+"\r\n"); err != nil {
			return false
		}
		fl.Flush()
		return true
	}
	for {
		ev, ok, done := s.nextEvent(r.Context(), ticker.C)
		if done {
			return
		}
		if !ok {
			if !write("") {
				return
			}
			continue
		}
		switch ev.kind {
		case "post":
			line, send := s.renderStreamPost(ev.id, q, v1)
			s.pop()
			if !send {
				continue
			}
			if !write(line) {
				return
			}
			s.mu.Lock()
			s.delivered = append(s.delivered, ev.id)
			s.reads++
			s.mu.Unlock()
		case "raw":
			s.pop()
			if !write(ev.raw) {
				return
			}
		case "delete":
			s.pop()
			if v1 && !write(fmt.Sprintf(`{"delete":{"status":{"id":%s,"id_str":"%s","user_id":3,"user_id_str":"3"}}}`, ev.id, ev.id)) {
				return
			}
		case "close":
			s.pop()
			return
		case "cut":
			s.pop()
			s.mu.Lock()
			var next *event
			for i := range s.events {
				if s.events[i].kind == "post" {
					next = &s.events[i]
					break
				}
			}
			s.mu.Unlock()
			if next != nil {
				if line, send := s.renderStreamPost(next.id, q, v1); send {
					_, _ = io.WriteString(w, line[:len(line)/2])
					fl.Flush()
				}
			}
			return
		case "stall":
			s.pop()
			select {
			case <-r.Context().Done():
			case <-s.closed:
			}
			return
		}
	}
}

// renderStreamPost renders one stream line; send is false when no rule
// matches (v2 sends only matching posts).
func (s *Server) renderStreamPost(id string, q url.Values, v1 bool) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.posts[id]
	if !ok {
		panic("xfake: streamed post " + id + " was not added")
	}
	if v1 {
		raw, _ := json.Marshal(s.v1Status(p, false))
		return string(raw), true
	}
	var matching []map[string]string
	for _, r := range s.rules {
		if slices.Contains(p.Matches, r.Value) {
			matching = append(matching, map[string]string{"id": r.ID, "tag": r.Tag})
		}
	}
	if len(matching) == 0 {
		return "", false
	}
	data, inc := s.v2Render([]*Post{p}, q)
	line := map[string]any{"data": data[0], "matching_rules": matching}
	if len(inc) > 0 {
		line["includes"] = inc
	}
	raw, _ := json.Marshal(line)
	return string(raw), true
}

// ---- v1.1 ----

const rubyDate = "Mon Jan 02 15:04:05 -0700 2006"

// v1Status renders a post as a v1.1 status. With extended (tweet_mode=
// extended) the text is in full_text; otherwise (compatibility mode, as on
// streams) text is cut at 140 characters and the rest is in extended_tweet.
func (s *Server) v1Status(p *Post, extended bool) map[string]any {
	id, _ := strconv.ParseInt(p.ID, 10, 64)
	text := p.Text
	if p.NoteText != "" {
		text = p.NoteText
	}
	m := map[string]any{
		"created_at": p.CreatedAt.UTC().Format(rubyDate), "id": id, "id_str": p.ID,
		"retweet_count": p.Reposts, "favorite_count": p.Likes, "reply_count": p.Replies, "quote_count": p.Quotes,
		"lang": p.Lang, "entities": map[string]any{"hashtags": []any{}, "urls": []any{}, "user_mentions": []any{}},
	}
	if extended {
		m["full_text"] = xEscape(text)
	} else if rs := []rune(text); len(rs) > 140 {
		m["text"], m["truncated"] = xEscape(string(rs[:139])+"…"), true
		m["extended_tweet"] = map[string]any{"full_text": xEscape(text)}
	} else {
		m["text"], m["truncated"] = xEscape(text), false
	}
	if u, ok := s.users[p.AuthorID]; ok {
		uid, _ := strconv.ParseInt(u.ID, 10, 64)
		m["user"] = map[string]any{"id": uid, "id_str": u.ID, "screen_name": u.Username, "name": u.Name,
			"followers_count": u.Followers, "verified": u.Verified}
	}
	for _, ref := range p.Refs {
		rid, _ := strconv.ParseInt(ref.ID, 10, 64)
		switch ref.Type {
		case "replied_to":
			m["in_reply_to_status_id"], m["in_reply_to_status_id_str"] = rid, ref.ID
			m["in_reply_to_user_id_str"] = p.InReplyToUserID
		case "quoted":
			m["quoted_status_id"], m["quoted_status_id_str"] = rid, ref.ID
			if rp, ok := s.posts[ref.ID]; ok {
				m["quoted_status"] = s.v1Status(rp, extended)
			}
		case "retweeted":
			if rp, ok := s.posts[ref.ID]; ok {
				m["retweeted_status"] = s.v1Status(rp, extended)
			}
		}
	}
	return m
}

func (s *Server) v1Search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	query := q.Get("q")
	if query == "" {
		writeJSON(w, http.StatusBadRequest, `{"errors":[{"code":25,"message":"Query parameters are missing."}]}`)
		return
	}
	count := 15
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeJSON(w, http.StatusBadRequest, `{"errors":[{"code":44,"message":"count parameter is invalid."}]}`)
			return
		}
		count = min(n, 100)
	}
	since, maxID := q.Get("since_id"), q.Get("max_id")
	extended := q.Get("tweet_mode") == "extended"
	s.mu.Lock()
	defer s.mu.Unlock()
	var page []*Post
	more := false
	for _, p := range s.matching(query) {
		if since != "" && !idLess(since, p.ID) || maxID != "" && idLess(maxID, p.ID) {
			continue
		}
		if len(page) == count {
			more = true
			break
		}
		page = append(page, p)
	}
	s.reads += len(page)
	statuses := make([]map[string]any, 0, len(page))
	for _, p := range page {
		statuses = append(statuses, s.v1Status(p, extended))
	}
	sinceN, _ := strconv.ParseInt(since, 10, 64)
	md := map[string]any{"completed_in": 0.035, "count": count, "query": url.QueryEscape(query),
		"since_id": sinceN, "since_id_str": strconv.FormatInt(sinceN, 10)}
	if len(page) > 0 {
		maxN, _ := strconv.ParseInt(page[0].ID, 10, 64)
		md["max_id"], md["max_id_str"] = maxN, page[0].ID
		md["refresh_url"] = "?since_id=" + page[0].ID + "&q=" + url.QueryEscape(query) + "&include_entities=1"
	}
	if more {
		minN, _ := strconv.ParseInt(page[len(page)-1].ID, 10, 64)
		md["next_results"] = fmt.Sprintf("?max_id=%d&q=%s&count=%d&include_entities=1", minN-1, url.QueryEscape(query), count)
	}
	writeValue(w, http.StatusOK, map[string]any{"statuses": statuses, "search_metadata": md})
}

// xEscape escapes post text as X's APIs do (v2 and v1.1): &, < and > become
// &amp;, &lt; and &gt;; nothing else is escaped.
var xEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace
