package rss

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

// fakeFeeds is a feed server that records every request.
type fakeFeeds struct {
	*httptest.Server
	mu   sync.Mutex
	reqs map[string][]request // by path
}

type request struct {
	at     time.Time
	header http.Header
}

// serveFeeds serves routes (path -> handler) and records requests.
func serveFeeds(t *testing.T, routes map[string]http.HandlerFunc) *fakeFeeds {
	t.Helper()
	f := &fakeFeeds{reqs: map[string][]request{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs[r.URL.Path] = append(f.reqs[r.URL.Path], request{at: time.Now(), header: r.Header.Clone()})
		f.mu.Unlock()
		h, ok := routes[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeFeeds) requests(path string) []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs[path])
}

// file serves a testdata file.
func file(t *testing.T, name, contentType string) http.HandlerFunc {
	body := readTestdata(t, name)
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}
}

// testEnv is a source environment on a real JetStream with its own metrics.
type testEnv struct {
	*pipeline.SourceEnv
	js      *pipelinetest.JetStream
	metrics *pipeline.Metrics
	pub     *recPublisher
}

func newEnv(t *testing.T, js *pipelinetest.JetStream, name string) *testEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cur, err := pipeline.NewKVCursors(ctx, js.JS, name)
	if err != nil {
		t.Fatalf("NewKVCursors: %v", err)
	}
	m := pipeline.NewMetrics(prometheus.NewRegistry())
	cm := m.Connector("rss", name)
	pub := &recPublisher{next: pipeline.NewRawPublisher(js.JS, cm)}
	return &testEnv{
		SourceEnv: &pipeline.SourceEnv{Name: name, Publisher: pub, Cursors: cur, Logger: pipelinetest.Logger(t), Metrics: cm},
		js:        js, metrics: m, pub: pub,
	}
}

func (e *testEnv) requests(outcome string) float64 {
	return testutil.ToFloat64(e.metrics.ConnRequests.WithLabelValues("rss", e.Name, outcome))
}

func (e *testEnv) errors(typ string) float64 {
	return testutil.ToFloat64(e.metrics.ConnErrors.WithLabelValues("rss", e.Name, typ))
}

// mentions returns the stored mentions whose source is this env's feed url.
func (e *testEnv) mentions(t *testing.T, feedURL string) []*pipeline.Mention {
	var out []*pipeline.Mention
	for _, m := range e.js.Mentions(t, pipeline.StreamMentions) {
		if m.Source == e.Name+"/"+feedURL {
			out = append(out, m)
		}
	}
	return out
}

func (e *testEnv) cursor(t *testing.T, feedURL string) (cursor, bool) {
	t.Helper()
	raw, err := e.Cursors.Get(context.Background(), feedURL)
	if errors.Is(err, pipeline.ErrNoCursor) {
		return cursor{}, false
	}
	if err != nil {
		t.Fatalf("cursor: %v", err)
	}
	var c cursor
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("cursor %s: %v", raw, err)
	}
	return c, true
}

// recPublisher records what it is asked to publish and can fail the first
// calls, as a full stream does.
type recPublisher struct {
	next pipeline.Publisher
	mu   sync.Mutex
	fail int      // calls left to fail
	ok   []string // ids of acknowledged mentions, in order
	runs [][]string
}

func (p *recPublisher) Publish(ctx context.Context, ms []*pipeline.Mention) error {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	p.mu.Lock()
	p.runs = append(p.runs, ids)
	failNow := p.fail > 0
	if failNow {
		p.fail--
	}
	p.mu.Unlock()
	if failNow {
		return fmt.Errorf("test: %w", pipeline.ErrStreamFull)
	}
	if err := p.next.Publish(ctx, ms); err != nil {
		return err
	}
	p.mu.Lock()
	p.ok = append(p.ok, ids...)
	p.mu.Unlock()
	return nil
}

func (p *recPublisher) calls() [][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.runs)
}

func (p *recPublisher) published() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.ok)
}

// testConfig is a config with fast polling for tests (below MinInterval).
func testConfig(t *testing.T, c Config, feeds ...string) Config {
	t.Helper()
	if c.Interval == 0 {
		c.Interval = 40 * time.Millisecond
	}
	if c.Jitter == nil {
		var zero float64
		c.Jitter = &zero
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 200 * time.Millisecond
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	for _, f := range feeds {
		c.Feeds = append(c.Feeds, FeedConfig{URL: f})
	}
	c = c.withDefaults()
	if err := c.validate(time.Millisecond); err != nil {
		t.Fatalf("test config: %v", err)
	}
	return c
}

// run starts a source; it is stopped at cleanup or by the returned func.
func run(t *testing.T, cfg Config, env *testEnv) (stop func()) {
	t.Helper()
	src := newSource(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, env.SourceEnv) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run = %v; want nil after cancel", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

const wait = 15 * time.Second

func TestFormatsEndToEnd(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	env := newEnv(t, js, "formats")
	srv := serveFeeds(t, map[string]http.HandlerFunc{
		"/rss":  file(t, "rss2.xml", "application/rss+xml"),
		"/atom": file(t, "atom.xml", "application/atom+xml"),
		"/json": file(t, "feed.json", "application/feed+json"), // has a null item
	})
	run(t, testConfig(t, Config{}, srv.URL+"/rss", srv.URL+"/atom", srv.URL+"/json"), env)

	want := map[string]int{"/rss": 3, "/atom": 2, "/json": 2}
	pipelinetest.WaitFor(t, wait, "every item of every feed", func() bool {
		return len(env.mentions(t, srv.URL+"/rss")) == 3 && len(env.mentions(t, srv.URL+"/atom")) == 2 &&
			len(env.mentions(t, srv.URL+"/json")) == 2
	})
	// A few more polls publish nothing more.
	pipelinetest.WaitFor(t, wait, "three more polls of each feed", func() bool {
		return len(srv.requests("/rss")) >= 4 && len(srv.requests("/atom")) >= 4 && len(srv.requests("/json")) >= 4
	})
	for path, n := range want {
		ms := env.mentions(t, srv.URL+path)
		if len(ms) != n {
			t.Errorf("%s: %d mentions; want %d", path, len(ms), n)
		}
		for _, m := range ms {
			if m.Platform != "rss" || m.Kind != "article" || !strings.HasPrefix(m.ID, "rss:") || m.CollectedAt.IsZero() {
				t.Errorf("%s: mention %+v", path, m)
			}
		}
		if c, ok := env.cursor(t, srv.URL+path); !ok || len(c.Seen) != 8*n {
			t.Errorf("%s: cursor %+v, %v; want %d seen keys", path, c, ok, n)
		}
	}
	if got := len(env.pub.published()); got != 7 {
		t.Errorf("published %d mentions; want 7, each once", got)
	}
	byTitle := map[string]*pipeline.Mention{}
	for _, m := range js.Mentions(t, pipeline.StreamMentions) {
		byTitle[m.Title] = m
	}
	if m := byTitle["Acme launches & rocks"]; m == nil || m.Text != "Hello world\nSecond para & more" ||
		m.URL != "https://blog.example.com/2026/acme-launch?utm_source=rss" || m.Author.Name != "Jane Doe" ||
		m.Lang != "en-gb" || !m.CreatedAt.Equal(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("rss mention = %+v", m)
	}
	if m := byTitle["Is the Acme Aero worth it?"]; m == nil || m.Author.Handle != "acme_fan" {
		t.Errorf("atom mention = %+v", m)
	}
	if r := srv.requests("/rss")[0]; !strings.HasPrefix(r.header.Get("User-Agent"), "earshot/") ||
		!strings.Contains(r.header.Get("Accept"), "application/rss+xml") {
		t.Errorf("request headers = %v", r.header)
	}
}

func TestMalformedFeedFailsAlone(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	env := newEnv(t, js, "malformed")
	srv := serveFeeds(t, map[string]http.HandlerFunc{
		"/good":   file(t, "rss2.xml", "application/rss+xml"),
		"/broken": file(t, "malformed.xml", "text/html"),
		"/json":   func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"items": [`)) },
	})
	run(t, testConfig(t, Config{}, srv.URL+"/broken", srv.URL+"/json", srv.URL+"/good"), env)
	pipelinetest.WaitFor(t, wait, "the good feed's items and retries of the broken ones", func() bool {
		return len(env.mentions(t, srv.URL+"/good")) == 3 && len(srv.requests("/broken")) >= 3 && len(srv.requests("/json")) >= 3
	})
	if got := env.errors("parse"); got < 4 {
		t.Errorf("parse errors = %v; want at least 4", got)
	}
	if got := env.requests("error"); got < 4 {
		t.Errorf(`requests{outcome="error"} = %v; want at least 4`, got)
	}
	for _, path := range []string{"/broken", "/json"} {
		if _, ok := env.cursor(t, srv.URL+path); ok {
			t.Errorf("%s: a cursor was stored for a feed that never parsed", path)
		}
	}
}

func TestItemsWithoutGUIDs(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	env := newEnv(t, js, "noguid")
	srv := serveFeeds(t, map[string]http.HandlerFunc{"/feed": file(t, "noguid.xml", "application/rss+xml")})
	run(t, testConfig(t, Config{}, srv.URL+"/feed"), env)
	pipelinetest.WaitFor(t, wait, "3 items and 3 more polls", func() bool {
		return len(env.mentions(t, srv.URL+"/feed")) == 3 && len(srv.requests("/feed")) >= 4
	})
	// Keyed by link, by title and date, by text: stable, so published once.
	if got := env.pub.published(); len(got) != 3 {
		t.Errorf("published %v; want 3 mentions, once each", got)
	}
	if got := env.errors("parse"); got != 0 {
		t.Errorf("parse errors = %v; want 0", got)
	}
}

func TestDuplicateItems(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	env := newEnv(t, js, "dupes")
	srv := serveFeeds(t, map[string]http.HandlerFunc{
		"/dupes": file(t, "dupes.xml", "application/rss+xml"), // GUID "same" twice
		"/same":  file(t, "same.xml", "application/rss+xml"),  // GUID "same" again, another feed
	})
	run(t, testConfig(t, Config{}, srv.URL+"/dupes", srv.URL+"/same"), env)
	pipelinetest.WaitFor(t, wait, "both feeds polled twice", func() bool {
		return len(srv.requests("/dupes")) >= 2 && len(srv.requests("/same")) >= 2 &&
			len(env.mentions(t, srv.URL+"/dupes")) == 2 && len(env.mentions(t, srv.URL+"/same")) == 1
	})
	// Within one response: once (the first occurrence); across feeds: two ids.
	for _, call := range env.pub.calls() {
		if len(call) != len(slices.Compact(slices.Sorted(slices.Values(call)))) {
			t.Errorf("one Publish call has an id twice: %v", call)
		}
	}
	dupes, same := env.mentions(t, srv.URL+"/dupes"), env.mentions(t, srv.URL+"/same")
	titles := []string{dupes[0].Title, dupes[1].Title}
	slices.Sort(titles)
	if fmt.Sprint(titles) != "[First copy Other]" {
		t.Errorf("titles from /dupes = %v; want [First copy Other]", titles)
	}
	for _, m := range dupes {
		if m.ID == same[0].ID {
			t.Errorf("GUID %q in two feeds has one id %q; want one per feed", "same", m.ID)
		}
	}
	if got := len(env.pub.published()); got != 3 {
		t.Errorf("published %d mentions; want 3", got)
	}
}

func TestConditionalGet(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	env := newEnv(t, js, "conditional")
	const etag, lastMod = `"v1-abc"`, "Tue, 24 Nov 2026 10:00:00 GMT"
	body := readTestdata(t, "rss2.xml")
	srv := serveFeeds(t, map[string]http.HandlerFunc{"/feed": func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", lastMod)
		_, _ = w.Write(body)
	}})
	run(t, testConfig(t, Config{}, srv.URL+"/feed"), env)
	pipelinetest.WaitFor(t, wait, "3 conditional requests answered 304", func() bool {
		return env.requests("not_modified") >= 3
	})
	reqs := srv.requests("/feed")
	if h := reqs[0].header; h.Get("If-None-Match") != "" || h.Get("If-Modified-Since") != "" {
		t.Errorf("first request has validators: %v", h)
	}
	for i, r := range reqs[1:] {
		if r.header.Get("If-None-Match") != etag || r.header.Get("If-Modified-Since") != lastMod {
			t.Errorf("request %d: If-None-Match %q, If-Modified-Since %q; want %q, %q", i+1,
				r.header.Get("If-None-Match"), r.header.Get("If-Modified-Since"), etag, lastMod)
		}
	}
	if got := env.requests("ok"); got != 1 {
		t.Errorf(`requests{outcome="ok"} = %v; want 1`, got)
	}
	if c, _ := env.cursor(t, srv.URL+"/feed"); c.ETag != etag || c.LastModified != lastMod {
		t.Errorf("cursor = %+v; want the validators", c)
	}
	if got := len(env.pub.published()); got != 3 {
		t.Errorf("published %d; want 3", got)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	env := newEnv(t, js, "ratelimit")
	const after = 1 // second; far above the test's 200ms max_backoff
	body := readTestdata(t, "rss2.xml")
	var (
		mu      sync.Mutex
		limited time.Time // when the 429 was sent
		n       int
	)
	srv := serveFeeds(t, map[string]http.HandlerFunc{"/feed": func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n == 1 {
			w.Header().Set("Retry-After", strconv.Itoa(after))
			limited = time.Now()
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write(body)
	}})
	run(t, testConfig(t, Config{}, srv.URL+"/feed"), env)
	pipelinetest.WaitFor(t, wait, "items after the rate limit", func() bool {
		return len(env.mentions(t, srv.URL+"/feed")) == 3
	})
	reqs := srv.requests("/feed")
	mu.Lock()
	sent := limited
	mu.Unlock()
	// A correctness check of the client, not a performance timing: the
	// second request must not come before the server allowed it.
	if gap := reqs[1].at.Sub(sent); gap < after*time.Second {
		t.Errorf("second request %v after the 429 with Retry-After: %d; want no request before %ds", gap, after, after)
	}
	if got := env.requests("rate_limited"); got != 1 {
		t.Errorf(`requests{outcome="rate_limited"} = %v; want 1`, got)
	}
	if got := env.errors("rate_limited"); got != 1 {
		t.Errorf(`errors{type="rate_limited"} = %v; want 1`, got)
	}
}

func TestServerErrorThenRecovery(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	env := newEnv(t, js, "recovery")
	body := readTestdata(t, "atom.xml")
	var (
		mu sync.Mutex
		n  int
	)
	srv := serveFeeds(t, map[string]http.HandlerFunc{"/feed": func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		fail := n <= 2
		mu.Unlock()
		if fail {
			http.Error(w, "upstream down", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write(body)
	}})
	run(t, testConfig(t, Config{}, srv.URL+"/feed"), env)
	pipelinetest.WaitFor(t, wait, "items after two 500s", func() bool {
		return len(env.mentions(t, srv.URL+"/feed")) == 2
	})
	if got := env.errors("http_5xx"); got != 2 {
		t.Errorf(`errors{type="http_5xx"} = %v; want 2`, got)
	}
	if got := env.requests("error"); got != 2 {
		t.Errorf(`requests{outcome="error"} = %v; want 2`, got)
	}
	if got := env.requests("ok"); got < 1 {
		t.Errorf(`requests{outcome="ok"} = %v; want at least 1`, got)
	}
}

func TestOversizeBody(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	env := newEnv(t, js, "oversize")
	small := readTestdata(t, "atom.xml") // exactly max_bytes: accepted
	big := []byte(strings.Replace(string(small), "Love it.", strings.Repeat("Love it. ", 400), 1))
	srv := serveFeeds(t, map[string]http.HandlerFunc{
		"/small": func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(small) },
		"/big":   func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(big) },
	})
	cfg := testConfig(t, Config{MaxBytes: ByteSize(len(small))}, srv.URL+"/big", srv.URL+"/small")
	run(t, cfg, env)
	pipelinetest.WaitFor(t, wait, "small delivered and big retried", func() bool {
		return len(env.mentions(t, srv.URL+"/small")) == 2 && len(srv.requests("/big")) >= 3
	})
	if got := env.mentions(t, srv.URL+"/big"); len(got) != 0 {
		t.Errorf("oversize feed published %d mentions; want 0", len(got))
	}
	if got := env.errors("too_large"); got < 3 {
		t.Errorf(`errors{type="too_large"} = %v; want at least 3`, got)
	}
}

func TestInvalidUTF8Item(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	env := newEnv(t, js, "utf8")
	srv := serveFeeds(t, map[string]http.HandlerFunc{
		"/bytes": file(t, "invalid_utf8.xml", "application/rss+xml; charset=utf-8"),
		"/latin": file(t, "latin1.xml", "text/xml"),
	})
	run(t, testConfig(t, Config{}, srv.URL+"/bytes", srv.URL+"/latin"), env)
	pipelinetest.WaitFor(t, wait, "every item of both feeds", func() bool {
		return len(env.mentions(t, srv.URL+"/bytes")) == 2 && len(env.mentions(t, srv.URL+"/latin")) == 1
	})
	texts := map[string]string{}
	for _, m := range js.Mentions(t, pipeline.StreamMentions) {
		texts[m.Title] = m.Text
	}
	want := map[string]string{
		"Café review":  "It’s a café \uFFFD ok\uFFFD",
		"Clean":        "All fine é✓",
		"Crème brûlée": "© Acme ½ price",
	}
	for title, text := range want {
		if got, ok := texts[title]; !ok || got != text {
			t.Errorf("mention %q text = %q (found %v); want %q", title, got, ok, text)
		}
	}
}

func TestRestartPublishesNothingNew(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	srv := serveFeeds(t, map[string]http.HandlerFunc{ // no validators: every poll gets the full feed
		"/feed": file(t, "rss2.xml", "application/rss+xml"),
		"/json": file(t, "feed.json", "application/feed+json"),
	})
	cfg := testConfig(t, Config{}, srv.URL+"/feed", srv.URL+"/json")
	first := newEnv(t, js, "restart")
	stop := run(t, cfg, first)
	pipelinetest.WaitFor(t, wait, "items published and cursors stored", func() bool {
		c1, ok1 := first.cursor(t, srv.URL+"/feed")
		c2, ok2 := first.cursor(t, srv.URL+"/json")
		return ok1 && ok2 && len(c1.Seen) == 3*8 && len(c2.Seen) == 2*8
	})
	stop()
	before := len(js.Mentions(t, pipeline.StreamMentions))

	second := newEnv(t, js, "restart") // a new process: same cursor store, new source
	n1, n2 := len(srv.requests("/feed")), len(srv.requests("/json"))
	run(t, cfg, second)
	// Polls are sequential per feed: the second request after restart means
	// the first one was fully processed.
	pipelinetest.WaitFor(t, wait, "two polls of each feed after restart", func() bool {
		return len(srv.requests("/feed")) >= n1+2 && len(srv.requests("/json")) >= n2+2
	})
	if got := second.pub.calls(); len(got) != 0 {
		t.Errorf("after restart Publish was called with %v; want no calls", got)
	}
	if after := len(js.Mentions(t, pipeline.StreamMentions)); after != before {
		t.Errorf("stream has %d mentions after restart; want %d", after, before)
	}
}

func TestPublishFailureKeepsCursor(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	env := newEnv(t, js, "pubfail")
	env.pub.fail = 1
	const etag = `"v1"`
	body := readTestdata(t, "rss2.xml")
	srv := serveFeeds(t, map[string]http.HandlerFunc{"/feed": func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		_, _ = w.Write(body)
	}})
	run(t, testConfig(t, Config{}, srv.URL+"/feed"), env)
	pipelinetest.WaitFor(t, wait, "items published after the failure, then a 304", func() bool {
		return len(env.mentions(t, srv.URL+"/feed")) == 3 && env.requests("not_modified") >= 1
	})
	calls := env.pub.calls()
	if len(calls) != 2 || fmt.Sprint(calls[0]) != fmt.Sprint(calls[1]) {
		t.Errorf("Publish calls = %v; want the failed batch retried whole, once", calls)
	}
	// Had the ETag been stored with the failed batch, the retry would have
	// been a 304 and the items lost.
	if reqs := srv.requests("/feed"); reqs[1].header.Get("If-None-Match") != "" {
		t.Errorf("request after the failed publish sent If-None-Match %q; want none", reqs[1].header.Get("If-None-Match"))
	}
	if got := env.errors("publish"); got != 1 {
		t.Errorf(`errors{type="publish"} = %v; want 1`, got)
	}
	if c, ok := env.cursor(t, srv.URL+"/feed"); !ok || c.ETag != etag || len(c.Seen) != 3*8 {
		t.Errorf("cursor = %+v, %v; want the ETag and 3 keys", c, ok)
	}
}

func TestUserInfoStaysInTheRequest(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	env := newEnv(t, js, "auth")
	body := readTestdata(t, "atom.xml")
	srv := serveFeeds(t, map[string]http.HandlerFunc{"/private": func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "reader" || p != "s3cret" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write(body)
	}})
	withAuth := strings.Replace(srv.URL, "http://", "http://reader:s3cret@", 1) + "/private"
	run(t, testConfig(t, Config{}, withAuth), env)
	pipelinetest.WaitFor(t, wait, "items from the private feed", func() bool {
		return len(env.mentions(t, srv.URL+"/private")) == 2
	})
	for _, m := range js.Mentions(t, pipeline.StreamMentions) {
		if strings.Contains(m.Source, "s3cret") || strings.Contains(m.Source, "reader@") {
			t.Errorf("mention source %q has the user info", m.Source)
		}
	}
	if _, ok := env.cursor(t, srv.URL+"/private"); !ok {
		t.Errorf("no cursor under the URL without user info")
	}
}
