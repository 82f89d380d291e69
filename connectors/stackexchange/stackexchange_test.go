package stackexchange

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/earshot-dev/earshot/connectors/poll/polltest"
	"github.com/earshot-dev/earshot/connectors/stackexchange/sefake"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

func TestMappingQuestionsAnswersComments(t *testing.T) {
	fake := sefake.New(t)
	created := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	q := &sefake.Post{Type: "question", Site: "superuser", Title: "Why does Acme&#39;s X200 overheat?", Body: "<p>It gets <b>hot</b>.</p>",
		Owner: "Ann &amp; Co", OwnerID: 5, Score: 3, AnswerCount: 2, ViewCount: 140, IsAnswered: true, Created: created,
		LastEdit: created.Add(time.Hour)}
	fake.Add(q)
	a := &sefake.Post{Type: "answer", Site: "superuser", QuestionID: q.ID, Body: "<p>Clean the fan.</p>", Owner: "bob", OwnerID: 6, Score: 9,
		Created: created.Add(time.Minute)}
	fake.Add(a)
	c := &sefake.Post{Type: "comment", Site: "superuser", PostID: a.ID, Body: "that worked", Owner: "ann", OwnerID: 5, Created: created.Add(2 * time.Minute)}
	fake.Add(c)
	src := fastSource(t, fake, "sites: [superuser]\nlistings: [answers, comments]\nrefresh: 0s\n")
	ms, _ := polltest.RunUntil(t, src, Platform, "3 mentions", func(ms []*pipeline.Mention) bool { return len(ms) >= 3 })
	by := polltest.ByID(ms)
	qid := MentionID("superuser", "question", q.ID)
	m := by[qid]
	if m == nil || m.Kind != pipeline.KindPost || m.Title != "Why does Acme's X200 overheat?" || m.Text != "It gets hot." ||
		m.Author.Name != "Ann & Co" || m.Author.ID != "5" || m.Engagement.Likes != 3 || m.Engagement.Replies != 2 ||
		m.Engagement.Views != 140 || !m.Answered || m.Source != "superuser" || !strings.HasPrefix(m.URL, "https://superuser.com/questions/") ||
		!m.EditedAt.Equal(created.Add(time.Hour)) || m.MatchedRule != "acme" {
		t.Errorf("question = %+v", m)
	}
	am := by[MentionID("superuser", "answer", a.ID)]
	if am == nil || am.Kind != pipeline.KindReply || am.ParentID != qid || am.ConversationID != qid || am.Engagement.Likes != 9 ||
		am.Text != "Clean the fan." || am.URL != "https://superuser.com/a/"+itoa(a.ID) {
		t.Errorf("answer = %+v", am)
	}
	cm := by[MentionID("superuser", "comment", c.ID)]
	if cm == nil || cm.Kind != pipeline.KindComment || cm.ParentID != MentionID("superuser", "answer", a.ID) || cm.Text != "that worked" {
		t.Errorf("comment = %+v", cm)
	}
	for _, r := range fake.Requests() {
		if !r.Gzipped || r.Query.Get("filter") != "withbody" || r.Query.Get("sort") != "creation" || r.Query.Get("site") != "superuser" {
			t.Errorf("request %s %v: want Accept-Encoding gzip, filter=withbody, sort=creation, site=superuser", r.Path, r.Query)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// When quota_remaining reaches 0 the connector sends nothing more that
// day, and a restart remembers it.
func TestQuotaSpentStopsForTheDay(t *testing.T) {
	fake := sefake.New(t)
	fake.SetQuota(300, 3)
	fake.Add(&sefake.Post{Type: "question", Title: "acme", Body: "acme one", Owner: "a"})
	js := pipelinetest.StartJetStream(t)
	env := js.SourceEnv(t, Platform, "se")
	mx := pipeline.NewMetrics(prometheus.NewRegistry())
	env.Metrics = mx.Connector(Platform, "se")
	runFor := func() {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- fastSource(t, fake, "").Run(ctx, env) }()
		// The request that spent the quota is recorded once answered.
		pipelinetest.WaitFor(t, 10*time.Second, "the quota spent", func() bool {
			ok := 0
			for _, r := range fake.Requests() {
				if r.Status == 200 {
					ok++
				}
			}
			return fake.QuotaLeft() <= 0 && ok >= 3
		})
		// Several polling intervals (50 ms) pass; none may send a request.
		n := len(fake.Requests())
		time.Sleep(400 * time.Millisecond)
		if extra := len(fake.Requests()) - n; extra > 0 {
			t.Errorf("%d requests after the daily quota was spent; want 0", extra)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}
	runFor()
	if got := len(js.Mentions(t, pipeline.StreamMentions)); got != 1 {
		t.Errorf("stream holds %d mentions; want 1", got)
	}
	if got := testutil.ToFloat64(mx.ConnRateLimit.WithLabelValues(Platform, "se")); got != 0 {
		t.Errorf("rate-limit remaining gauge = %v; want 0", got)
	}
	before := len(fake.Requests())
	runFor() // restart: the spent quota is remembered
	if extra := len(fake.Requests()) - before; extra > 0 {
		t.Errorf("%d requests after a restart with the quota spent; want 0", extra)
	}
}

// A refused key is an auth error, logged without the key.
func TestWrongKeyIsAuthErrorWithoutTheKey(t *testing.T) {
	fake := sefake.New(t)
	fake.Key = "right-key"
	src := fastSource(t, fake, "")
	t.Setenv("EARSHOT_TEST_SE_KEY", "wrong-secret-key")
	k, _ := pipeline.SecretRef{Env: "EARSHOT_TEST_SE_KEY"}.Load()
	src.cfg.key = k
	js := pipelinetest.StartJetStream(t)
	env := js.SourceEnv(t, Platform, "se")
	mx := pipeline.NewMetrics(prometheus.NewRegistry())
	env.Metrics = mx.Connector(Platform, "se")
	var logs bytes.Buffer
	env.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, env) }()
	pipelinetest.WaitFor(t, 10*time.Second, "an auth error", func() bool {
		return testutil.ToFloat64(mx.ConnErrors.WithLabelValues(Platform, "se", "auth")) >= 1
	})
	cancel()
	<-done
	if strings.Contains(logs.String(), "wrong-secret-key") {
		t.Errorf("the key was logged:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "access_denied") {
		t.Errorf("log does not say why:\n%s", logs.String())
	}
}

// A transport error (nothing listening) is logged without the key that
// travels in the query string.
func TestTransportErrorHidesTheKey(t *testing.T) {
	fake := sefake.New(t)
	fake.Key = "secret-app-key"
	src := fastSource(t, fake, "")
	src.cfg.BaseURL = "http://127.0.0.1:1/2.3" // refused
	js := pipelinetest.StartJetStream(t)
	env := js.SourceEnv(t, Platform, "se")
	mx := pipeline.NewMetrics(prometheus.NewRegistry())
	env.Metrics = mx.Connector(Platform, "se")
	var logs bytes.Buffer
	env.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, env) }()
	pipelinetest.WaitFor(t, 10*time.Second, "a network error", func() bool {
		return testutil.ToFloat64(mx.ConnErrors.WithLabelValues(Platform, "se", "network")) >= 1
	})
	cancel()
	<-done
	if strings.Contains(logs.String(), "secret-app-key") {
		t.Errorf("the key was logged:\n%s", logs.String())
	}
}

func TestHost(t *testing.T) {
	for site, want := range map[string]string{"stackoverflow": "stackoverflow.com", "math": "math.stackexchange.com",
		"ru.stackoverflow": "ru.stackoverflow.com", "mathoverflow.net": "mathoverflow.net", "askubuntu": "askubuntu.com"} {
		if got := Host(site); got != want {
			t.Errorf("Host(%q) = %q; want %q", site, got, want)
		}
	}
}

func TestReadmeSampleConfigParses(t *testing.T) {
	t.Setenv("STACKEXCHANGE_KEY", "k")
	src := polltest.ReadmeSource(t, "README.md", "stackexchange", []pipeline.Topic{{ID: "acme", Query: "acme"}})
	c := src.(*Source).cfg
	if c.Interval != 5*time.Minute || c.BaseURL != DefaultBaseURL || c.key.Reveal() != "k" || len(c.listings) != 4 || c.filter != "withbody" {
		t.Errorf("README sample parsed as %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		doc  string
		want []string
	}{
		{"interval: 1ms", []string{"sites: at least one", "interval: 1ms"}},
		{"sites: [Stack Overflow, superuser, superuser]\nlistings: [tags]\nkey: {env: UNSET_SE_VAR}",
			[]string{`"Stack Overflow" is not`, "listed twice", `"tags" is not`, "UNSET_SE_VAR"}},
		{"sites: [superuser]\nsearch: false", []string{"nothing to read"}},
		{"sites: [superuser]\nkey: plain", []string{"not as a value in the config"}},
	}
	for _, tt := range tests {
		_, err := New(polltest.Spec(t, "stackexchange", "type: stackexchange\nname: c\n"+tt.doc), []pipeline.Topic{{ID: "acme", Query: "acme"}})
		if err == nil {
			t.Errorf("New(%q) = nil error; want %v", tt.doc, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("New(%q) = %v; want it to mention %q", tt.doc, err, w)
			}
		}
	}
}
