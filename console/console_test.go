package console_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/earshot-dev/earshot/console"
	"github.com/earshot-dev/earshot/enrich/topics"
	"github.com/earshot-dev/earshot/enrich/topics/query"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

var testTopics = []pipeline.Topic{{ID: "acme", Query: "acme OR #acme"}, {ID: "refund", Query: "refund*"}}

func openStore(t testing.TB) *clickhouse.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := clickhouse.Open(ctx, chtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func options(st *clickhouse.Store, listen string, reg prometheus.Registerer) console.Options {
	return console.Options{
		Listen: listen, Store: st, Topics: testTopics, Registry: reg,
		Compile: func(ts []pipeline.Topic) (console.Matcher, error) { return topics.NewMatcher(ts) },
		Lint: func(q string) []console.LintProblem {
			var out []console.LintProblem
			for _, p := range query.Lint(q) {
				out = append(out, console.LintProblem{Severity: p.Severity.String(), Col: p.Col, Msg: p.Msg})
			}
			return out
		},
	}
}

func serve(t testing.TB, o console.Options) *httptest.Server {
	t.Helper()
	c, err := console.New(o)
	if err != nil {
		t.Fatalf("console.New: %v", err)
	}
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// seed stores mentions: three that need a response, one that does not.
func seed(t *testing.T, st *clickhouse.Store) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	mk := func(id, platform, lang, text string, age time.Duration, needs bool) *pipeline.Mention {
		m := &pipeline.Mention{Schema: 1, ID: id, Platform: platform, Source: "test", Kind: pipeline.KindPost,
			URL: "https://example.com/" + id, Author: pipeline.Author{Handle: "u-" + id, Followers: 10},
			Text: text, CreatedAt: now.Add(-age), CollectedAt: now}
		m.Enrichment.Lang = lang
		m.Enrichment.NeedsResponse = needs
		m.Enrichment.Topics, _ = mustMatcher(t).Match(m)
		m.Enrichment.Sentiment = &pipeline.Sentiment{Score: -0.5, Label: pipeline.SentimentNegative}
		return m
	}
	err := st.Write(context.Background(), []*pipeline.Mention{
		mk("forum:1", "forum", "en", "@acme my kettle broke, I want a refund", 3*time.Hour, true),
		mk("mastodon:2", "mastodon", "de", "Acme, wo bleibt meine Lieferung?", 10*time.Minute, true),
		mk("forum:3", "forum", "en", "acme support, any news on my refund?", 30*time.Minute, true),
		mk("forum:4", "forum", "en", "acme kettles are great", time.Minute, false),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mustMatcher(t *testing.T) *topics.Matcher {
	m, err := topics.NewMatcher(testTopics)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type queueResp struct {
	Items []struct {
		ID      string `json:"id"`
		State   string `json:"state"`
		Actor   string `json:"actor"`
		Note    string `json:"note"`
		Overdue bool   `json:"overdue"`
		Text    []struct {
			T   string `json:"t"`
			Hit bool   `json:"hit"`
		} `json:"text"`
	} `json:"items"`
	Total, Overdue uint64
}

func getJSON(t *testing.T, req *http.Request, v any) int {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusOK && v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("%s %s: %v: %s", req.Method, req.URL, err, body)
		}
	}
	return res.StatusCode
}

func get(t *testing.T, url string) *http.Request {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func action(t *testing.T, base, act, id, as, note string) *http.Request {
	body := fmt.Sprintf(`{"id":%q,"as":%q,"note":%q}`, id, as, note)
	req, err := http.NewRequest(http.MethodPost, base+"/api/queue/"+act, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Earshot-Console", "1")
	return req
}

func ids(q queueResp) []string {
	var out []string
	for _, it := range q.Items {
		out = append(out, it.ID)
	}
	return out
}

func TestQueueFiltersOrderAndInjection(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	srv := serve(t, options(st, "127.0.0.1:0", nil))
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"", []string{"mastodon:2", "forum:3", "forum:1"}},
		{"?order=oldest", []string{"forum:1", "forum:3", "mastodon:2"}},
		{"?topic=refund", []string{"forum:3", "forum:1"}},
		{"?platform=mastodon", []string{"mastodon:2"}},
		{"?lang=de", []string{"mastodon:2"}},
		{"?platform=forum&lang=en&topic=acme", []string{"forum:3", "forum:1"}},
		// Filter values are bound parameters, never SQL.
		{"?platform=" + strings.ReplaceAll("forum' OR 1=1 --", " ", "%20"), nil},
		{"?topic=" + strings.ReplaceAll("x') OR has(topics, 'acme", " ", "%20"), nil},
	} {
		var q queueResp
		if code := getJSON(t, get(t, srv.URL+"/api/queue"+c.query), &q); code != http.StatusOK {
			t.Fatalf("GET /api/queue%s = %d", c.query, code)
		}
		if got := ids(q); !slices.Equal(got, c.want) || q.Total != uint64(len(c.want)) {
			t.Errorf("GET /api/queue%s = %v (total %d); want %v", c.query, got, q.Total, c.want)
		}
	}
	var q queueResp
	getJSON(t, get(t, srv.URL+"/api/queue?order=oldest"), &q)
	if q.Overdue != 1 || !q.Items[0].Overdue || q.Items[1].Overdue {
		t.Errorf("overdue = %d, first %v, second %v; want only the 3h-old mention past the 1h target", q.Overdue, q.Items[0].Overdue, q.Items[1].Overdue)
	}
	var hits []string
	for _, s := range q.Items[0].Text {
		if s.Hit {
			hits = append(hits, s.T)
		}
	}
	if !slices.Equal(hits, []string{"acme", "refund"}) {
		t.Errorf("highlighted spans of %q = %q; want acme (of @acme) and refund", q.Items[0].ID, hits)
	}
	if code := getJSON(t, get(t, srv.URL+"/api/queue?order=sideways"), nil); code != http.StatusBadRequest {
		t.Errorf("GET /api/queue?order=sideways = %d; want 400", code)
	}
}

func TestQueueActionsAndMetrics(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	reg := prometheus.NewRegistry()
	srv := serve(t, options(st, "127.0.0.1:0", reg))
	steps := []struct {
		act, id, as string
		want        int
	}{
		{"claim", "forum:1", "ann", http.StatusOK},
		{"claim", "forum:1", "bob", http.StatusConflict},  // ann has it
		{"answer", "forum:1", "bob", http.StatusConflict}, // still ann's
		{"answer", "forum:1", "ann", http.StatusOK},
		{"dismiss", "forum:1", "ann", http.StatusConflict}, // answered already
		{"dismiss", "mastodon:2", "bob", http.StatusOK},    // unclaimed: anyone may
		{"reopen", "mastodon:2", "bob", http.StatusOK},
		{"answer", "mastodon:2", "bob", http.StatusOK},
		{"claim", "nosuch:1", "ann", http.StatusBadRequest},
		{"explode", "forum:3", "ann", http.StatusBadRequest},
	}
	for _, s := range steps {
		if code := getJSON(t, action(t, srv.URL, s.act, s.id, s.as, "called back"), nil); code != s.want {
			t.Errorf("%s %s as %s = %d; want %d", s.act, s.id, s.as, code, s.want)
		}
	}
	var open, done queueResp
	getJSON(t, get(t, srv.URL+"/api/queue"), &open)
	getJSON(t, get(t, srv.URL+"/api/queue?state=done&order=oldest"), &done)
	if got := ids(open); !slices.Equal(got, []string{"forum:3"}) {
		t.Errorf("open queue = %v; want [forum:3]", got)
	}
	if got := ids(done); !slices.Equal(got, []string{"forum:1", "mastodon:2"}) || done.Items[0].Actor != "ann" || done.Items[0].Note != "called back" {
		t.Errorf("done queue = %v %+v; want forum:1 answered by ann with the note, mastodon:2", got, done.Items)
	}
	for outcome, want := range map[string]float64{"claimed": 1, "answered": 2, "dismissed": 1, "reopened": 1} {
		if got := testutil.ToFloat64(mustVec(t, reg, outcome)); got != want {
			t.Errorf("earshot_responses_total{outcome=%q} = %v; want %v", outcome, got, want)
		}
	}
	// Answers are timed, dismissals are not: forum:1's answer and
	// mastodon:2's answer after its dismissal was reopened.
	if n := histogramCount(t, reg, "earshot_response_time_seconds"); n != 2 {
		t.Errorf("earshot_response_time_seconds count = %d; want 2 (the two answers)", n)
	}
}

func mustVec(t *testing.T, reg *prometheus.Registry, outcome string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "earshot_responses_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x"}, func() float64 { return m.GetCounter().GetValue() })
				}
			}
		}
	}
	t.Fatalf("earshot_responses_total{outcome=%q} not registered", outcome)
	return nil
}

func histogramCount(t *testing.T, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("%s not registered", name)
	return 0
}

func TestOffLoopbackWithoutAuthRefusesEverything(t *testing.T) {
	st := openStore(t)
	srv := serve(t, options(st, "0.0.0.0:9464", nil))
	// httptest listens on 127.0.0.1: the address of the caller earns nothing.
	for _, req := range []*http.Request{get(t, srv.URL+"/"), get(t, srv.URL+"/api/queue"), get(t, srv.URL+"/static/app.js"),
		action(t, srv.URL, "claim", "forum:1", "ann", "")} {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "console.auth") {
			t.Errorf("%s %s from 127.0.0.1 = %d %q; want 401 saying console.auth is needed", req.Method, req.URL.Path, res.StatusCode, body)
		}
	}
}

func TestTokenAuth(t *testing.T) {
	st := openStore(t)
	o := options(st, ":9464", nil)
	t.Setenv("CONSOLE_TOKEN", "short")
	o.Config.Auth.Token = pipeline.SecretRef{Env: "CONSOLE_TOKEN"}
	if _, err := console.New(o); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Errorf("console.New with a 5-character token = %v; want an error asking for 16", err)
	}
	const tok = "0123456789abcdef0123"
	t.Setenv("CONSOLE_TOKEN", tok)
	srv := serve(t, o)
	for _, c := range []struct {
		name string
		set  func(*http.Request)
		want int
	}{
		{"no credentials", func(*http.Request) {}, http.StatusUnauthorized},
		{"wrong bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }, http.StatusUnauthorized},
		{"bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }, http.StatusOK},
		{"basic with token", func(r *http.Request) { r.SetBasicAuth("ann", tok) }, http.StatusOK},
		{"basic wrong", func(r *http.Request) { r.SetBasicAuth("ann", tok+"x") }, http.StatusUnauthorized},
	} {
		req := get(t, srv.URL+"/api/meta")
		c.set(req)
		if code := getJSON(t, req, nil); code != c.want {
			t.Errorf("%s: GET /api/meta = %d; want %d", c.name, code, c.want)
		}
	}
}

func TestUsersFileAuthNamesTheActor(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	hash, err := console.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(file, []byte("# console users\nann:"+hash+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := options(st, "10.0.0.1:9464", nil)
	o.Config.Auth.UsersFile = file
	srv := serve(t, o)
	req := action(t, srv.URL, "claim", "forum:1", "mallory", "")
	req.SetBasicAuth("ann", "wrong horse")
	if code := getJSON(t, req, nil); code != http.StatusUnauthorized {
		t.Errorf("claim with a wrong password = %d; want 401", code)
	}
	req = action(t, srv.URL, "claim", "forum:1", "mallory", "")
	req.SetBasicAuth("ann", "correct horse")
	var out map[string]string
	if code := getJSON(t, req, &out); code != http.StatusOK || out["actor"] != "ann" {
		t.Errorf("claim as ann (body says mallory) = %d %v; want 200 by ann: the signed-in user, not the body, is the actor", code, out)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	_ = os.WriteFile(bad, []byte("bob:plaintext\n"), 0o600)
	o.Config.Auth.UsersFile = bad
	if _, err := console.New(o); err == nil || !strings.Contains(err.Error(), "not a bcrypt hash") {
		t.Errorf("users file with a plain password: %v; want not a bcrypt hash", err)
	}
}

func TestCrossSiteWritesAndHeaders(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	srv := serve(t, options(st, "127.0.0.1:0", nil))
	noHeader := action(t, srv.URL, "claim", "forum:1", "ann", "")
	noHeader.Header.Del("X-Earshot-Console")
	crossOrigin := action(t, srv.URL, "claim", "forum:1", "ann", "")
	crossOrigin.Header.Set("Origin", "https://evil.example")
	crossSite := action(t, srv.URL, "claim", "forum:1", "ann", "")
	crossSite.Header.Set("Sec-Fetch-Site", "cross-site")
	for name, req := range map[string]*http.Request{"no header": noHeader, "other origin": crossOrigin, "cross-site": crossSite} {
		if code := getJSON(t, req, nil); code != http.StatusForbidden {
			t.Errorf("%s: POST claim = %d; want 403", name, code)
		}
	}
	same := action(t, srv.URL, "claim", "forum:1", "ann", "")
	same.Header.Set("Origin", srv.URL)
	same.Header.Set("Sec-Fetch-Site", "same-origin")
	if code := getJSON(t, same, nil); code != http.StatusOK {
		t.Errorf("same-origin POST claim = %d; want 200", code)
	}
	res, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for k, want := range map[string]string{"Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff",
		"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
		if got := res.Header.Get(k); !strings.Contains(got, want) {
			t.Errorf("GET / header %s = %q; want %q", k, got, want)
		}
	}
}

func TestAlertsShowOptionalColumnsWhenPresent(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	a := clickhouse.Alert{ID: "a1", Topic: "acme", Kind: clickhouse.AlertSpike, StartedAt: time.Now().Add(-time.Hour),
		DetectedAt: time.Now(), Window: 5 * time.Minute, Observed: 40, Baseline: 4, Score: 0.9,
		Explanation: []byte(`{"top":[{"field":"hashtag","value":"acmefire","window":30,"baseline":0,"ratio":12}]}`), SampleIDs: []string{"forum:1"}}
	if err := st.WriteAlert(ctx, a); err != nil {
		t.Fatal(err)
	}
	type alerts struct {
		Alerts []struct {
			ID          string          `json:"id"`
			Resolved    bool            `json:"resolved"`
			Severity    string          `json:"severity"`
			Explanation json.RawMessage `json:"explanation"`
		} `json:"alerts"`
	}
	var got alerts
	if code := getJSON(t, get(t, serve(t, options(st, "127.0.0.1:0", nil)).URL+"/api/alerts"), &got); code != http.StatusOK ||
		len(got.Alerts) != 1 || got.Alerts[0].Resolved || !strings.Contains(string(got.Alerts[0].Explanation), "acmefire") {
		t.Fatalf("GET /api/alerts on today's schema = %d %+v; want the alert, unresolved, with its explanation", code, got)
	}
	// The detector's lifecycle: an escalation of the same event, then its
	// resolved event. The view shows one card per alert, both resolved, and
	// never the resolved event itself.
	esc := a
	esc.ID, esc.EventID, esc.Severity, esc.DetectedAt, esc.Peak = "a2", "a1", "critical", time.Now().Add(time.Second), 55
	res := a
	res.ID, res.EventID, res.Status, res.DetectedAt = "r1", "a1", clickhouse.AlertResolved, time.Now().Add(2*time.Second)
	for _, al := range []clickhouse.Alert{esc, res} {
		if err := st.WriteAlert(ctx, al); err != nil {
			t.Fatal(err)
		}
	}
	got = alerts{}
	if code := getJSON(t, get(t, serve(t, options(st, "127.0.0.1:0", nil)).URL+"/api/alerts"), &got); code != http.StatusOK || len(got.Alerts) != 2 {
		t.Fatalf("GET /api/alerts after a resolved event = %d %+v; want the two alerts of the event, not the resolved row", code, got)
	}
	for _, al := range got.Alerts {
		if !al.Resolved || al.ID == "r1" {
			t.Errorf("alert %s resolved = %v; want the event's alerts resolved and no card for the resolved event", al.ID, al.Resolved)
		}
		if al.ID == "a2" && al.Severity != "critical" {
			t.Errorf("escalation severity = %q; want critical", al.Severity)
		}
	}
}

// TestPagesCountEachMentionOnce stores every mention twice, as a
// redelivered batch does before ClickHouse merges it away: no page may
// count a mention twice.
func TestPagesCountEachMentionOnce(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	seed(t, st)
	if n := rowsIn(t, st); n != 8 {
		t.Fatalf("mentions holds %d rows; want 8 (each mention twice, unmerged)", n)
	}
	srv := serve(t, options(st, "127.0.0.1:0", nil))
	var topic struct {
		Series []struct {
			Volume, Positive, Negative, Neutral, Other uint64
		} `json:"series"`
		Voice []struct {
			Key   string `json:"key"`
			N     uint64 `json:"n"`
			Extra string `json:"extra"`
		} `json:"share_of_voice"`
		Authors []struct {
			Key string `json:"key"`
			N   uint64 `json:"n"`
		} `json:"authors"`
	}
	if code := getJSON(t, get(t, srv.URL+"/api/topic?range=24h"), &topic); code != http.StatusOK {
		t.Fatalf("GET /api/topic = %d", code)
	}
	var volume, negative uint64
	for _, p := range topic.Series {
		volume += p.Volume
		negative += p.Negative
	}
	if volume != 4 || negative != 4 {
		t.Errorf("topic series counts %d mentions, %d negative; want 4 and 4", volume, negative)
	}
	voice := map[string]string{}
	for _, v := range topic.Voice {
		voice[v.Key] = fmt.Sprintf("%d/%s", v.N, v.Extra)
	}
	if voice["acme"] != "4/4" || voice["refund"] != "2/2" || len(voice) != 2 {
		t.Errorf("share of voice (mentions/negative) = %v; want acme 4/4, refund 2/2", voice)
	}
	for _, a := range topic.Authors {
		if a.N != 1 {
			t.Errorf("author %s counted %d times; want 1", a.Key, a.N)
		}
	}
	var q queueResp
	if getJSON(t, get(t, srv.URL+"/api/queue"), &q); q.Total != 3 || len(q.Items) != 3 {
		t.Errorf("queue lists %d (total %d); want 3", len(q.Items), q.Total)
	}
	var people struct {
		Detractors []struct {
			Handle   string `json:"handle"`
			Mentions uint64 `json:"mentions"`
		} `json:"detractors"`
	}
	if getJSON(t, get(t, srv.URL+"/api/people?range=24h"), &people); len(people.Detractors) != 4 {
		t.Errorf("detractors = %+v; want the 4 negative authors", people.Detractors)
	}
	for _, p := range people.Detractors {
		if p.Mentions != 1 {
			t.Errorf("detractor %s has %d mentions; want 1", p.Handle, p.Mentions)
		}
	}
	var search struct {
		IDs []string `json:"ids"`
	}
	if getJSON(t, get(t, srv.URL+"/api/search?range=24h&q=refund*"), &search); !slices.Equal(search.IDs, []string{"forum:3", "forum:1"}) {
		t.Errorf("search refund* = %v; want [forum:3 forum:1], each once", search.IDs)
	}
}

func rowsIn(t *testing.T, st *clickhouse.Store) uint64 {
	t.Helper()
	var n uint64
	if err := st.Conn().QueryRow(context.Background(), "SELECT count() FROM `"+st.Database()+"`.mentions").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSearchCSVExport(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	srv := serve(t, options(st, "127.0.0.1:0", nil))
	res, err := http.Get(srv.URL + "/api/search?range=24h&format=csv&q=" + strings.ReplaceAll("refund* AND acme", " ", "%20"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	rows, err := csv.NewReader(res.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if res.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(rows) != 3 || rows[0][0] != "id" ||
		rows[1][0] != "forum:3" || rows[2][0] != "forum:1" || !strings.Contains(rows[2][11], "refund") {
		t.Errorf("CSV export = %s %q; want a header and forum:3, forum:1 with their text", res.Header.Get("Content-Type"), rows)
	}
	var lint struct {
		Problems []console.LintProblem `json:"problems"`
	}
	if getJSON(t, get(t, srv.URL+"/api/lint?q=%22acme"), &lint); len(lint.Problems) == 0 || lint.Problems[0].Severity != "error" {
		t.Errorf("lint of an unterminated quote = %+v; want an error", lint.Problems)
	}
	if code := getJSON(t, get(t, srv.URL+"/api/search?q=%22acme"), nil); code != http.StatusBadRequest {
		t.Errorf("search with a broken query = %d; want 400", code)
	}
}

// TestRollupCountsEachMentionOnce checks the long ranges, read from the
// rollup: a mention stored twice counts once, a later mention is added
// by the next pass, and the figures equal the raw table's.
func TestRollupCountsEachMentionOnce(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	seed(t, st)
	c, err := console.New(options(st, "127.0.0.1:0", nil))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	type page struct {
		Rollup bool `json:"rollup"`
		Series []struct {
			Volume, Negative uint64
		} `json:"series"`
		Voice []struct {
			Key   string `json:"key"`
			N     uint64 `json:"n"`
			Extra string `json:"extra"`
		} `json:"share_of_voice"`
		Hashtags []struct {
			Key string `json:"key"`
			N   uint64 `json:"n"`
		} `json:"hashtags"`
		Authors []struct {
			Key string `json:"key"`
			N   uint64 `json:"n"`
		} `json:"authors"`
	}
	read := func(url string) (p page, volume uint64, voice map[string]string) {
		t.Helper()
		if code := getJSON(t, get(t, srv.URL+url), &p); code != http.StatusOK {
			t.Fatalf("GET %s = %d", url, code)
		}
		for _, s := range p.Series {
			volume += s.Volume
		}
		voice = map[string]string{}
		for _, v := range p.Voice {
			voice[v.Key] = fmt.Sprintf("%d/%s", v.N, v.Extra)
		}
		return p, volume, voice
	}
	raw, rawVolume, rawVoice := read("/api/topic?range=7d")
	if raw.Rollup || rawVolume != 4 {
		t.Fatalf("before a rollup pass: rollup %v, volume %d; want the raw table's 4", raw.Rollup, rawVolume)
	}
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	p, volume, voice := read("/api/topic?range=7d")
	if !p.Rollup || volume != rawVolume || fmt.Sprint(voice) != fmt.Sprint(rawVoice) {
		t.Errorf("rollup page: rollup %v, volume %d, voice %v; want %d and %v as the raw table says", p.Rollup, volume, voice, rawVolume, rawVoice)
	}
	for _, a := range p.Authors {
		if a.N != 1 {
			t.Errorf("rollup page: author %s has %d mentions; want 1", a.Key, a.N)
		}
	}
	// A new mention, stored twice, and an old one stored again: the next
	// pass recounts their hours and days; nothing is added twice.
	now := time.Now().UTC()
	m := &pipeline.Mention{Schema: 1, ID: "forum:9", Platform: "forum", Source: "test", Kind: pipeline.KindPost,
		Author: pipeline.Author{Handle: "u-9"}, Text: "acme #acme refund now", CreatedAt: now, CollectedAt: now}
	m.Enrichment.Topics, _ = mustMatcher(t).Match(m)
	m.Enrichment.Hashtags = []string{"acme"}
	for range 2 {
		if err := st.Write(context.Background(), []*pipeline.Mention{m}); err != nil {
			t.Fatal(err)
		}
	}
	seed(t, st)
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	p, volume, voice = read("/api/topic?range=7d")
	if volume != 5 || voice["acme"] != "5/4" || voice["refund"] != "3/2" {
		t.Errorf("after a new mention stored twice: volume %d, voice %v; want 5, acme 5/4, refund 3/2", volume, voice)
	}
	if len(p.Hashtags) != 1 || p.Hashtags[0].Key != "acme" || p.Hashtags[0].N != 1 {
		t.Errorf("hashtags = %+v; want acme once", p.Hashtags)
	}
}
