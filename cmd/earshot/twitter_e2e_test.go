package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/twitter"
	"github.com/earshot-dev/earshot/connectors/twitter/xfake"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

// X recent search through the whole pipeline into ClickHouse: pagination,
// rate-limit windows, new posts while running, a restart; every post is
// stored exactly once and no request breaks the announced limits.
func TestEndToEndXSearchToClickHouse(t *testing.T) {
	t.Setenv("EARSHOT_TEST_X_BEARER", "test-bearer-token")
	fake := xfake.New(t)
	fake.SetQuota("/2/tweets/search/recent", xfake.Quota{Limit: 3, Window: 2 * time.Second})
	fake.AddUsers(xfake.User{ID: "100", Username: "alice", Name: "Alice", Followers: 42, Verified: true},
		xfake.User{ID: "200", Username: "bob", Name: "Bob"})
	xq, err := twitter.XQuery("acme")
	if err != nil {
		t.Fatal(err)
	}
	next := 0
	addPosts := func(n int) {
		for range n {
			author := []string{"100", "200"}[next%2]
			fake.AddPosts(xfake.Post{ID: xfake.ID(next), AuthorID: author, Text: fmt.Sprintf("acme post %d #acme", next), Lang: "en",
				CreatedAt: time.Now().Add(-time.Duration(30-next%30) * time.Minute), Likes: int64(next), Matches: []string{xq}})
			next++
		}
	}
	addPosts(150) // more than one page of 100

	ch := chtest.NewDatabase(t)
	chm := chConfigMap(ch)
	cfg := parseTestConfig(t, "x-e2e.yaml", map[string]any{
		"data_dir":   t.TempDir(),
		"log":        map[string]any{"level": "debug"},
		"http":       map[string]any{"listen": "off"},
		"nats":       map[string]any{"embedded": map[string]any{"port": -1}},
		"clickhouse": chm,
		"topics":     []map[string]any{{"id": "acme", "query": "acme"}},
		"sink":       map[string]any{"flush_interval": "200ms"},
		"connectors": []map[string]any{{"type": "twitter", "name": "x", "api": "v2", "mode": "search", "base_url": fake.URL,
			"bearer_token": map[string]string{"env": "EARSHOT_TEST_X_BEARER"}, "interval": "1s", "backfill": "1h"}},
	})
	db := ch.Database
	count := func(in *infra) uint64 { return queryCount(t, in, "SELECT count() FROM "+db+".mentions") }

	in, stop := startPipeline(t, cfg)
	pipelinetest.WaitFor(t, 60*time.Second, "150 posts stored", func() bool { return count(in) >= 150 })
	addPosts(10)
	pipelinetest.WaitFor(t, 60*time.Second, "160 posts stored", func() bool { return count(in) >= 160 })
	stop()

	addPosts(5)
	in, stop = startPipeline(t, cfg)
	defer stop()
	pipelinetest.WaitFor(t, 60*time.Second, "165 posts stored after restart", func() bool { return count(in) >= 165 })
	polls := len(fake.RequestsTo("GET", "/2/tweets/search/recent"))
	pipelinetest.WaitFor(t, 30*time.Second, "two more polls and an idle pipeline", func() bool {
		return len(fake.RequestsTo("GET", "/2/tweets/search/recent")) >= polls+2 && idle(t, in)
	})
	if n := count(in); n != 165 {
		t.Errorf("rows = %d; want 165 (each post once, nothing lost, nothing duplicated)", n)
	}
	checkRows := func(sql string, want uint64) {
		if got := queryCount(t, in, sql); got != want {
			t.Errorf("%s = %d; want %d", sql, got, want)
		}
	}
	checkRows("SELECT uniqExact(id) FROM "+db+".mentions", 165)
	checkRows("SELECT count() FROM "+db+".mentions FINAL WHERE has(topics, 'acme') AND has(hashtags, 'acme')", 165)
	var handle, url, platform string
	var likes int64
	var verified uint8
	row := in.store.Conn().QueryRow(t.Context(), "SELECT platform, author_handle, url, likes, author_verified FROM "+db+".mentions FINAL WHERE id = 'twitter:"+xfake.ID(7)+"'")
	if err := row.Scan(&platform, &handle, &url, &likes, &verified); err != nil {
		t.Fatalf("scan post 7: %v", err)
	}
	if platform != "twitter" || handle != "bob" || url != "https://x.com/bob/status/"+xfake.ID(7) || likes != 7 || verified != 0 {
		t.Errorf("post 7 = %s %s %s likes %d verified %d; want twitter bob https://x.com/bob/status/%s likes 7 verified 0", platform, handle, url, likes, verified, xfake.ID(7))
	}
	if v := fake.Violations(); len(v) > 0 {
		t.Errorf("requests broke the rate limits the headers announced: %v", v)
	}
}
