package reddit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/earshot-dev/earshot/connectors/reddit/redditfake"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

// runFor runs s against a fresh JetStream until cond holds on the stream.
func runUntil(t *testing.T, s *Source, what string, cond func([]*pipeline.Mention) bool) ([]*pipeline.Mention, *pipeline.Metrics) {
	t.Helper()
	js := pipelinetest.StartJetStream(t)
	env := js.SourceEnv(t, Platform, "r")
	mx := pipeline.NewMetrics(prometheus.NewRegistry())
	env.Metrics = mx.Connector(Platform, "r")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.Run(ctx, env); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	defer func() { cancel(); wg.Wait() }()
	var ms []*pipeline.Mention
	pipelinetest.WaitFor(t, 20*time.Second, what, func() bool {
		ms = js.Mentions(t, pipeline.StreamMentions)
		return cond(ms)
	})
	return ms, mx
}

func TestMappingPostsCommentsSearch(t *testing.T) {
	fake := redditfake.New(t)
	created := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	post := &redditfake.Item{Kind: "t3", Subreddit: "gadgets", Title: "Acme X200 review", Body: "it works", Author: "alice",
		Created: created, Score: 42, NumComments: 3}
	fake.Add(post)
	comment := &redditfake.Item{Kind: "t1", Subreddit: "gadgets", Body: "mine broke", Author: "[deleted]",
		Created: created.Add(time.Minute), Score: -2, ParentID: post.Name(), LinkID: post.Name()}
	removed := &redditfake.Item{Kind: "t1", Subreddit: "gadgets", Body: "[removed]", Author: "bob",
		Created: created.Add(2 * time.Minute), ParentID: post.Name(), LinkID: post.Name()}
	other := &redditfake.Item{Kind: "t3", Subreddit: "news", Title: "Acme Corp recalls", Body: "", Author: "carol", Created: created.Add(3 * time.Minute)}
	fake.Add(comment, removed, other)

	s := fastSource(t, fake, "subreddits: [gadgets]\nsearch: true\nrefresh: 0s\n")
	ms, mx := runUntil(t, s, "3 mentions", func(ms []*pipeline.Mention) bool { return len(ms) >= 3 })
	by := map[string]*pipeline.Mention{}
	for _, m := range ms {
		by[m.ID] = m
	}
	p := by["reddit:"+post.Name()]
	if p == nil || p.Kind != pipeline.KindPost || p.Title != "Acme X200 review" || p.Text != "it works" || p.Source != "r/gadgets" ||
		p.Author.Handle != "alice" || p.Engagement.Likes != 42 || p.Engagement.Replies != 3 || !p.CreatedAt.Equal(created) ||
		p.URL != "https://www.reddit.com/r/gadgets/comments/"+post.ID+"/post/" {
		t.Errorf("post = %+v", p)
	}
	c := by["reddit:"+comment.Name()]
	if c == nil || c.Kind != pipeline.KindComment || c.ParentID != "reddit:"+post.Name() || c.ConversationID != "reddit:"+post.Name() ||
		c.Author.Handle != "" || c.Engagement.Likes != -2 || c.Text != "mine broke" {
		t.Errorf("comment = %+v; want kind comment, parent and conversation the post, author empty", c)
	}
	o := by["reddit:"+other.Name()]
	if o == nil || o.MatchedRule != "acme" || o.Source != "r/news" {
		t.Errorf("search result = %+v; want matched_rule acme, source r/news", o)
	}
	if by["reddit:"+removed.Name()] != nil {
		t.Errorf("removed comment was published")
	}
	pipelinetest.WaitFor(t, 5*time.Second, "removed counted", func() bool {
		return testutil.ToFloat64(mx.ConnSkipped.WithLabelValues(Platform, "r", "removed")) >= 1
	})
	if len(ms) != 3 {
		t.Errorf("published %d mentions; want 3", len(ms))
	}
	if v := fake.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}

// The token is requested once with basic auth and reused until the API
// answers 401 (here: revoked); then it is renewed and reading goes on.
func TestTokenRenewedOn401(t *testing.T) {
	fake := redditfake.New(t)
	fake.Add(&redditfake.Item{Kind: "t3", Subreddit: "acme", Title: "one", Author: "a"})
	s := fastSource(t, fake, "subreddits: [acme]\ncomments: false\nrefresh: 0s\n")
	revoked := false
	runUntil(t, s, "two posts, one before and one after the revocation", func(ms []*pipeline.Mention) bool {
		if !revoked && len(ms) == 1 && len(fake.Requests()) > 3 {
			revoked = true
			fake.RevokeTokens()
			fake.Add(&redditfake.Item{Kind: "t3", Subreddit: "acme", Title: "two", Author: "a"})
		}
		return len(ms) == 2
	})
	var tokens, unauthorized int
	for _, r := range fake.Requests() {
		switch {
		case r.Path == "/api/v1/access_token" && r.Status == 200:
			tokens++
		case r.Status == 401:
			unauthorized++
		}
	}
	if tokens != 2 || unauthorized != 1 {
		t.Errorf("%d tokens and %d 401 answers; want 2 tokens (the first reused until revoked) and one 401", tokens, unauthorized)
	}
}

func TestBadCredentialsAreAnAuthError(t *testing.T) {
	fake := redditfake.New(t)
	fake.ClientSecret = "other"
	s := fastSource(t, fake, "subreddits: [acme]\ncomments: false\nrefresh: 0s\n")
	fake.ClientSecret = "right"
	js := pipelinetest.StartJetStream(t)
	env := js.SourceEnv(t, Platform, "r")
	mx := pipeline.NewMetrics(prometheus.NewRegistry())
	env.Metrics = mx.Connector(Platform, "r")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.Run(ctx, env) })
	defer func() { cancel(); wg.Wait() }()
	pipelinetest.WaitFor(t, 10*time.Second, "auth error counted", func() bool {
		return testutil.ToFloat64(mx.ConnErrors.WithLabelValues(Platform, "r", "auth")) >= 2
	})
	for _, r := range fake.Requests() {
		if r.Path != "/api/v1/access_token" {
			t.Fatalf("request to %s without a token", r.Path)
		}
	}
}
