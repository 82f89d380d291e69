package mastodon

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/earshot-dev/earshot/connectors/mastodon/mastodonfake"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

// start runs s against js until the test ends; it returns the log text
// and the metrics.
func start(t *testing.T, js *pipelinetest.JetStream, s *Source) (*syncBuffer, *pipeline.Metrics) {
	t.Helper()
	env := js.SourceEnv(t, Platform, "m")
	mx := pipeline.NewMetrics(prometheus.NewRegistry())
	env.Metrics = mx.Connector(Platform, "m")
	logs := &syncBuffer{}
	env.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.Run(ctx, env); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return logs, mx
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

func byID(ms []*pipeline.Mention) map[string]*pipeline.Mention {
	out := map[string]*pipeline.Mention{}
	for _, m := range ms {
		if !m.Deleted && m.EditedAt.IsZero() {
			out[m.ID] = m
		}
	}
	return out
}

func TestMapping(t *testing.T) {
	fake := mastodonfake.New(t)
	created := time.Date(2026, 12, 2, 9, 30, 0, 0, time.UTC)
	orig := &mastodonfake.Status{Tags: []string{"acme"}, Created: created, Language: "de", SpoilerText: "Produkt &amp; Kritik",
		Content:    `<p>Mein <a href="https://x.example/tags/acme" class="mention hashtag">#<span>Acme</span></a> Mixer ist kaputt &amp; laut.<br>Hilfe?</p><p>Zweiter Absatz</p>`,
		Account:    mastodonfake.Account{Acct: "karl@other.example", DisplayName: "Karl", Followers: 1234},
		URI:        "https://other.example/users/karl/statuses/42",
		Favourites: 5, Reblogs: 2, Replies: 1}
	fake.Add(orig)
	boost := &mastodonfake.Status{Tags: []string{"acme"}, Created: created.Add(time.Minute), Reblog: orig,
		Account: mastodonfake.Account{Acct: "anna", DisplayName: "Anna", Followers: 7}}
	fake.Add(boost)
	reply := &mastodonfake.Status{Tags: []string{"acme"}, Created: created.Add(2 * time.Minute), InReplyToID: orig.ID, Content: "<p>same #acme</p>",
		Account: mastodonfake.Account{Acct: "bea"}}
	fake.Add(reply)

	js := pipelinetest.StartJetStream(t)
	start(t, js, fastSource(t, fmt.Sprintf("instances: [{base_url: %s}]\nhashtags: ['#Acme']\n", fake.URL)))
	var ms []*pipeline.Mention
	pipelinetest.WaitFor(t, 10*time.Second, "3 mentions", func() bool { ms = js.Mentions(t, pipeline.StreamMentions); return len(ms) >= 3 })
	by := byID(ms)
	o := by["mastodon:https://other.example/users/karl/statuses/42"]
	if o == nil {
		t.Fatalf("no mention with the status uri as id; got %v", by)
	}
	wantText := "Mein #Acme Mixer ist kaputt & laut.\nHilfe?\nZweiter Absatz"
	if o.Text != wantText || o.Title != "Produkt &amp; Kritik" || o.Lang != "de" || o.Kind != pipeline.KindPost ||
		o.Author.Handle != "karl@other.example" || o.Author.Followers != 1234 || o.Author.Name != "Karl" ||
		o.Engagement.Likes != 5 || o.Engagement.Reposts != 2 || o.Engagement.Replies != 1 || !o.CreatedAt.Equal(created) ||
		o.Source != fake.Host()+"/tags/acme" || o.MatchedRule != "#acme" {
		t.Errorf("status = %+v\ntext %q; want text %q, spoiler as title, lang de, engagement 5/2/1, followers 1234", o, o.Text, wantText)
	}
	b := by[mentionID(boost.URI)]
	if b == nil || b.Kind != pipeline.KindRepost || b.ParentID != o.ID || b.Text != wantText || b.Author.Handle != "anna@"+fake.Host() {
		t.Errorf("boost = %+v; want kind repost of %s by anna@%s with the original's text", b, o.ID, fake.Host())
	}
	if r := by[mentionID(reply.URI)]; r == nil || r.Kind != pipeline.KindReply {
		t.Errorf("reply = %+v; want kind reply", r)
	}
}

// The same post federated to two instances is one mention: the id is the
// status uri, and the stream drops the second copy.
func TestSamePostOnTwoInstancesIsOneMention(t *testing.T) {
	a, b := mastodonfake.New(t), mastodonfake.New(t)
	uri := "https://origin.example/users/zoe/statuses/1"
	for _, f := range []*mastodonfake.Server{a, b} {
		f.Add(&mastodonfake.Status{Tags: []string{"acme"}, URI: uri, Content: "<p>#acme rocks</p>", Account: mastodonfake.Account{Acct: "zoe@origin.example"}})
		f.Add(&mastodonfake.Status{Tags: []string{"acme"}, Content: "<p>local #acme</p>", Account: mastodonfake.Account{Acct: "local"}})
	}
	js := pipelinetest.StartJetStream(t)
	start(t, js, fastSource(t, fmt.Sprintf("instances: [{base_url: %s}, {base_url: %s}]\nhashtags: [acme]\n", a.URL, b.URL)))
	pipelinetest.WaitFor(t, 10*time.Second, "both instances read", func() bool {
		return len(a.Requests()) > 1 && len(b.Requests()) > 1 && len(js.Mentions(t, pipeline.StreamMentions)) >= 3
	})
	ms := js.Mentions(t, pipeline.StreamMentions)
	n := 0
	for _, m := range ms {
		if m.ID == mentionID(uri) {
			n++
		}
	}
	if n != 1 || len(ms) != 3 {
		t.Errorf("stream holds %d mentions, %d of the federated post; want 3 and 1", len(ms), n)
	}
}

// An instance that streams only to accounts answers 401: the connector logs
// why and polls the hashtag timeline instead, paging with min_id.
func TestStreamingRefusedFallsBackToPolling(t *testing.T) {
	fake := mastodonfake.New(t)
	fake.StreamNeedsAuth = true
	for i := range 45 { // more than one page of 40
		fake.Add(&mastodonfake.Status{Tags: []string{"acme"}, Content: fmt.Sprintf("<p>#acme %d</p>", i), Account: mastodonfake.Account{Acct: "u"}})
	}
	js := pipelinetest.StartJetStream(t)
	logs, _ := start(t, js, fastSource(t, fmt.Sprintf("instances: [{base_url: %s}]\nhashtags: [acme]\n", fake.URL)))
	pipelinetest.WaitFor(t, 10*time.Second, "the newest page", func() bool { return len(js.Mentions(t, pipeline.StreamMentions)) >= 40 })
	for i := range 50 {
		fake.Add(&mastodonfake.Status{Tags: []string{"acme"}, Content: fmt.Sprintf("<p>#acme later %d</p>", i), Account: mastodonfake.Account{Acct: "u"}})
	}
	pipelinetest.WaitFor(t, 10*time.Second, "the later posts, over two pages", func() bool { return len(js.Mentions(t, pipeline.StreamMentions)) >= 90 })
	if n := len(js.Mentions(t, pipeline.StreamMentions)); n != 90 {
		t.Errorf("stream holds %d; want 90 (the newest page of 40, then all 50 later)", n)
	}
	if !strings.Contains(logs.String(), "streams only to authenticated accounts") || !strings.Contains(logs.String(), "Missing access token") {
		t.Errorf("log does not say why it polls:\n%s", logs.String())
	}
	streams, minIDs := 0, 0
	for _, r := range fake.Requests() {
		if r.Path == "/api/v1/streaming/hashtag" {
			streams++
		}
		if r.Query.Get("min_id") != "" {
			minIDs++
		}
	}
	if streams != 1 || minIDs < 2 {
		t.Errorf("%d stream requests and %d min_id polls; want 1 refused stream, then polling with min_id", streams, minIDs)
	}
}

// With an access token the stream is allowed; a deletion that arrives
// before its status makes the status, when a poll returns it later, a
// tombstone: the deleted post is never published.
func TestDeleteBeforePost(t *testing.T) {
	fake := mastodonfake.New(t)
	fake.Heartbeat = 100 * time.Millisecond
	fake.StreamNeedsAuth = true
	fake.AccessToken = "tok"
	t.Setenv("EARSHOT_TEST_MASTODON_TOKEN", "tok")
	fake.Add(&mastodonfake.Status{Tags: []string{"acme"}, Content: "<p>#acme first</p>", Account: mastodonfake.Account{Acct: "u"}})
	js := pipelinetest.StartJetStream(t)
	_, mx := start(t, js, fastSource(t, fmt.Sprintf("instances: [{base_url: %s, access_token: {env: EARSHOT_TEST_MASTODON_TOKEN}}]\nhashtags: [acme]\n", fake.URL)))
	pipelinetest.WaitFor(t, 10*time.Second, "stream open", func() bool { return fake.OpenStreams() == 1 && len(js.Mentions(t, pipeline.StreamMentions)) == 1 })
	// A status the stream did not deliver (it arrived while disconnected),
	// deleted: the delete event comes first, the timeline still lists it.
	late := &mastodonfake.Status{Tags: []string{"acme"}, Content: "<p>#acme gone</p>", Account: mastodonfake.Account{Acct: "u"}}
	fake.AddQuiet(late)
	fake.PushDelete("acme", late.ID)
	pipelinetest.WaitFor(t, 10*time.Second, "the early deletion counted", func() bool {
		return testutil.ToFloat64(mx.ConnSkipped.WithLabelValues(Platform, "m", "delete_unseen")) == 1
	})
	fake.CutStreams() // the reconnect catches up through the timeline
	pipelinetest.WaitFor(t, 10*time.Second, "the late status", func() bool {
		for _, m := range js.Mentions(t, pipeline.StreamMentions) {
			if m.ID == mentionID(late.URI) {
				return true
			}
		}
		return false
	})
	for _, m := range js.Mentions(t, pipeline.StreamMentions) {
		if m.ID == mentionID(late.URI) && !m.Deleted {
			t.Errorf("the status deleted before it was read was published: %+v", m)
		}
	}
	for _, r := range fake.Requests() {
		if !r.Auth {
			t.Errorf("request to %s without the access token", r.Path)
		}
	}
}
