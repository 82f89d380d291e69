package twitter

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/earshot-dev/earshot/connectors/twitter/xfake"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

// offsetClock is the wall clock plus an offset a test moves forward.
type offsetClock struct{ off atomic.Int64 }

func (c *offsetClock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *offsetClock) advance(d time.Duration) { c.off.Add(int64(d)) }

func TestDailyReadBudgetPausesPersistsAndResumes(t *testing.T) {
	fake := xfake.New(t)
	t.Setenv("X_TEST_BEARER", fake.BearerToken)
	addAcmePosts(fake, 1, 40)
	js := pipelinetest.StartJetStream(t)
	clock := &offsetClock{}
	doc := withBase(searchConfig(), fake.URL) + "daily_read_budget: 25\n"
	searches := func() int { return len(fake.RequestsTo("GET", "/2/tweets/search/recent")) }

	env, logs, _ := captureEnv(t, js, "x-test")
	s := fastSource(t, doc, testTopics[:1])
	s.now = clock.now
	stop := runSource(t, s, env)
	waitMentions(t, js, mentionIDs(seq(16, 40)...)) // the newest 25
	pipelinetest.WaitFor(t, 10*time.Second, "the budget-spent warning", func() bool {
		return strings.Contains(logs.String(), "daily read budget spent")
	})
	stop()
	if got := testutil.ToFloat64(s.mx.budgetSpent.WithLabelValues("x-test")); got != 1 {
		t.Errorf("budget spent gauge = %v; want 1", got)
	}
	if got := fake.Reads(); got != 25 {
		t.Errorf("posts read = %d; want 25 (the budget)", got)
	}
	raw, err := env.Cursors.Get(context.Background(), budgetCursorKey)
	if err != nil {
		t.Fatalf("budget cursor: %v", err)
	}
	var st budgetState
	if err := json.Unmarshal(raw, &st); err != nil || st.Reads != 25 || st.Day != utcDay(clock.now()) {
		t.Errorf("budget cursor = %s, %v; want 25 reads today", raw, err)
	}

	// A restart the same day reads nothing.
	n := searches()
	env2, logs2, _ := captureEnv(t, js, "x-test")
	s2 := fastSource(t, doc, testTopics[:1])
	s2.now = clock.now
	stop2 := runSource(t, s2, env2)
	pipelinetest.WaitFor(t, 10*time.Second, "the budget-spent warning after restart", func() bool {
		return strings.Contains(logs2.String(), "daily read budget spent")
	})
	if got := searches(); got != n {
		t.Errorf("searches after a restart with the budget spent = %d; want 0", got-n)
	}

	// The next UTC day it resumes where it stopped.
	clock.advance(24 * time.Hour)
	waitMentions(t, js, mentionIDs(seq(1, 40)...))
	pipelinetest.WaitFor(t, 10*time.Second, "the cursor at the newest post", func() bool {
		raw, err := env2.Cursors.Get(context.Background(), "search:acme")
		return err == nil && strings.Contains(string(raw), `"since_id":"`+xfake.ID(40)+`"`)
	})
	stop2()
	if got := fake.Reads(); got != 40 {
		t.Errorf("posts read = %d; want 40 (each once)", got)
	}
	if got := fake.RequestsTo("GET", "/2/tweets/search/recent")[n].Query; got.Get("next_token") == "" || got.Get("max_results") != "25" {
		t.Errorf("first search of the next day = %v; want the saved next_token and max_results=25", got)
	}
	if got := testutil.ToFloat64(s2.mx.budgetSpent.WithLabelValues("x-test")); got != 0 {
		t.Errorf("budget spent gauge the next day = %v; want 0", got)
	}
}

func TestCounts(t *testing.T) {
	fake := xfake.New(t)
	t.Setenv("X_TEST_BEARER", fake.BearerToken)
	addAcmePosts(fake, 1, 5)
	fake.AddPosts(xfake.Post{ID: xfake.ID(0), Text: "old", CreatedAt: time.Now().Add(-30 * time.Hour), Matches: []string{acmeQ}})
	js := pipelinetest.StartJetStream(t)
	env, _, reg := captureEnv(t, js, "x-test")
	s := fastSource(t, withBase(streamConfig(), fake.URL)+"counts: true\n", testTopics[:1])
	if err := s.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	stop := runSource(t, s, env)
	pipelinetest.WaitFor(t, 10*time.Second, "counts", func() bool { return len(s.Counts()) == 1 })
	stop()
	c := s.Counts()[0]
	if c.Query != "acme" || c.XQuery != acmeQ || c.Posts != 5 || c.Window != 24*time.Hour {
		t.Errorf("Counts() = %+v; want 5 posts for acme", c)
	}
	if got := testutil.ToFloat64(s.mx.recentPosts.WithLabelValues("x-test", "acme")); got != 5 {
		t.Errorf("earshot_twitter_recent_posts = %v; want 5", got)
	}
	if got := fake.Reads(); got != 0 {
		t.Errorf("counts read %d posts; want 0", got)
	}
	if n, err := testutil.GatherAndCount(reg, "earshot_twitter_recent_posts"); err != nil || n != 1 {
		t.Errorf("registered earshot_twitter_recent_posts series = %d, %v; want 1", n, err)
	}
}
