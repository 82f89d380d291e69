package twitter

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/twitter/xfake"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

const acmeQ = "acme OR acmecorp" // derived from testTopics[0]

func searchConfig() string {
	return `
type: twitter
name: x-test
base_url: BASE
bearer_token: {env: X_TEST_BEARER}
mode: search
`
}

func withBase(doc, base string) string { return strings.ReplaceAll(doc, "BASE", base) }

// addAcmePosts adds posts from..to matching the acme topic, one a second
// apart ending a minute ago.
func addAcmePosts(fake *xfake.Server, from, to int) {
	end := time.Now().Add(-time.Minute)
	for i := from; i <= to; i++ {
		fake.AddPosts(xfake.Post{ID: xfake.ID(i), AuthorID: "100", Text: "acme post " + xfake.ID(i), Lang: "en",
			CreatedAt: end.Add(-time.Duration(to-i) * time.Second), Matches: []string{acmeQ}})
	}
}

func TestSearchPaginatesAdvancesCursorAndResumes(t *testing.T) {
	fake := xfake.New(t)
	t.Setenv("X_TEST_BEARER", fake.BearerToken)
	fake.AddUsers(xfake.User{ID: "100", Username: "alice", Name: "Alice", Followers: 42, Verified: true})
	// Older than the 1h backfill window: must not be read on first start.
	fake.AddPosts(xfake.Post{ID: xfake.ID(0), AuthorID: "100", Text: "old acme", CreatedAt: time.Now().Add(-2 * time.Hour), Matches: []string{acmeQ}})
	addAcmePosts(fake, 1, 230)
	// Two requests per ~1-2 s: the three pages need a wait for the reset.
	fake.SetQuota("/2/tweets/search/recent", xfake.Quota{Limit: 2, Window: time.Second})

	js := pipelinetest.StartJetStream(t)
	env := js.SourceEnv(t, Platform, "x-test")
	topics := testTopics[:1]
	s := fastSource(t, withBase(searchConfig(), fake.URL), topics)
	stop := runSource(t, s, env)
	waitMentions(t, js, mentionIDs(seq(1, 230)...))
	pipelinetest.WaitFor(t, 10*time.Second, "a poll with since_id", func() bool {
		for _, r := range fake.RequestsTo("GET", "/2/tweets/search/recent") {
			if r.Query.Get("since_id") == xfake.ID(230) {
				return true
			}
		}
		return false
	})
	stop()

	reqs := fake.RequestsTo("GET", "/2/tweets/search/recent")
	first := reqs[0].Query
	if first.Get("since_id") != "" || first.Get("start_time") == "" || first.Get("max_results") != "100" {
		t.Errorf("first search query = %v; want start_time, no since_id, max_results=100", first)
	}
	for _, k := range []string{"expansions", "tweet.fields", "user.fields"} {
		if first.Get(k) == "" {
			t.Errorf("first search has no %s", k)
		}
	}
	if reqs[1].Query.Get("next_token") == "" || reqs[2].Query.Get("next_token") == "" {
		t.Errorf("pages 2 and 3 = %v, %v; want next_token", reqs[1].Query, reqs[2].Query)
	}
	if got := fake.Reads(); got != 230 {
		t.Errorf("posts read = %d; want 230 (each once)", got)
	}

	// Restart on the same cursors with new posts. The stop may cancel a
	// poll the fake has already counted, whose answer (and so its
	// rate-limit headers) the connector never reads; the restarted one
	// could then spend the last of a window it cannot know about (X would
	// answer 429, which it waits out). The restart gets a fresh window, so
	// what is checked is what the connector could know.
	fake.SetQuota("/2/tweets/search/recent", xfake.Quota{Limit: 2, Window: time.Second})
	addAcmePosts(fake, 231, 235)
	n := len(fake.RequestsTo("GET", "/2/tweets/search/recent"))
	s2 := fastSource(t, withBase(searchConfig(), fake.URL), topics)
	stop2 := runSource(t, s2, env)
	waitMentions(t, js, mentionIDs(seq(1, 235)...))
	stop2()
	if r := fake.RequestsTo("GET", "/2/tweets/search/recent")[n]; r.Query.Get("since_id") != xfake.ID(230) {
		t.Errorf("first search after restart = %v; want since_id=%s", r.Query, xfake.ID(230))
	}
	if got := fake.Reads(); got != 235 {
		t.Errorf("posts read = %d; want 235 (each once)", got)
	}
	assertNoViolations(t, fake)
	if got := ids(js.Mentions(t, pipeline.StreamMentions)); len(got) != 235 {
		t.Errorf("mentions after stop = %d; want 235", len(got))
	}
}

func TestSearchMapsPosts(t *testing.T) {
	fake := xfake.New(t)
	t.Setenv("X_TEST_BEARER", fake.BearerToken)
	fake.AddUsers(
		xfake.User{ID: "100", Username: "alice", Name: "Alice", Followers: 42, Verified: true},
		xfake.User{ID: "200", Username: "bob", Name: "Bob B", Followers: 7},
	)
	created := time.Now().Add(-30 * time.Minute).Truncate(time.Second).UTC()
	long := strings.Repeat("acme is great ", 30)
	fake.AddPosts(
		// The original of the repost; not itself matching.
		xfake.Post{ID: xfake.ID(1), AuthorID: "200", Text: long[:270] + "…", NoteText: long, CreatedAt: created, Lang: "en"},
		xfake.Post{ID: xfake.ID(2), AuthorID: "100", Text: "acme broke again", CreatedAt: created.Add(time.Second), Lang: "en",
			Likes: 3, Reposts: 4, Replies: 5, Quotes: 6, Views: 700, Matches: []string{acmeQ}},
		xfake.Post{ID: xfake.ID(3), AuthorID: "200", Text: "@alice same with acme", CreatedAt: created.Add(2 * time.Second), Lang: "en",
			ConversationID: xfake.ID(2), InReplyToUserID: "100", Refs: []xfake.Ref{{Type: "replied_to", ID: xfake.ID(2)}}, Matches: []string{acmeQ}},
		xfake.Post{ID: xfake.ID(4), AuthorID: "100", Text: "RT @bob: " + long[:120] + "…", CreatedAt: created.Add(3 * time.Second),
			Refs: []xfake.Ref{{Type: "retweeted", ID: xfake.ID(1)}}, Matches: []string{acmeQ}},
		xfake.Post{ID: xfake.ID(5), AuthorID: "200", Text: "this, about acme", CreatedAt: created.Add(4 * time.Second), Lang: "en",
			Refs: []xfake.Ref{{Type: "quoted", ID: xfake.ID(2)}}, Matches: []string{acmeQ}},
	)
	js := pipelinetest.StartJetStream(t)
	s := fastSource(t, withBase(searchConfig(), fake.URL), testTopics[:1])
	stop := runSource(t, s, js.SourceEnv(t, Platform, "x-test"))
	got := waitMentions(t, js, mentionIDs(2, 3, 4, 5))
	stop()

	byID := map[string]*pipeline.Mention{}
	for _, m := range got {
		byID[m.ID] = m
	}
	src := "x-test/" + acmeQ
	base := func(n int, kind, handle, name string, followers int64, verified bool, text string, at time.Time) pipeline.Mention {
		return pipeline.Mention{Schema: 1, ID: "twitter:" + xfake.ID(n), Platform: "twitter", Source: src, Kind: kind,
			URL: "https://x.com/" + handle + "/status/" + xfake.ID(n), Text: text, CreatedAt: at, MatchedRule: "acme",
			ConversationID: xfake.ID(n),
			Author:         pipeline.Author{ID: map[string]string{"alice": "100", "bob": "200"}[handle], Handle: handle, Name: name, Followers: followers, Verified: verified}}
	}
	post := base(2, "post", "alice", "Alice", 42, true, "acme broke again", created.Add(time.Second))
	post.Lang, post.Engagement = "en", pipeline.Engagement{Likes: 3, Reposts: 4, Replies: 5, Quotes: 6, Views: 700}
	reply := base(3, "reply", "bob", "Bob B", 7, false, "@alice same with acme", created.Add(2*time.Second))
	reply.Lang, reply.ParentID, reply.ConversationID = "en", xfake.ID(2), xfake.ID(2)
	repost := base(4, "repost", "alice", "Alice", 42, true, long, created.Add(3*time.Second))
	repost.ParentID = xfake.ID(1)
	quote := base(5, "quote", "bob", "Bob B", 7, false, "this, about acme", created.Add(4*time.Second))
	quote.Lang, quote.ParentID = "en", xfake.ID(2)
	for _, want := range []pipeline.Mention{post, reply, repost, quote} {
		m := byID[want.ID]
		if m == nil {
			t.Fatalf("mention %s missing", want.ID)
		}
		if m.CollectedAt.IsZero() {
			t.Errorf("%s: collected_at is zero", want.ID)
		}
		m.CollectedAt = time.Time{}
		m.CreatedAt = m.CreatedAt.UTC()
		want.CreatedAt = want.CreatedAt.UTC()
		if !reflect.DeepEqual(*m, want) {
			gj, _ := json.Marshal(m)
			wj, _ := json.Marshal(want)
			t.Errorf("mention %s =\n%s\nwant\n%s", want.ID, gj, wj)
		}
	}
}

func TestSearchWaitsOutRateLimitAndAuthErrors(t *testing.T) {
	fake := xfake.New(t)
	t.Setenv("X_TEST_BEARER", fake.BearerToken)
	addAcmePosts(fake, 1, 5)
	fake.Fail("/2/tweets/search/recent", http.StatusTooManyRequests, 1)
	fake.Fail("/2/tweets/search/recent", http.StatusServiceUnavailable, 1)
	js := pipelinetest.StartJetStream(t)
	s := fastSource(t, withBase(searchConfig(), fake.URL), testTopics[:1])
	stop := runSource(t, s, js.SourceEnv(t, Platform, "x-test"))
	waitMentions(t, js, mentionIDs(seq(1, 5)...))
	stop()
	assertNoViolations(t, fake)
	reqs := fake.RequestsTo("GET", "/2/tweets/search/recent")
	if reqs[0].Status != 429 || reqs[1].Status != 503 {
		t.Errorf("statuses = %d, %d; want 429, 503", reqs[0].Status, reqs[1].Status)
	}
}

func TestSearchRecoversFromRefusedCursor(t *testing.T) {
	tests := []struct {
		name   string
		cursor searchCursor
		log    string
	}{
		{"since_id older than 7 days", searchCursor{Query: acmeQ, SinceID: xfake.ID(0)}, "older than recent search reaches"},
		{"expired next_token", searchCursor{Query: acmeQ, StartTime: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), Page: "not-a-token", Newest: xfake.ID(1)}, "page token refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := xfake.New(t)
			t.Setenv("X_TEST_BEARER", fake.BearerToken)
			fake.AddPosts(xfake.Post{ID: xfake.ID(0), Text: "ancient acme", CreatedAt: time.Now().Add(-8 * 24 * time.Hour), Matches: []string{acmeQ}})
			addAcmePosts(fake, 1, 3)
			js := pipelinetest.StartJetStream(t)
			env, logs, _ := captureEnv(t, js, "x-test")
			raw, _ := json.Marshal(tc.cursor)
			if err := env.Cursors.Put(t.Context(), "search:acme", raw); err != nil {
				t.Fatal(err)
			}
			s := fastSource(t, withBase(searchConfig(), fake.URL), testTopics[:1])
			stop := runSource(t, s, env)
			waitMentions(t, js, mentionIDs(1, 2, 3))
			stop()
			if reqs := fake.RequestsTo("GET", "/2/tweets/search/recent"); reqs[0].Status != http.StatusBadRequest {
				t.Errorf("first search = %d; want the 400 this test plants", reqs[0].Status)
			}
			if !strings.Contains(logs.String(), tc.log) {
				t.Errorf("the refused cursor was not logged:\n%s", logs.String())
			}
		})
	}
}
