package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/bluesky/jetstreamfake"
	"github.com/earshot-dev/earshot/connectors/mastodon/mastodonfake"
	"github.com/earshot-dev/earshot/connectors/reddit/redditfake"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

// Reddit, Mastodon and Bluesky through the whole pipeline into ClickHouse:
// posts, comments, a boost and network noise, an edit and a deletion on
// each platform, a restart with posts made while stopped. mentions_dedup ends up with
// exactly the live posts, each once, with the edited texts; the deleted
// ones are stored as tombstones and shown nowhere.
func TestEndToEndRedditMastodonBlueskyToClickHouse(t *testing.T) {
	t.Setenv("EARSHOT_TEST_REDDIT_ID", "client")
	t.Setenv("EARSHOT_TEST_REDDIT_SECRET", "secret")
	rf := redditfake.New(t)
	mf := mastodonfake.New(t)
	mf.Heartbeat = time.Second
	bf := jetstreamfake.New(t)
	bf.AddProfiles(jetstreamfake.Profile{DID: "did:plc:erin", Handle: "erin.bsky.social", DisplayName: "Erin", Followers: 77})

	var live []string // mention ids expected in mentions_dedup
	redditPost := func(title string) *redditfake.Item {
		it := &redditfake.Item{Kind: "t3", Subreddit: "acme", Title: title, Body: "about acme", Author: "alice", Score: 3}
		rf.Add(it)
		live = append(live, "reddit:"+it.Name())
		return it
	}
	toot := func(text string) *mastodonfake.Status {
		st := &mastodonfake.Status{Tags: []string{"acme"}, Content: "<p>" + text + " #acme</p>", Account: mastodonfake.Account{Acct: "bob", Followers: 9}}
		mf.Add(st)
		live = append(live, "mastodon:"+st.URI)
		return st
	}
	skeet := func(text string) string {
		bf.Create("did:plc:noise", jetstreamfake.Post{Text: "unrelated"})
		uri := bf.Create("did:plc:erin", jetstreamfake.Post{Text: text, Langs: []string{"en"}})
		live = append(live, "bluesky:"+uri)
		return uri
	}
	rEdit := redditPost("acme one")
	redditPost("acme two")
	rComment := &redditfake.Item{Kind: "t1", Subreddit: "acme", Body: "acme comment", Author: "carol", ParentID: rEdit.Name(), LinkID: rEdit.Name()}
	rf.Add(rComment)
	mEdit := toot("acme first")
	mDel := toot("acme second")
	boost := &mastodonfake.Status{Tags: []string{"acme"}, Reblog: mEdit, Account: mastodonfake.Account{Acct: "dan"}}
	mf.Add(boost)
	live = append(live, "mastodon:"+boost.URI)
	bEdit := skeet("acme on bluesky")
	bDel := skeet("acme to delete")

	ch := chtest.NewDatabase(t)
	cfg := parseTestConfig(t, "social-e2e.yaml", map[string]any{
		"data_dir":   t.TempDir(),
		"log":        map[string]any{"level": "debug"},
		"http":       map[string]any{"listen": "off"},
		"nats":       map[string]any{"embedded": map[string]any{"port": -1}},
		"clickhouse": chConfigMap(ch),
		"topics":     []map[string]any{{"id": "acme", "query": "acme"}},
		"sink":       map[string]any{"flush_interval": "200ms"},
		"connectors": []map[string]any{
			{"type": "reddit", "name": "reddit", "auth_url": rf.AuthURL(), "base_url": rf.URL, "user_agent": "test:earshot:v0 (by /u/earshot)",
				"client_id": map[string]string{"env": "EARSHOT_TEST_REDDIT_ID"}, "client_secret": map[string]string{"env": "EARSHOT_TEST_REDDIT_SECRET"},
				"subreddits": []string{"acme"}, "interval": "1s", "refresh_interval": "1s"},
			{"type": "mastodon", "name": "mastodon", "instances": []map[string]any{{"base_url": mf.URL}}, "hashtags": []string{"acme"}, "interval": "1s"},
			{"type": "bluesky", "name": "bluesky", "base_url": bf.WSURL, "appview_url": bf.URL, "backfill": "1m", "rewind": "2s"},
		},
	})
	db := ch.Database
	liveIDs := func(in *infra) []string {
		return queryStrings(t, in, "SELECT id FROM "+db+".mentions_dedup ORDER BY id")
	}
	want := func() []string { w := slices.Clone(live); slices.Sort(w); return w }
	waitLive := func(in *infra, what string) {
		t.Helper()
		pipelinetest.WaitFor(t, 60*time.Second, what, func() bool { return slices.Equal(liveIDs(in), want()) })
	}

	in, stop := startPipeline(t, cfg)
	live = append(live, "reddit:"+rComment.Name())
	waitLive(in, "the first posts stored")

	// An edit and a deletion on each platform, and a new post each.
	rf.Edit(rEdit.Name(), "acme one, edited")
	rf.Delete(rComment.Name())
	mf.Edit(mEdit.ID, "<p>acme first, edited</p>")
	mf.Delete(mDel.ID)
	bf.Update(bEdit, jetstreamfake.Post{Text: "acme on bluesky, edited"})
	bf.Delete(bDel)
	live = slices.DeleteFunc(live, func(id string) bool {
		return id == "reddit:"+rComment.Name() || id == "mastodon:"+mDel.URI || id == "bluesky:"+bDel
	})
	redditPost("acme three")
	toot("acme third")
	skeet("acme skeet three")
	pipelinetest.WaitFor(t, 60*time.Second, "the edits stored", func() bool {
		return queryCount(t, in, "SELECT count() FROM "+db+".mentions_dedup WHERE text LIKE '%edited%'") == 3
	})
	waitLive(in, "deletions applied and new posts stored")
	stop()

	// Posts made while earshot is stopped arrive after the restart.
	redditPost("acme while stopped")
	toot("acme while stopped")
	skeet("acme skeet while stopped")
	in, stop = startPipeline(t, cfg)
	defer stop()
	waitLive(in, "the posts made while stopped")
	pipelinetest.WaitFor(t, 30*time.Second, "an idle pipeline", func() bool { return idle(t, in) })

	got := liveIDs(in)
	if !slices.Equal(got, want()) {
		t.Errorf("mentions_dedup ids = %v; want %v", got, want())
	}
	checks := []struct {
		sql  string
		want uint64
	}{
		{"SELECT count() FROM " + db + ".mentions_dedup", uint64(len(live))},
		{"SELECT uniqExact(id) FROM " + db + ".mentions_dedup", uint64(len(live))},
		{"SELECT count() FROM " + db + ".mentions FINAL WHERE deleted = 1", 3},
		{fmt.Sprintf("SELECT count() FROM %s.mentions_dedup WHERE id = 'bluesky:%s' AND text = 'acme on bluesky, edited' AND author_handle = 'erin.bsky.social' AND author_followers = 77", db, bEdit), 1},
		{fmt.Sprintf("SELECT count() FROM %s.mentions_dedup WHERE id = 'reddit:%s' AND text = 'acme one, edited' AND edited_at > toDateTime(0)", db, rEdit.Name()), 1},
		{fmt.Sprintf("SELECT count() FROM %s.mentions_dedup WHERE id = 'mastodon:%s' AND text = 'acme first, edited'", db, mEdit.URI), 1},
		{fmt.Sprintf("SELECT count() FROM %s.mentions_dedup WHERE id = 'mastodon:%s' AND kind = 'repost' AND parent_id = 'mastodon:%s'", db, boost.URI, mEdit.URI), 1},
		{"SELECT count() FROM " + db + ".mentions_dedup WHERE has(topics, 'acme')", uint64(len(live))},
		{"SELECT toUInt64(sum(mentions)) FROM " + db + ".mentions_per_minute", uint64(len(live))},
	}
	for _, c := range checks {
		if n := queryCount(t, in, c.sql); n != c.want {
			t.Errorf("%s = %d; want %d", c.sql, n, c.want)
		}
	}
	if v := append(append(rf.Violations(), mf.Violations()...), bf.Violations()...); len(v) > 0 {
		t.Errorf("requests broke the platforms' announced limits: %s", strings.Join(v, "; "))
	}
}
