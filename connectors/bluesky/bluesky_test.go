package bluesky

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/earshot-dev/earshot/connectors/bluesky/jetstreamfake"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

func TestMappingMatchingAndProfiles(t *testing.T) {
	fake := jetstreamfake.New(t)
	var profiles []jetstreamfake.Profile
	for i := range 30 {
		profiles = append(profiles, jetstreamfake.Profile{DID: fmt.Sprintf("did:plc:u%d", i), Handle: fmt.Sprintf("u%d.bsky.social", i),
			DisplayName: fmt.Sprintf("User %d", i), Followers: int64(100 + i)})
	}
	fake.AddProfiles(profiles...)
	created := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	var want []string
	for i := range 30 { // 30 authors: two getProfiles requests of at most 25
		want = append(want, mentionID(fake.Create(fmt.Sprintf("did:plc:u%d", i), jetstreamfake.Post{Text: fmt.Sprintf("Acme post %d", i), Langs: []string{"pt", "en"}, CreatedAt: created})))
	}
	parent := want[0][len(Platform)+1:]
	reply := mentionID(fake.Create("did:plc:u1", jetstreamfake.Post{Text: "agree, acme rocks example.com/long… #Acme", ReplyTo: parent,
		Link: "https://example.com/long/path?q=1", Tag: "Acme"}))
	for range 50 {
		fake.Create("did:plc:noise", jetstreamfake.Post{Text: "nothing to see"})
	}
	tracked := mentionID(fake.Create("did:plc:u2", jetstreamfake.Post{Text: "hello @brand.example how are you"}))
	byDID := mentionID(fake.Create("did:plc:vip", jetstreamfake.Post{Text: "a post by a tracked account"}))
	fake.Identity("did:plc:u3", "u3-renamed.bsky.social")
	fake.Account("did:plc:u4", false, "deactivated")

	s := fastSource(t, fake, "handles: ['@brand.example']\ndids: ['did:plc:vip']\n")
	js := pipelinetest.StartJetStream(t)
	env := js.SourceEnv(t, Platform, "b")
	mx := pipeline.NewMetrics(prometheus.NewRegistry())
	env.Metrics = mx.Connector(Platform, "b")
	env.Matcher = wordMatcher{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.Run(ctx, env) })
	defer func() { cancel(); wg.Wait() }()
	var ms []*pipeline.Mention
	pipelinetest.WaitFor(t, 10*time.Second, "33 mentions", func() bool { ms = js.Mentions(t, pipeline.StreamMentions); return len(ms) >= 33 })
	by := map[string]*pipeline.Mention{}
	for _, m := range ms {
		by[m.ID] = m
	}
	for _, id := range append(want, reply, tracked, byDID) {
		if by[id] == nil {
			t.Errorf("mention %s was not published", id)
		}
	}
	if len(ms) != 33 {
		t.Errorf("published %d; want 33 (the noise skipped)", len(ms))
	}
	m := by[want[5]]
	rkey := want[5][len(want[5])-13:]
	if m.Author.Handle != "u5.bsky.social" || m.Author.Followers != 105 || m.Author.Name != "User 5" || m.Author.ID != "did:plc:u5" ||
		m.Lang != "pt" || !m.CreatedAt.Equal(created) || m.URL != "https://bsky.app/profile/u5.bsky.social/post/"+rkey || m.MatchedRule != "acme" {
		t.Errorf("post = %+v", m)
	}
	if r := by[reply]; r.Kind != pipeline.KindReply || r.ParentID != want[0] || r.ConversationID != want[0] ||
		len(r.Enrichment.Links) != 1 || r.Enrichment.Links[0] != "https://example.com/long/path?q=1" ||
		len(r.Enrichment.Hashtags) != 1 || r.Enrichment.Hashtags[0] != "acme" {
		t.Errorf("reply = %+v; want kind reply with parent and root %s, the link facet's full URI and tag acme", r, want[0])
	}
	if v := by[byDID]; v.URL != "https://bsky.app/profile/did:plc:vip/post/"+byDID[len(byDID)-13:] {
		t.Errorf("post of an unresolved author: url %q; want the DID in it", v.URL)
	}
	n, most := fake.ProfileRequests()
	if most > 25 || n < 2 {
		t.Errorf("%d getProfiles requests, at most %d actors; want at least 2 (30 authors) of at most 25", n, most)
	}
	if twice := fake.AskedTwice(); len(twice) > 0 {
		t.Errorf("profiles asked for more than once: %v; want each resolved once and cached", twice)
	}
	pipelinetest.WaitFor(t, 5*time.Second, "unmatched counted", func() bool {
		return testutil.ToFloat64(mx.ConnSkipped.WithLabelValues(Platform, "b", "unmatched")) >= 50
	})
	// A second post of a known author costs no request: profiles are cached.
	fake.Create("did:plc:u7", jetstreamfake.Post{Text: "acme again"})
	pipelinetest.WaitFor(t, 10*time.Second, "34 mentions", func() bool { return len(js.Mentions(t, pipeline.StreamMentions)) >= 34 })
	if n2, _ := fake.ProfileRequests(); n2 != n {
		t.Errorf("getProfiles requests went from %d to %d for a cached author", n, n2)
	}
}

func TestTIDTime(t *testing.T) {
	at := time.Date(2026, 12, 3, 8, 0, 0, 123456000, time.UTC)
	if got := tidTime(jetstreamfake.TID(at, 7)); !got.Equal(at) {
		t.Errorf("tidTime(TID(%v)) = %v", at, got)
	}
	if got := tidTime("not-a-tid"); !got.IsZero() {
		t.Errorf("tidTime(bad) = %v; want zero", got)
	}
}

// With the profile budget spent, kept posts are still published at once,
// with the DID as author, and the unresolved authors are counted.
func TestProfileBudget(t *testing.T) {
	fake := jetstreamfake.New(t)
	for i := range 60 {
		did := fmt.Sprintf("did:plc:b%d", i)
		fake.AddProfiles(jetstreamfake.Profile{DID: did, Handle: fmt.Sprintf("b%d.bsky.social", i)})
	}
	s := fastSource(t, fake, "profile_rate: 1\n")
	js := pipelinetest.StartJetStream(t)
	env := js.SourceEnv(t, Platform, "b")
	mx := pipeline.NewMetrics(prometheus.NewRegistry())
	env.Metrics = mx.Connector(Platform, "b")
	env.Matcher = wordMatcher{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.Run(ctx, env) })
	defer func() { cancel(); wg.Wait() }()
	for i := range 60 {
		fake.Create(fmt.Sprintf("did:plc:b%d", i), jetstreamfake.Post{Text: "acme"})
	}
	var ms []*pipeline.Mention
	pipelinetest.WaitFor(t, 10*time.Second, "60 mentions", func() bool { ms = js.Mentions(t, pipeline.StreamMentions); return len(ms) >= 60 })
	resolved := 0
	for _, m := range ms {
		if m.Author.Handle != "" {
			resolved++
		}
	}
	if n, _ := fake.ProfileRequests(); n != 1 || resolved > 25 {
		t.Errorf("%d getProfiles requests, %d authors resolved; want 1 request (the budget) and at most 25", n, resolved)
	}
	if u := testutil.ToFloat64(mx.ConnSkipped.WithLabelValues(Platform, "b", "profile_unresolved")); int(u)+resolved < 60 {
		t.Errorf("unresolved counted %v, resolved %d; want every author either resolved or counted", u, resolved)
	}
}

// A post kept before a restart is still known after it: its deletion
// becomes a tombstone. A deletion of a post never kept publishes nothing.
func TestDeletionAfterRestart(t *testing.T) {
	fake := jetstreamfake.New(t)
	js := pipelinetest.StartJetStream(t)
	env := js.SourceEnv(t, Platform, "b")
	env.Matcher = wordMatcher{}
	run := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		s := fastSource(t, fake, "")
		wg.Go(func() { _ = s.Run(ctx, env) })
		return func() { cancel(); wg.Wait() }
	}
	stop := run()
	kept := fake.Create("did:plc:a", jetstreamfake.Post{Text: "acme"})
	other := fake.Create("did:plc:a", jetstreamfake.Post{Text: "not tracked"})
	pipelinetest.WaitFor(t, 10*time.Second, "the kept post", func() bool { return len(js.Mentions(t, pipeline.StreamMentions)) == 1 })
	stop()
	stop = run()
	defer stop()
	fake.Delete(other)
	fake.Delete(kept)
	var ms []*pipeline.Mention
	pipelinetest.WaitFor(t, 10*time.Second, "the tombstone", func() bool { ms = js.Mentions(t, pipeline.StreamMentions); return len(ms) >= 2 })
	if len(ms) != 2 || !ms[1].Deleted || ms[1].ID != mentionID(kept) {
		t.Errorf("stream = %+v; want the post and its tombstone only", ms)
	}
}
