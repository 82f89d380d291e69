package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
	"github.com/earshot-dev/earshot/sink/clickhouse"
	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

func TestMain(m *testing.M) {
	// `earshot bench` re-runs its own executable for its child processes
	// (NATS, earshot): under `go test` that is this binary.
	if os.Getenv(benchChildEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	chtest.Main(m)
}

// feedServer serves the end-to-end test's feeds and records requests.
type feedServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests map[string]int
	headers  map[string][]http.Header
}

func rssDoc(items ...string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title><link>https://example.com/</link>` +
		strings.Join(items, "") + `</channel></rss>`
}

func rssItem(guid, link, title, desc string) string {
	g := ""
	if guid != "" {
		g = "<guid>" + guid + "</guid>"
	}
	return "<item>" + g + "<link>" + link + "</link><title>" + title + "</title><description><![CDATA[" + desc +
		"]]></description><pubDate>Tue, 24 Nov 2026 10:00:00 GMT</pubDate></item>"
}

func newFeedServer(t *testing.T) *feedServer {
	fs := &feedServer{requests: map[string]int{}, headers: map[string][]http.Header{}}
	shared := rssItem("https://news.example.com/acme-recall", "https://news.example.com/acme-recall?utm_source=feed",
		"Acme recalls X200 blenders", "<p>Acme is recalling the <b>X200</b> after reports of cracked jars. #AcmeRecall</p>")
	feeds := map[string]string{
		"/good.rss": rssDoc(
			rssItem("https://blog.example.com/p/1", "https://blog.example.com/p/1", "Loving my new Acme kettle", "<p>Best kettle ever &amp; so quiet! #acme @AcmeSupport</p>"),
			rssItem("https://blog.example.com/p/2", "https://blog.example.com/p/2", "Acme support never answers", "Waited 3 weeks for a refund. https://acme.example/help?utm_campaign=x"),
			rssItem("https://blog.example.com/p/3", "https://blog.example.com/p/3", "Acme vs Zenith", "A comparison of two toasters.<script>alert(1)</script>")),
		"/noguid.rss": rssDoc(
			rssItem("", "https://forum.example.com/t/100", "Is the Acme X200 safe?", "Asking for a friend"),
			rssItem("", "https://forum.example.com/t/101", "Acme discount codes", "Anyone have one?")),
		"/dup-a.rss":     rssDoc(shared, rssItem("https://a.example.com/1", "https://a.example.com/1", "Only in A", "acme a")),
		"/dup-b.rss":     rssDoc(rssItem("https://b.example.com/1", "https://b.example.com/1", "Only in B", "acme b"), shared),
		"/notmod.rss":    rssDoc(rssItem("https://c.example.com/1", "https://c.example.com/1", "Cached feed item", "acme cached")),
		"/limited.rss":   rssDoc(rssItem("https://d.example.com/1", "https://d.example.com/1", "Rate limited item", "acme limited")),
		"/malformed.xml": `<?xml version="1.0"?><rss><channel><item><title>broken`,
	}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		fs.requests[r.URL.Path]++
		n := fs.requests[r.URL.Path]
		fs.headers[r.URL.Path] = append(fs.headers[r.URL.Path], r.Header.Clone())
		fs.mu.Unlock()
		body, ok := feeds[r.URL.Path]
		switch {
		case !ok:
			http.NotFound(w, r)
			return
		case r.URL.Path == "/notmod.rss":
			w.Header().Set("ETag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		case r.URL.Path == "/limited.rss" && n == 1:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *feedServer) count(path string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.requests[path]
}

func (fs *feedServer) lastHeader(path, key string) string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	h := fs.headers[path]
	if len(h) == 0 {
		return ""
	}
	return h[len(h)-1].Get(key)
}

// e2eConfig writes the YAML config of the end-to-end test.
func e2eConfig(t *testing.T, dataDir string, ch clickhouse.Config, feedBase string) *Config {
	t.Helper()
	chm := chConfigMap(ch)
	var feeds []string
	for _, p := range []string{"/good.rss", "/noguid.rss", "/dup-a.rss", "/dup-b.rss", "/notmod.rss", "/limited.rss", "/malformed.xml"} {
		feeds = append(feeds, feedBase+p)
	}
	doc := map[string]any{
		"data_dir":   dataDir,
		"log":        map[string]any{"level": "debug"},
		"http":       map[string]any{"listen": "off"},
		"nats":       map[string]any{"embedded": map[string]any{"port": -1}},
		"clickhouse": chm,
		"topics":     []map[string]any{{"id": "acme", "query": "acme"}},
		"sink":       map[string]any{"flush_interval": "200ms"},
		"connectors": []map[string]any{{"type": "rss", "name": "feeds", "interval": "10s", "feeds": feeds}},
	}
	return parseTestConfig(t, "e2e.yaml", doc)
}

// parseTestConfig encodes doc as YAML and loads it as earshot would a file.
func parseTestConfig(t *testing.T, name string, doc map[string]any) *Config {
	t.Helper()
	raw, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(name, raw)
	if err != nil {
		t.Fatalf("ParseConfig() = %v\n%s", err, raw)
	}
	return cfg
}

// startPipeline runs `earshot run` in-process until the returned stop is called.
func startPipeline(t *testing.T, cfg *Config) (in *infra, stop func()) {
	t.Helper()
	return startRoles(t, cfg, roles{connect: true, enrich: true, sink: true, detect: true, embedded: true})
}

// chConfigMap is the clickhouse section of a test config for ch.
func chConfigMap(ch clickhouse.Config) map[string]any {
	m := map[string]any{"addr": ch.Addr, "database": ch.Database}
	if ch.Password.File != "" {
		m["password"] = map[string]string{"file": ch.Password.File}
	}
	return m
}

type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// idle reports whether every mention has passed enrich and sink.
func idle(t *testing.T, in *infra) bool {
	return consumersIdle(in, [2]string{"MENTIONS", "enrich"}, [2]string{"ENRICHED", "sink"})
}

// consumersIdle reports whether each {stream, durable} consumer has
// acknowledged every message its stream holds for it (not NumPending 0,
// which can trail the PubAcks: see pipelinetest.CaughtUp).
func consumersIdle(in *infra, consumers ...[2]string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range consumers {
		if ok, err := pipeline.ConsumerCaughtUp(ctx, in.js, c[0], c[1]); err != nil || !ok {
			return false
		}
	}
	return true
}

func queryStrings(t *testing.T, in *infra, sql string) []string {
	t.Helper()
	rows, err := in.store.Conn().Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("query %q: %v", sql, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatalf("scan %q: %v", sql, err)
		}
		out = append(out, s)
	}
	return out
}

func queryCount(t *testing.T, in *infra, sql string) uint64 {
	t.Helper()
	var n uint64
	if err := in.store.Conn().QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatalf("query %q: %v", sql, err)
	}
	return n
}

func TestEndToEndRSSToClickHouse(t *testing.T) {
	feeds := newFeedServer(t)
	ch := chtest.NewDatabase(t)
	cfg := e2eConfig(t, t.TempDir(), ch, feeds.URL)
	db := ch.Database

	wantTitles := []string{
		"Acme discount codes", "Acme recalls X200 blenders", "Acme support never answers", "Acme vs Zenith",
		"Cached feed item", "Is the Acme X200 safe?", "Loving my new Acme kettle", "Only in A", "Only in B", "Rate limited item",
	}
	sort.Strings(wantTitles)

	in, stop := startPipeline(t, cfg)
	pipelinetest.WaitFor(t, 60*time.Second, "10 mentions in ClickHouse", func() bool {
		return queryCount(t, in, "SELECT count() FROM "+db+".mentions") >= uint64(len(wantTitles))
	})
	pipelinetest.WaitFor(t, 30*time.Second, "pipeline idle", func() bool { return idle(t, in) })
	got := queryStrings(t, in, "SELECT title FROM "+db+".mentions FINAL ORDER BY title")
	if strings.Join(got, "|") != strings.Join(wantTitles, "|") {
		t.Fatalf("titles in ClickHouse =\n%q\nwant\n%q", got, wantTitles)
	}
	checkRows(t, in, db, len(wantTitles))
	// `earshot query` resolves unqualified names in the earshot database.
	var out strings.Builder
	if err := runQuery(context.Background(), in, "SELECT count() AS n, uniqExact(id) AS ids FROM mentions FINAL", &out); err != nil {
		t.Fatalf("runQuery() = %v", err)
	}
	if want := "n\tids\n10\t10\n"; out.String() != want {
		t.Errorf("runQuery() printed %q; want %q", out.String(), want)
	}
	if feeds.count("/limited.rss") < 2 {
		t.Errorf("limited feed requested %d times; want a retry after the 429", feeds.count("/limited.rss"))
	}
	stop()

	// Restart on the same data: feeds are read again, nothing is added or lost.
	before := map[string]int{}
	for _, p := range []string{"/good.rss", "/noguid.rss", "/dup-a.rss", "/dup-b.rss", "/notmod.rss", "/limited.rss"} {
		before[p] = feeds.count(p)
	}
	in, stop = startPipeline(t, cfg)
	defer stop()
	pipelinetest.WaitFor(t, 60*time.Second, "every feed polled again after restart", func() bool {
		for p, n := range before {
			if feeds.count(p) <= n {
				return false
			}
		}
		return true
	})
	if h := feeds.lastHeader("/notmod.rss", "If-None-Match"); h != `"v1"` {
		t.Errorf("If-None-Match after restart = %q; want the stored ETag \"v1\"", h)
	}
	pipelinetest.WaitFor(t, 30*time.Second, "pipeline idle after restart", func() bool { return idle(t, in) })
	// Raw count, without FINAL: a restart must not even insert duplicates.
	if n := queryCount(t, in, "SELECT count() FROM "+db+".mentions"); n != uint64(len(wantTitles)) {
		t.Errorf("rows after restart = %d; want %d", n, len(wantTitles))
	}
	checkRows(t, in, db, len(wantTitles))
}

// checkRows asserts the invariants analysts rely on and the mapped fields.
func checkRows(t *testing.T, in *infra, db string, n int) {
	t.Helper()
	if c, u := queryCount(t, in, "SELECT count() FROM "+db+".mentions FINAL"), queryCount(t, in, "SELECT uniqExact(id) FROM "+db+".mentions"); c != u || c != uint64(n) {
		t.Errorf("count() FINAL = %d, uniqExact(id) = %d; want both %d", c, u, n)
	}
	row := in.store.Conn().QueryRow(context.Background(), "SELECT platform, url, text, hashtags, mentions, links, topics FROM "+db+
		".mentions FINAL WHERE title = 'Loving my new Acme kettle'")
	var platform, url, text string
	var hashtags, mentions, links, topics []string
	if err := row.Scan(&platform, &url, &text, &hashtags, &mentions, &links, &topics); err != nil {
		t.Fatalf("scan kettle row: %v", err)
	}
	if platform != "rss" || url != "https://blog.example.com/p/1" || text != "Best kettle ever & so quiet! #acme @AcmeSupport" {
		t.Errorf("kettle row = %q %q %q; want rss, its link and the clean text", platform, url, text)
	}
	if fmt.Sprint(hashtags) != "[acme]" || fmt.Sprint(mentions) != "[acmesupport]" || fmt.Sprint(topics) != "[acme]" {
		t.Errorf("kettle row entities = hashtags %v mentions %v topics %v; want [acme] [acmesupport] [acme]", hashtags, mentions, topics)
	}
	var text2 string
	var links2 []string
	if err := in.store.Conn().QueryRow(context.Background(), "SELECT text, links FROM "+db+
		".mentions FINAL WHERE title = 'Acme support never answers'").Scan(&text2, &links2); err != nil {
		t.Fatal(err)
	}
	if !contains(links2, "https://acme.example/help") || strings.Contains(fmt.Sprint(links2), "utm_") {
		t.Errorf("links = %v; want the canonical https://acme.example/help without utm parameters", links2)
	}
	var script uint64
	if script = queryCount(t, in, "SELECT count() FROM "+db+".mentions WHERE position(text, 'alert(1)') > 0"); script != 0 {
		t.Errorf("%d rows contain script text; want HTML stripped", script)
	}
}
