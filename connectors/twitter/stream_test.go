package twitter

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/earshot-dev/earshot/connectors/twitter/xfake"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

const widgetQ = `"acme widget" lang:en` // testTopics[1].XQuery

func streamConfig() string {
	return `
type: twitter
name: x-test
base_url: BASE
bearer_token: {env: X_TEST_BEARER}
mode: stream
`
}

// logBuf collects log output (and mirrors it to the test log on failure).
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// captureEnv is a SourceEnv whose logs go to a buffer and whose metrics are
// on a registry the test can read.
func captureEnv(t *testing.T, js *pipelinetest.JetStream, name string) (*pipeline.SourceEnv, *logBuf, *prometheus.Registry) {
	t.Helper()
	env := js.SourceEnv(t, Platform, name)
	reg := prometheus.NewRegistry()
	cm := pipeline.NewMetrics(reg).Connector(Platform, name)
	env.Metrics = cm
	env.Publisher = pipeline.NewRawPublisher(js.JS, cm)
	lb := &logBuf{}
	env.Logger = slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("connector log:\n%s", lb.String())
		}
	})
	return env, lb, reg
}

func acmePost(n int, matches ...string) xfake.Post {
	return xfake.Post{ID: xfake.ID(n), AuthorID: "100", Text: "stream post " + xfake.ID(n), Lang: "en",
		CreatedAt: time.Now().Add(-time.Second), Matches: matches}
}

func TestStreamSyncsRulesReconnectsAndLosesNothing(t *testing.T) {
	fake := xfake.New(t)
	t.Setenv("X_TEST_BEARER", fake.BearerToken)
	fake.AddUsers(xfake.User{ID: "100", Username: "alice", Name: "Alice"})
	fake.SetRules(
		xfake.Rule{Value: "foo", Tag: "other-app"},
		xfake.Rule{Value: "old query", Tag: "earshot:gone"},
		xfake.Rule{Value: widgetQ, Tag: "earshot:widget"},
	)
	before := fake.Rules()
	for i := 1; i <= 12; i++ {
		m := acmeQ
		switch i {
		case 4:
			m = widgetQ
		case 8:
			m = "foo" // matches only the foreign rule
		}
		fake.AddPosts(acmePost(i, m))
	}

	js := pipelinetest.StartJetStream(t)
	env, logs, _ := captureEnv(t, js, "x-test")
	s := fastSource(t, withBase(streamConfig(), fake.URL), testTopics)
	stop := runSource(t, s, env)

	pipelinetest.WaitFor(t, 10*time.Second, "a stream connection", func() bool { return fake.OpenStreams() == 1 })
	rules := fake.Rules()
	wantRules := []xfake.Rule{before[0], before[2], {Value: acmeQ, Tag: "earshot:acme"}}
	if len(rules) != 3 || rules[0] != wantRules[0] || rules[1] != wantRules[1] || rules[2].Value != acmeQ || rules[2].Tag != "earshot:acme" {
		t.Fatalf("rules after sync = %+v; want %+v (foreign and current kept, stale deleted, missing added)", rules, wantRules)
	}

	fake.StreamPosts(xfake.ID(1), xfake.ID(2), xfake.ID(3))
	fake.StreamRaw(`{"data":{"id":"17900`) // malformed: counted and skipped
	fake.StreamRaw(`not json at all`)
	fake.StreamPosts(xfake.ID(4))
	fake.StreamCut() // post 5 is cut mid-line, then sent whole on the next connection
	fake.StreamPosts(xfake.ID(5), xfake.ID(6))
	fake.StreamOperationalDisconnect()
	fake.StreamPosts(xfake.ID(7), xfake.ID(8))
	fake.StreamStall()                         // silence: the client must reconnect on its own
	fake.StreamPosts(xfake.ID(9), xfake.ID(3)) // 3 again, as a replay would: no duplicate
	got := waitMentions(t, js, mentionIDs(1, 2, 3, 4, 5, 6, 7, 9))
	pipelinetest.WaitFor(t, 10*time.Second, "all stream events written", func() bool { return fake.PendingEvents() == 0 })
	for _, m := range got {
		want := "acme"
		if m.ID == "twitter:"+xfake.ID(4) {
			want = "widget"
		}
		if m.MatchedRule != want || m.Source != "x-test/"+map[string]string{"acme": acmeQ, "widget": widgetQ}[want] {
			t.Errorf("mention %s matched_rule, source = %q, %q; want %q", m.ID, m.MatchedRule, m.Source, want)
		}
		if m.Author.Handle != "alice" || m.URL != "https://x.com/alice/status/"+strings.TrimPrefix(m.ID, "twitter:") {
			t.Errorf("mention %s author, url = %+v, %s", m.ID, m.Author, m.URL)
		}
	}
	if n := fake.StreamConnects(); n < 4 {
		t.Errorf("stream connections = %d; want at least 4 (cut, operational disconnect, stall)", n)
	}
	if n := fake.MaxConcurrentStreams(); n != 1 {
		t.Errorf("most concurrent stream connections = %d; want 1", n)
	}
	for kind, min := range map[string]float64{"malformed": 2, "foreign": 1, "partial": 1, "error": 1} {
		if got := testutil.ToFloat64(s.mx.stream.WithLabelValues("x-test", kind)); got < min {
			t.Errorf("stream messages of kind %q = %v; want at least %v", kind, got, min)
		}
	}
	stop()
	if l := logs.String(); !strings.Contains(l, "operational-disconnect") || !strings.Contains(l, "stream stalled") {
		t.Errorf("log lacks the operational disconnect or the stall:\n%s", l)
	}

	// The fake notices the client's goodbye on its own time; until then it
	// would write the next posts to the dead connection, and X does not
	// resend what it wrote to a connection that went away.
	pipelinetest.WaitFor(t, 10*time.Second, "the old stream connection closed", func() bool { return fake.OpenStreams() == 0 })

	// Restart: the rules are already right, so nothing is posted to them.
	posts := len(fake.RequestsTo(http.MethodPost, "/2/tweets/search/stream/rules"))
	rulesBefore := fake.Rules()
	s2 := fastSource(t, withBase(streamConfig(), fake.URL), testTopics)
	env2, _, _ := captureEnv(t, js, "x-test")
	stop2 := runSource(t, s2, env2)
	pipelinetest.WaitFor(t, 10*time.Second, "a stream connection", func() bool { return fake.OpenStreams() == 1 })
	fake.StreamPosts(xfake.ID(10), xfake.ID(11), xfake.ID(12))
	waitMentions(t, js, mentionIDs(1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12))
	stop2()
	if n := len(fake.RequestsTo(http.MethodPost, "/2/tweets/search/stream/rules")); n != posts {
		t.Errorf("rule changes after restart = %d; want none", n-posts)
	}
	if r := fake.Rules(); !slices.Equal(r, rulesBefore) {
		t.Errorf("rules after restart = %+v; want unchanged %+v", r, rulesBefore)
	}
	assertNoViolations(t, fake)
}

func TestStreamKeepAlivesKeepConnectionOpen(t *testing.T) {
	fake := xfake.New(t)
	fake.KeepAlive = 40 * time.Millisecond
	t.Setenv("X_TEST_BEARER", fake.BearerToken)
	js := pipelinetest.StartJetStream(t)
	s := fastSource(t, withBase(streamConfig(), fake.URL), testTopics[:1])
	s.cfg.StallTimeout = time.Second
	stop := runSource(t, s, js.SourceEnv(t, Platform, "x-test"))
	// Three stall timeouts' worth of keep-alives and nothing else.
	pipelinetest.WaitFor(t, 20*time.Second, "75 keep-alives", func() bool {
		return testutil.ToFloat64(s.mx.stream.WithLabelValues("x-test", "keepalive")) >= 75
	})
	stop()
	if n := fake.StreamConnects(); n != 1 {
		t.Errorf("stream connections = %d; want 1 (keep-alives are liveness)", n)
	}
}

func TestStreamConnectErrorsBackOff(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		n        int
		minSpace time.Duration // the least total wait before the successful connect
	}{
		{"429 waits for the reset", http.StatusTooManyRequests, 1, 0},
		{"503 backs off exponentially", http.StatusServiceUnavailable, 3, 50*time.Millisecond + 100*time.Millisecond + 200*time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := xfake.New(t)
			t.Setenv("X_TEST_BEARER", fake.BearerToken)
			fake.AddPosts(acmePost(1, acmeQ))
			fake.Fail("/2/tweets/search/stream", tc.status, tc.n)
			js := pipelinetest.StartJetStream(t)
			s := fastSource(t, withBase(streamConfig(), fake.URL), testTopics[:1])
			stop := runSource(t, s, js.SourceEnv(t, Platform, "x-test"))
			pipelinetest.WaitFor(t, 10*time.Second, "a stream connection", func() bool { return fake.OpenStreams() == 1 })
			fake.StreamPosts(xfake.ID(1))
			waitMentions(t, js, mentionIDs(1))
			stop()
			reqs := fake.RequestsTo(http.MethodGet, "/2/tweets/search/stream")
			if len(reqs) != tc.n+1 {
				t.Fatalf("stream requests = %d; want %d", len(reqs), tc.n+1)
			}
			if space := reqs[tc.n].At.Sub(reqs[0].At); space < tc.minSpace {
				t.Errorf("time from first refusal to the connect = %v; want at least %v", space, tc.minSpace)
			}
			assertNoViolations(t, fake)
		})
	}
}

func TestAuthErrorsAreReportedAndNotHotLooped(t *testing.T) {
	fake := xfake.New(t)
	t.Setenv("X_TEST_BEARER", fake.BearerToken)
	fake.SetForbidden(true)
	js := pipelinetest.StartJetStream(t)
	env, logs, _ := captureEnv(t, js, "x-test")
	s := fastSource(t, withBase(streamConfig(), fake.URL), testTopics[:1])
	stop := runSource(t, s, env)
	pipelinetest.WaitFor(t, 10*time.Second, "4 attempts", func() bool {
		return len(fake.RequestsTo(http.MethodGet, "/2/tweets/search/stream/rules")) >= 4
	})
	stop()
	reqs := fake.RequestsTo(http.MethodGet, "/2/tweets/search/stream/rules")
	// Backoff 50 ms, 100 ms, 200 ms (scaled down from 5 s doubling).
	if space := reqs[3].At.Sub(reqs[0].At); space < 350*time.Millisecond {
		t.Errorf("4 attempts within %v; want at least 350ms of backoff between them", space)
	}
	l := logs.String()
	if !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "client-not-enrolled") || !strings.Contains(l, "Client Forbidden") {
		t.Errorf("log does not report the 403 clearly:\n%s", l)
	}
}

func TestCredentialsNeverLeak(t *testing.T) {
	const token = "AAAAAAAAAAAAAAAAAAAAAsecret-bearer-value"
	for _, mode := range []string{"search", "stream"} {
		t.Run(mode, func(t *testing.T) {
			fake := xfake.New(t) // expects another token: every request is a 401
			t.Setenv("X_TEST_BEARER", token)
			js := pipelinetest.StartJetStream(t)
			env, logs, reg := captureEnv(t, js, "x-test")
			doc := strings.Replace(withBase(streamConfig(), fake.URL), "mode: stream", "mode: "+mode, 1)
			s := fastSource(t, doc, testTopics[:1])
			if err := s.RegisterMetrics(reg); err != nil {
				t.Fatalf("RegisterMetrics: %v", err)
			}
			stop := runSource(t, s, env)
			pipelinetest.WaitFor(t, 10*time.Second, "2 refused requests", func() bool { return len(fake.Requests()) >= 2 })
			stop()

			// A direct call's error.
			r := &run{src: s, cfg: s.cfg, env: env, lim: newLimiter(time.Now), log: env.Logger}
			api := &apiClient{base: s.cfg.base, hc: s.hc, bearer: s.cfg.bearer, lim: r.lim, cm: env.Metrics}
			var out v2Page
			err := api.getJSON(context.Background(), epSearchRecent, nil, &out)
			if err == nil || !strings.Contains(err.Error(), "401") {
				t.Fatalf("getJSON with a wrong token = %v; want a 401 error", err)
			}
			var metrics bytes.Buffer
			mfs, _ := reg.Gather()
			for _, mf := range mfs {
				metrics.WriteString(mf.String())
			}
			for what, text := range map[string]string{"error": err.Error(), "log": logs.String(), "metrics": metrics.String(),
				"config": s.cfg.bearer.String()} {
				if strings.Contains(text, token) || strings.Contains(text, "secret-bearer") {
					t.Errorf("%s contains the bearer token: %s", what, text)
				}
			}
			if !strings.Contains(logs.String(), "Unauthorized") {
				t.Errorf("log does not report the 401:\n%s", logs.String())
			}
		})
	}
}

func TestStreamReusesForeignRuleWithSameValue(t *testing.T) {
	fake := xfake.New(t)
	t.Setenv("X_TEST_BEARER", fake.BearerToken)
	fake.SetRules(xfake.Rule{Value: acmeQ, Tag: "other-app"})
	fake.AddPosts(acmePost(1, acmeQ))
	js := pipelinetest.StartJetStream(t)
	s := fastSource(t, withBase(streamConfig(), fake.URL), testTopics[:1])
	stop := runSource(t, s, js.SourceEnv(t, Platform, "x-test"))
	pipelinetest.WaitFor(t, 10*time.Second, "a stream connection", func() bool { return fake.OpenStreams() == 1 })
	fake.StreamPosts(xfake.ID(1))
	got := waitMentions(t, js, mentionIDs(1))
	stop()
	if n := len(fake.RequestsTo(http.MethodPost, "/2/tweets/search/stream/rules")); n != 0 {
		t.Errorf("rule changes = %d; want 0 (X allows one rule per value)", n)
	}
	if got[0].MatchedRule != "acme" {
		t.Errorf("matched_rule = %q; want acme", got[0].MatchedRule)
	}
}
