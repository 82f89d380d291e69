package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/enrich/topics"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

// TestBacktestCountsEqualClickHouse stores mentions enriched by the topics
// stage (the live matcher writes the topics column), then backtests the
// same query: its per-day and per-platform counts must equal a direct
// ClickHouse count of has(topics, id) over the same window, and mentions
// outside the window or another platform must not count.
func TestBacktestCountsEqualClickHouse(t *testing.T) {
	ctx := context.Background()
	chCfg := chtest.NewDatabase(t)
	store, err := clickhouse.Open(ctx, chCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	configured := []pipeline.Topic{
		{ID: "acme", Query: `(acme OR "road runner") AND NOT refund`},
		{ID: "widget", Query: `widget*`},
	}
	stage, err := topics.New(configured)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	texts := []string{
		"Acme rocks", "the road runner is fast", "acme refund please", "widgets everywhere",
		"ACME widget combo", "nothing to see", "road, runner", "Acme's new widgetry",
	}
	var batch []*pipeline.Mention
	for i := range 120 {
		m := &pipeline.Mention{
			ID:        fmt.Sprintf("p%d:%d", i%3, i),
			Platform:  []string{"rss", "twitter", "reddit"}[i%3],
			Title:     []string{"", "Review"}[i%2],
			Text:      texts[i%len(texts)],
			CreatedAt: now.Add(-time.Duration(i) * 9 * time.Hour), // 45 days back: some outside 30d
		}
		if err := m.Normalize(now); err != nil {
			t.Fatal(err)
		}
		batch = append(batch, m)
	}
	if err := stage.Enrich(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := store.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}

	direct := func(where string) map[string]map[string]int {
		q := fmt.Sprintf("SELECT toString(toDate(created_at)) AS day, platform, toUInt64(count()) AS n FROM %s.mentions FINAL "+
			"WHERE created_at >= ? AND created_at <= ? AND %s GROUP BY day, platform", chCfg.Database, where)
		rows, err := store.Conn().Query(ctx, q, now.Add(-30*24*time.Hour), now)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		out := map[string]map[string]int{}
		for rows.Next() {
			var day, p string
			var n uint64
			if err := rows.Scan(&day, &p, &n); err != nil {
				t.Fatal(err)
			}
			if out[day] == nil {
				out[day] = map[string]int{}
			}
			out[day][p] = int(n)
		}
		return out
	}
	total := func(m map[string]map[string]int) (n int) {
		for _, d := range m {
			for _, c := range d {
				n += c
			}
		}
		return n
	}

	o := backtestOptions{query: configured[0].Query, since: 30 * 24 * time.Hour, samples: 3, now: now}
	res, err := backtest(ctx, store, configured, o)
	if err != nil {
		t.Fatal(err)
	}
	want := direct("has(topics, 'acme')")
	if fmt.Sprint(res.PerDay) != fmt.Sprint(want) || res.Matched != total(want) || res.Matched == 0 {
		t.Errorf("backtest per day = %v (%d); want ClickHouse's %v (%d)", res.PerDay, res.Matched, want, total(want))
	}
	if all := total(direct("1")); res.Scanned != all || all >= len(batch) {
		t.Errorf("backtest scanned %d; want the %d mentions inside 30 days (of %d stored)", res.Scanned, all, len(batch))
	}
	widget := total(direct("has(topics, 'widget')"))
	both := total(direct("has(topics, 'acme') AND has(topics, 'widget')"))
	if res.Overlap["acme"] != res.Matched || res.TopicTotal["widget"] != widget || res.Overlap["widget"] != both || both == 0 {
		t.Errorf("backtest overlap = %v of totals %v; want acme %d, widget %d of %d", res.Overlap, res.TopicTotal, res.Matched, both, widget)
	}
	if len(res.Samples) != 3 || len(res.Samples[0].Spans) == 0 {
		t.Errorf("backtest samples = %+v; want 3 with spans", res.Samples)
	}

	o.platform = "reddit"
	res, err = backtest(ctx, store, configured, o)
	if err != nil {
		t.Fatal(err)
	}
	if n := total(direct("has(topics, 'acme') AND platform = 'reddit'")); res.Matched != n || len(res.PerPlatform) != 1 {
		t.Errorf("backtest --platform reddit matched %d on %v; want %d on reddit only", res.Matched, res.PerPlatform, n)
	}
	var out bytes.Buffer
	if err := printBacktest(&out, o, res); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"match", "reddit", "total", "overlap", "sample matches"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("printBacktest() =\n%s\nwant it to contain %q", out.String(), w)
		}
	}
	t.Logf("earshot backtest %q --since 30d --platform reddit:\n%s", o.query, out.String())
	_, samples, _ := strings.Cut(out.String(), "sample matches")
	if n := strings.Count(samples, "]"); n < len(res.Samples) || len(res.Samples) == 0 {
		t.Errorf("printBacktest() samples =\n%s\nwant every sample's matched words in brackets", samples)
	}
	if _, err := backtest(ctx, store, nil, backtestOptions{query: "acme AND (", since: time.Hour, now: now}); err == nil {
		t.Errorf("backtest(bad query) = nil; want the query's error")
	}
}
