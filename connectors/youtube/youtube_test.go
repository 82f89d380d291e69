package youtube

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/earshot-dev/earshot/connectors/poll/polltest"
	"github.com/earshot-dev/earshot/connectors/youtube/ytfake"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

const testChannel = "UCuAXFkgsw1L7xaCfnd5JJOw"

func TestMappingChannelUploadsRepliesSearch(t *testing.T) {
	fake := ytfake.New(t)
	fake.AddVideo(&ytfake.Video{ID: "aaaaaaaaaaa", ChannelID: testChannel, Title: "Launch day"})
	fake.AddVideo(&ytfake.Video{ID: "bbbbbbbbbbb", ChannelID: "UCotherotherotherother00", Title: "Acme X200 teardown"})
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	top := &ytfake.Comment{VideoID: "aaaaaaaaaaa", Author: "fan", ChannelID: "UCfan", Text: "When does it ship?", Likes: 12, Published: at}
	fake.Add(top)
	var replies []*ytfake.Comment
	for i := range 7 { // more than the 5 a thread carries: comments.list is needed
		r := &ytfake.Comment{VideoID: "aaaaaaaaaaa", ParentID: top.ID, Author: "other", Text: "me too", Published: at.Add(time.Duration(i+1) * time.Minute)}
		fake.Add(r)
		replies = append(replies, r)
	}
	found := &ytfake.Comment{VideoID: "bbbbbbbbbbb", Author: "critic", Text: "screws are glued", Published: at}
	fake.Add(found)
	src := fastSource(t, fake, "channels: ["+testChannel+"]\nsearch: true\nrefresh: 0s\n")
	ms, _ := polltest.RunUntil(t, src, Platform, "9 comments", func(ms []*pipeline.Mention) bool { return len(ms) >= 9 })
	by := polltest.ByID(ms)
	m := by["youtube:"+top.ID]
	if m == nil || m.Kind != pipeline.KindComment || m.Text != "When does it ship?" || m.Engagement.Likes != 12 || m.Engagement.Replies != 7 ||
		m.ConversationID != "youtube:video:aaaaaaaaaaa" || m.Author.Handle != "fan" || m.Author.ID != "UCfan" ||
		m.URL != "https://www.youtube.com/watch?v=aaaaaaaaaaa&lc="+top.ID || !m.CreatedAt.Equal(at) {
		t.Errorf("top-level comment = %+v", m)
	}
	for _, r := range replies {
		rm := by["youtube:"+r.ID]
		if rm == nil || rm.Kind != pipeline.KindReply || rm.ParentID != "youtube:"+top.ID {
			t.Errorf("reply %s = %+v", r.ID, rm)
		}
	}
	if f := by["youtube:"+found.ID]; f == nil || f.MatchedRule != "acme" {
		t.Errorf("comment on the searched video = %+v; want matched_rule acme", f)
	}
	units := map[string]int{}
	for _, r := range fake.Requests() {
		units[r.Path] += r.Units
		if r.Path == "/commentThreads" && r.Query["videoId"] != nil && r.Query["order"][0] != "time" {
			t.Errorf("commentThreads without order=time: %v", r.Query)
		}
	}
	if units["/search"] != 100 || units["/comments"] < 1 {
		t.Errorf("units spent by method = %v; want one search (100) and comments.list for the replies", units)
	}
}

// The daily budget survives a restart; when it is spent, or YouTube
// answers quotaExceeded, nothing more is sent until midnight Pacific.
func TestDailyBudget(t *testing.T) {
	fake := ytfake.New(t)
	fake.AddVideo(&ytfake.Video{ID: testVideo, ChannelID: testChannel, Title: "x"})
	fake.Add(&ytfake.Comment{VideoID: testVideo, Author: "a", Text: "acme"})
	js := pipelinetest.StartJetStream(t)
	env := js.SourceEnv(t, Platform, "yt")
	env.Metrics = pipeline.NewMetrics(prometheus.NewRegistry()).Connector(Platform, "yt")
	run := func(extra string, until func() bool, what string) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- fastSource(t, fake, extra).Run(ctx, env) }()
		pipelinetest.WaitFor(t, 10*time.Second, what, until)
		n := len(fake.Requests())
		time.Sleep(400 * time.Millisecond) // several 50 ms intervals
		if extra := len(fake.Requests()) - n; extra > 0 {
			t.Errorf("%s: %d requests after the budget was spent; want 0", what, extra)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}
	run("daily_budget: 3\nrefresh: 0s\n", func() bool {
		units := 0 // of requests recorded, that is answered
		for _, r := range fake.Requests() {
			units += r.Units
		}
		return units >= 3
	}, "a budget of 3 units spent")
	if got := fake.Used(); got != 3 {
		t.Errorf("units spent = %d; want exactly the budget of 3", got)
	}
	before := len(fake.Requests())
	run("daily_budget: 3\nrefresh: 0s\n", func() bool { return true }, "a restart with the budget spent")
	if got := len(fake.Requests()) - before; got != 0 {
		t.Errorf("%d requests after a restart with the budget spent; want 0", got)
	}
	// A fresh store and a larger budget, but YouTube's own quota is spent.
	env.Cursors = js.SourceEnv(t, Platform, "yt2").Cursors
	fake.SetQuota(0)
	run("daily_budget: 1000\nrefresh: 0s\n", func() bool {
		for _, r := range fake.Requests() {
			if r.Status == 403 {
				return true
			}
		}
		return false
	}, "quotaExceeded")
	if got := len(js.Mentions(t, pipeline.StreamMentions)); got != 1 {
		t.Errorf("stream holds %d mentions; want 1", got)
	}
}

// A transport error (nothing listening) is logged without the key that
// travels in the query string.
func TestTransportErrorHidesTheKey(t *testing.T) {
	fake := ytfake.New(t)
	fake.Key = "secret-yt-key"
	src := fastSource(t, fake, "")
	src.cfg.BaseURL = "http://127.0.0.1:1/youtube/v3" // refused
	js := pipelinetest.StartJetStream(t)
	env := js.SourceEnv(t, Platform, "yt")
	mx := pipeline.NewMetrics(prometheus.NewRegistry())
	env.Metrics = mx.Connector(Platform, "yt")
	var logs bytes.Buffer
	env.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, env) }()
	pipelinetest.WaitFor(t, 10*time.Second, "a network error", func() bool {
		return testutil.ToFloat64(mx.ConnErrors.WithLabelValues(Platform, "yt", "network")) >= 1
	})
	cancel()
	<-done
	if strings.Contains(logs.String(), "secret-yt-key") {
		t.Errorf("the key was logged:\n%s", logs.String())
	}
}

func TestNextPacificMidnight(t *testing.T) {
	// 07:30 UTC on 3 Dec is 23:30 on 2 Dec in Los Angeles (PST, UTC-8).
	got := nextPacificMidnight(time.Date(2026, 12, 3, 7, 30, 0, 0, time.UTC))
	if want := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("nextPacificMidnight = %v; want %v", got.UTC(), want)
	}
	// Summer: PDT, UTC-7.
	got = nextPacificMidnight(time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC))
	if want := time.Date(2026, 7, 2, 7, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("nextPacificMidnight(July) = %v; want %v", got.UTC(), want)
	}
}

func TestReadmeSampleConfigParses(t *testing.T) {
	t.Setenv("YOUTUBE_API_KEY", "k")
	src := polltest.ReadmeSource(t, "README.md", "youtube", []pipeline.Topic{{ID: "acme", Query: "acme"}})
	c := src.(*Source).cfg
	if c.Interval != 5*time.Minute || c.key.Reveal() != "k" || len(c.videos) != 1 || len(c.channels) != 1 || c.budget != 10000 ||
		len(c.searches) != 1 || c.searchInterval != 6*time.Hour || !c.replies {
		t.Errorf("README sample parsed as %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		doc  string
		want []string
	}{
		{"videos: [short]\nchannels: [nope]", []string{"key: required", `"short" is not a video id`, `"nope" is not a channel id`}},
		{"key: {env: HOME}\nsearch_interval: 1s\ndaily_budget: -1", []string{"search_interval", "daily_budget"}},
		{"key: {env: HOME}", []string{"nothing to read"}},
		{"key: plain", []string{"not as a value in the config"}},
	}
	for _, tt := range tests {
		_, err := New(polltest.Spec(t, "youtube", "type: youtube\nname: c\n"+tt.doc), []pipeline.Topic{{ID: "acme", Query: "acme"}})
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
