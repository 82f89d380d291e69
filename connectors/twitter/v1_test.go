package twitter

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/earshot-dev/earshot/connectors/twitter/xfake"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

func v1Config(mode string) string {
	return `
type: twitter
name: x-test
api: v1.1
base_url: BASE/1.1/
bearer_token: {env: X_TEST_BEARER}
mode: ` + mode + "\n"
}

func TestV1SearchThroughGoTwitter(t *testing.T) {
	fake := xfake.New(t)
	t.Setenv("X_TEST_BEARER", fake.BearerToken)
	fake.AddUsers(xfake.User{ID: "100", Username: "alice", Name: "Alice", Followers: 42, Verified: true},
		xfake.User{ID: "200", Username: "bob", Name: "Bob"})
	fake.AddPosts(xfake.Post{ID: xfake.ID(0), AuthorID: "100", Text: "old acme", CreatedAt: time.Now().Add(-2 * time.Hour), Matches: []string{acmeQ}})
	addAcmePosts(fake, 1, 150)
	at := time.Now().Add(-30 * time.Second).Truncate(time.Second).UTC()
	long := strings.Repeat("acme rocks ", 30)
	fake.AddPosts(
		xfake.Post{ID: xfake.ID(151), AuthorID: "200", NoteText: long, Text: long[:200], CreatedAt: at, Lang: "en", Likes: 2, Reposts: 3, Replies: 4, Quotes: 5, Matches: []string{acmeQ}},
		xfake.Post{ID: xfake.ID(152), AuthorID: "100", Text: "@bob acme indeed", CreatedAt: at, InReplyToUserID: "200",
			Refs: []xfake.Ref{{Type: "replied_to", ID: xfake.ID(151)}}, Matches: []string{acmeQ}},
		xfake.Post{ID: xfake.ID(153), AuthorID: "100", Text: "RT @bob: acme rocks acme rocks…", CreatedAt: at,
			Refs: []xfake.Ref{{Type: "retweeted", ID: xfake.ID(151)}}, Matches: []string{acmeQ}},
		xfake.Post{ID: xfake.ID(154), AuthorID: "200", Text: "look at acme", CreatedAt: at,
			Refs: []xfake.Ref{{Type: "quoted", ID: xfake.ID(152)}}, Matches: []string{acmeQ}},
	)
	fake.SetQuota("/1.1/search/tweets.json", xfake.Quota{Limit: 1, Window: time.Second})
	js := pipelinetest.StartJetStream(t)
	s := fastSource(t, withBase(v1Config("search"), fake.URL), testTopics[:1])
	stop := runSource(t, s, js.SourceEnv(t, Platform, "x-test"))
	got := waitMentions(t, js, mentionIDs(seq(1, 154)...))
	pipelinetest.WaitFor(t, 10*time.Second, "a poll with since_id", func() bool {
		for _, r := range fake.RequestsTo("GET", "/1.1/search/tweets.json") {
			if r.Query.Get("since_id") == xfake.ID(154) {
				return true
			}
		}
		return false
	})
	stop()
	reqs := fake.RequestsTo("GET", "/1.1/search/tweets.json")
	if q := reqs[0].Query; q.Get("q") != acmeQ || q.Get("tweet_mode") != "extended" || q.Get("count") != "100" || q.Get("since_id") != "" {
		t.Errorf("first v1.1 search = %v", q)
	}
	if q := reqs[1].Query; q.Get("max_id") == "" {
		t.Errorf("second v1.1 search = %v; want max_id", q)
	}
	assertNoViolations(t, fake)

	byID := map[string]*pipeline.Mention{}
	for _, m := range got {
		byID[strings.TrimPrefix(m.ID, "twitter:")] = m
	}
	tests := []struct {
		id                         string
		kind, parent, text, handle string
	}{
		{xfake.ID(151), "post", "", long, "bob"},
		{xfake.ID(152), "reply", xfake.ID(151), "@bob acme indeed", "alice"},
		{xfake.ID(153), "repost", xfake.ID(151), long, "alice"},
		{xfake.ID(154), "quote", xfake.ID(152), "look at acme", "bob"},
	}
	for _, tc := range tests {
		m := byID[tc.id]
		if m.Kind != tc.kind || m.ParentID != tc.parent || m.Text != tc.text || m.Author.Handle != tc.handle ||
			m.URL != "https://x.com/"+tc.handle+"/status/"+tc.id || m.MatchedRule != "acme" || !m.CreatedAt.Equal(at) {
			t.Errorf("v1.1 mention %s = %+v; want kind %s parent %q handle %s text %.20q…", tc.id, m, tc.kind, tc.parent, tc.handle, tc.text)
		}
	}
	if m := byID[xfake.ID(151)]; m.Engagement != (pipeline.Engagement{Likes: 2, Reposts: 3, Replies: 4, Quotes: 5}) ||
		m.Author != (pipeline.Author{ID: "200", Handle: "bob", Name: "Bob"}) || m.Lang != "en" {
		t.Errorf("v1.1 mention %s engagement, author, lang = %+v, %+v, %q", m.ID, m.Engagement, m.Author, m.Lang)
	}
}

func TestV1StreamWithOAuth1(t *testing.T) {
	fake := xfake.New(t)
	fake.ConsumerKey, fake.ConsumerSecret, fake.AccessToken, fake.AccessSecret = "ck", "cs", "at", "as"
	fake.BearerToken = ""
	t.Setenv("X_CK", "ck")
	t.Setenv("X_CS", "cs")
	t.Setenv("X_AT", "at")
	t.Setenv("X_AS", "as")
	t.Setenv("X_AS_WRONG", "nope")
	fake.AddUsers(xfake.User{ID: "100", Username: "alice", Name: "Alice"})
	long := strings.Repeat("acme widgets ", 20)
	for i := 1; i <= 6; i++ {
		fake.AddPosts(xfake.Post{ID: xfake.ID(i), AuthorID: "100", Text: "acme stream " + xfake.ID(i), CreatedAt: time.Now()})
	}
	fake.AddPosts(
		xfake.Post{ID: xfake.ID(7), AuthorID: "100", Text: long, CreatedAt: time.Now()},
		xfake.Post{ID: xfake.ID(8), AuthorID: "100", Text: "RT @alice: acme widgets…", CreatedAt: time.Now(), Refs: []xfake.Ref{{Type: "retweeted", ID: xfake.ID(7)}}},
	)
	doc := func(secret string) string {
		return strings.NewReplacer("BASE", fake.URL, "bearer_token: {env: X_TEST_BEARER}\n",
			"consumer_key: {env: X_CK}\nconsumer_secret: {env: X_CS}\naccess_token: {env: X_AT}\naccess_token_secret: {env: "+secret+"}\n").
			Replace(v1Config("stream"))
	}
	js := pipelinetest.StartJetStream(t)

	// A wrong secret signs wrongly: refused, logged, retried slowly.
	env, logs, _ := captureEnv(t, js, "x-test")
	bad := fastSource(t, doc("X_AS_WRONG"), testTopics[:1])
	stopBad := runSource(t, bad, env)
	pipelinetest.WaitFor(t, 10*time.Second, "two refused connects", func() bool {
		return len(fake.RequestsTo(http.MethodPost, "/1.1/statuses/filter.json")) >= 2
	})
	stopBad()
	for _, r := range fake.RequestsTo(http.MethodPost, "/1.1/statuses/filter.json") {
		if r.Status != http.StatusUnauthorized {
			t.Errorf("connect with a wrong secret = %d; want 401", r.Status)
		}
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || strings.Contains(l, "nope") {
		t.Errorf("log of a 401 lacks an error or shows the secret:\n%s", l)
	}

	s := fastSource(t, doc("X_AS"), testTopics[:1])
	stop := runSource(t, s, js.SourceEnv(t, Platform, "x-test"))
	pipelinetest.WaitFor(t, 10*time.Second, "a stream connection", func() bool { return fake.OpenStreams() == 1 })
	fake.StreamPosts(xfake.ID(1), xfake.ID(2))
	fake.StreamDelete(xfake.ID(2))
	fake.StreamRaw(`{"created_at": broken`)
	fake.StreamPosts(xfake.ID(3))
	fake.StreamCut()
	fake.StreamPosts(xfake.ID(4), xfake.ID(5))
	fake.StreamStall()
	fake.StreamPosts(xfake.ID(6), xfake.ID(7), xfake.ID(8), xfake.ID(1))
	got := waitMentions(t, js, mentionIDs(seq(1, 8)...))
	pipelinetest.WaitFor(t, 10*time.Second, "all stream events written", func() bool { return fake.PendingEvents() == 0 })
	stop()
	for _, m := range got {
		want := "acme stream " + strings.TrimPrefix(m.ID, "twitter:")
		if m.ID == "twitter:"+xfake.ID(7) || m.ID == "twitter:"+xfake.ID(8) {
			want = long
		}
		if m.Text != want || m.MatchedRule != "acme" || m.Source != "x-test/"+acmeQ {
			t.Errorf("v1.1 stream mention %s text, matched, source = %.30q…, %q, %q; want %.30q…, acme", m.ID, m.Text, m.MatchedRule, m.Source, want)
		}
	}
	if got := testutil.ToFloat64(s.mx.deletions.WithLabelValues("x-test")); got != 1 {
		t.Errorf("deletion notices = %v; want 1", got)
	}
	var tombs []*pipeline.Mention
	for _, m := range js.Mentions(t, pipeline.StreamMentions) {
		if m.Deleted {
			tombs = append(tombs, m)
		}
	}
	if len(tombs) != 1 || tombs[0].ID != "twitter:"+xfake.ID(2) || tombs[0].CreatedAt.Year() < 2020 {
		t.Errorf("tombstones = %+v; want one for post 2, created_at from its snowflake id", tombs)
	}
	// The broken line, and the line cut by the disconnect (go-twitter hands
	// a partial last line on as a message; it fails to parse and is skipped).
	if got := testutil.ToFloat64(s.mx.stream.WithLabelValues("x-test", "malformed")); got != 2 {
		t.Errorf("malformed lines = %v; want 2", got)
	}
	for _, tr := range fake.TrackParams() {
		if tr != "acme,acmecorp" {
			t.Errorf("track = %q; want acme,acmecorp", tr)
		}
	}
	if n := fake.MaxConcurrentStreams(); n != 1 {
		t.Errorf("most concurrent streams = %d; want 1", n)
	}
	assertNoViolations(t, fake)
}

func TestRewriteTransport(t *testing.T) {
	tests := []struct{ base, in, want string }{
		{"http://gw.local/x/1.1/", "https://api.twitter.com/1.1/search/tweets.json?q=a", "http://gw.local/x/1.1/search/tweets.json?q=a"},
		{"http://gw.local/", "https://stream.twitter.com/1.1/statuses/filter.json?track=a", "http://gw.local/statuses/filter.json?track=a"},
		{"http://gw.local/", "https://example.com/1.1/x", "https://example.com/1.1/x"},
	}
	for _, tc := range tests {
		var got string
		rt := &rewriteTransport{base: mustURL(t, tc.base), next: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			got = r.URL.String()
			return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
		})}
		req, _ := http.NewRequest(http.MethodGet, tc.in, nil)
		if _, err := rt.RoundTrip(req); err != nil || got != tc.want {
			t.Errorf("rewrite(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if req.URL.String() != tc.in {
			t.Errorf("rewrite(%q) changed the caller's request to %q", tc.in, req.URL)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
