package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/appstore/appstorefake"
	"github.com/earshot-dev/earshot/connectors/discourse/discoursefake"
	"github.com/earshot-dev/earshot/connectors/hackernews/hnfake"
	"github.com/earshot-dev/earshot/connectors/stackexchange/sefake"
	"github.com/earshot-dev/earshot/connectors/youtube/ytfake"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

// Hacker News, Stack Exchange, App Store reviews, Discourse and YouTube
// through the whole pipeline into ClickHouse: an exact set of items from
// the five fakes is stored exactly once, across a restart with new items
// made while earshot was down; a 1-star review is in the response queue
// with its rating.
func TestEndToEndCommunityPlatformsToClickHouse(t *testing.T) {
	hn := hnfake.New(t)
	se := sefake.New(t)
	apps := appstorefake.New(t)
	forum := discoursefake.New(t)
	yt := ytfake.New(t)
	t.Setenv("EARSHOT_TEST_YT_KEY", yt.Key)
	const app, video = 284882215, "dQw4w9WgXcQ"
	yt.AddVideo(&ytfake.Video{ID: video, ChannelID: "UCuAXFkgsw1L7xaCfnd5JJOw", Title: "Acme X200"})

	var want []string
	hnStory := func(title string) {
		it := &hnfake.Item{Type: "story", Author: "pg", Title: title, Points: 10}
		hn.Add(it)
		want = append(want, fmt.Sprintf("hackernews:%d", it.ID))
	}
	seQuestion := func(title string) {
		p := &sefake.Post{Type: "question", Title: title, Body: "<p>acme question</p>", Owner: "ann", OwnerID: 1, IsAnswered: true}
		se.Add(p)
		want = append(want, fmt.Sprintf("stackexchange:stackoverflow:%d", p.ID))
	}
	review := func(rating int, title string) int64 {
		rv := &appstorefake.Review{App: app, Country: "us", Author: "user", Title: title, Content: "the acme app", Rating: rating, Version: "5.1"}
		apps.Add(rv)
		want = append(want, fmt.Sprintf("appstore:%d", rv.ID))
		return rv.ID
	}
	host := forum.URL[len("http://"):]
	var topic *discoursefake.Post
	forumPost := func(text string) {
		if topic == nil {
			topic = forum.Topic("Acme X200 owners", "alice", "<p>"+text+"</p>")
			want = append(want, fmt.Sprintf("discourse:%s:%d", host, topic.ID))
			return
		}
		p := &discoursefake.Post{TopicID: topic.TopicID, Username: "bob", Cooked: "<p>" + text + "</p>"}
		forum.Add(p)
		want = append(want, fmt.Sprintf("discourse:%s:%d", host, p.ID))
	}
	var thread *ytfake.Comment
	ytComment := func(text string) {
		c := &ytfake.Comment{VideoID: video, Author: "viewer", Text: text}
		if thread != nil {
			c.ParentID = thread.ID
		}
		yt.Add(c)
		if thread == nil {
			thread = c
		}
		want = append(want, "youtube:"+c.ID)
	}

	hnStory("Acme raises prices")
	hnStory("Show HN: an acme alternative")
	hn.Add(&hnfake.Item{Type: "story", Author: "x", Title: "Unrelated news"}) // matches no topic query
	seQuestion("How do I reset an acme router?")
	seQuestion("acme SDK throws on start")
	oneStar := review(1, "Love the icon")
	review(5, "Great")
	forumPost("acme firmware 2.0 is out")
	forumPost("thanks acme")
	ytComment("acme, when does it ship?")
	ytComment("same question")

	ch := chtest.NewDatabase(t)
	db := ch.Database
	connectors := []map[string]any{
		{"type": "hackernews", "name": "hn", "base_url": hn.URL, "interval": "1s"},
		{"type": "stackexchange", "name": "se", "base_url": se.URL, "sites": []string{"stackoverflow"}, "interval": "1s"},
		{"type": "appstore", "name": "reviews", "base_url": apps.URL, "interval": "1s", "requests_per_minute": 600,
			"apps": []map[string]any{{"id": app, "countries": []string{"us"}, "topic": "acme"}}},
		{"type": "discourse", "name": "forum", "forums": []map[string]any{{"base_url": forum.URL}}, "interval": "1s", "requests_per_minute": 600},
		{"type": "youtube", "name": "yt", "base_url": yt.URL, "key": map[string]string{"env": "EARSHOT_TEST_YT_KEY"},
			"videos": []string{video}, "interval": "1s"},
	}
	cfg := parseTestConfig(t, "community-e2e.yaml", map[string]any{
		"data_dir":   t.TempDir(),
		"log":        map[string]any{"level": "debug"},
		"http":       map[string]any{"listen": "off"},
		"nats":       map[string]any{"embedded": map[string]any{"port": -1}},
		"clickhouse": chConfigMap(ch),
		"topics":     []map[string]any{{"id": "acme", "query": "acme", "handles": []string{"acme"}}},
		"sink":       map[string]any{"flush_interval": "200ms"},
		"connectors": connectors,
	})
	count := func(in *infra) uint64 { return queryCount(t, in, "SELECT count() FROM "+db+".mentions") }

	in, stop := startPipeline(t, cfg)
	n := uint64(len(want))
	pipelinetest.WaitFor(t, 60*time.Second, fmt.Sprintf("%d items stored", n), func() bool { return count(in) >= n })
	stop()

	// Made while earshot is down: one more item on each platform.
	hnStory("Acme outage today")
	seQuestion("acme CLI on Windows?")
	review(3, "OK")
	forumPost("acme support answered me")
	ytComment("acme replied, thanks")
	in, stop = startPipeline(t, cfg)
	defer stop()
	n = uint64(len(want))
	pipelinetest.WaitFor(t, 60*time.Second, fmt.Sprintf("%d items stored after the restart", n), func() bool { return count(in) >= n })
	requests := len(hn.Requests()) + len(se.Requests()) + len(apps.Requests()) + len(forum.Requests()) + len(yt.Requests())
	pipelinetest.WaitFor(t, 30*time.Second, "more polls and an idle pipeline", func() bool {
		now := len(hn.Requests()) + len(se.Requests()) + len(apps.Requests()) + len(forum.Requests()) + len(yt.Requests())
		return now >= requests+10 && idle(t, in)
	})

	// Physical rows, not FINAL: a graceful stop lets the sink's INSERT in
	// flight finish and acknowledges it, so nothing is written twice here.
	// (Before that, a stop that landed after ClickHouse committed a batch
	// but before the client read the reply cut the INSERT off, and the
	// sink's drain wrote the batch again: identical rows, same collected_at
	// and ingested_at. See TestStopDuringAnInsertStoresEachMentionOnce.)
	// Other at-least-once paths (a crash, a timed-out INSERT) can still
	// leave duplicate rows that only FINAL folds; none of them happens in
	// this test, and the uniqExact and FINAL checks below hold regardless.
	if got := count(in); got != n {
		t.Errorf("rows = %d; want %d (each item once, nothing lost, nothing duplicated)", got, n)
		// Which ids have more than one row, and how the rows differ.
		for _, r := range queryStrings(t, in, "SELECT concat(id, ' collected_at=', toString(collected_at), ' ingested_at=', toString(ingested_at), ' likes=', toString(likes), ' replies=', toString(replies), ' edited_at=', toString(edited_at), ' text=', substring(text, 1, 40)) FROM "+db+
			".mentions WHERE id IN (SELECT id FROM "+db+".mentions GROUP BY id HAVING count() > 1) ORDER BY id, collected_at") {
			t.Logf("  row: %s", r)
		}
	}
	stored := queryStrings(t, in, "SELECT id FROM "+db+".mentions FINAL ORDER BY id")
	have := map[string]bool{}
	for _, id := range stored {
		have[id] = true
	}
	for _, id := range want {
		if !have[id] {
			t.Errorf("item %s was not stored", id)
		}
	}
	if len(stored) != len(want) {
		t.Errorf("stored ids %v; want exactly %v", stored, want)
	}
	for sql, wantN := range map[string]uint64{
		"SELECT uniqExact(id) FROM " + db + ".mentions": n,
		"SELECT count() FROM " + db + ".mentions FINAL WHERE platform = 'appstore' AND kind = 'review' AND rating BETWEEN 1 AND 5":       3,
		fmt.Sprintf("SELECT count() FROM %s.mentions FINAL WHERE id = 'appstore:%d' AND rating = 1 AND needs_response = 1", db, oneStar): 1,
		"SELECT count() FROM " + db + ".mentions FINAL WHERE platform = 'stackexchange' AND answered = 1":                                3,
		"SELECT count() FROM " + db + ".mentions FINAL WHERE platform = 'youtube' AND kind = 'reply'":                                    2,
		"SELECT count() FROM " + db + ".mentions_dedup WHERE rating = 1":                                                                 1,
	} {
		if got := queryCount(t, in, sql); got != wantN {
			t.Errorf("%s = %d; want %d", sql, got, wantN)
		}
	}
	if v := append(append(hn.Window.Violations(), se.Violations()...), apps.Window.Violations()...); len(v) > 0 {
		t.Errorf("requests broke announced limits: %v", v)
	}
}
