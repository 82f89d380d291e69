package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// TestBenchJSON runs a tiny `earshot bench --json` through the real
// servers and checks the report a user scripts against: every documented
// key, the rounds, and nothing lost or duplicated in ClickHouse. No timing
// is asserted.
func TestBenchJSON(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := Main(ctx, []string{"bench", "--json", "--n", "1500", "--rounds", "1", "--latency-for", "2s"}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("earshot bench exit %d; stderr:\n%s", code, errb.String())
	}
	var raw map[string]any
	if err := json.Unmarshal(out.Bytes(), &raw); err != nil {
		t.Fatalf("bench --json output is not JSON: %v\n%s", err, out.String())
	}
	for _, k := range []string{"mentions_per_second", "ceiling_mentions_per_second", "ratio", "p50_seconds", "p99_seconds",
		"lost", "duplicated", "cpu_seconds_per_million", "peak_rss_bytes"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("bench --json has no key %q", k)
		}
	}
	var rep e2eReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Lost != 0 || rep.Duplicated != 0 {
		t.Errorf("lost = %d, duplicated = %d; want 0, 0", rep.Lost, rep.Duplicated)
	}
	if !rep.Drained {
		t.Errorf("drained = false; want true (every phase queryable before its deadline)")
	}
	var kinds []string
	for _, r := range rep.Rounds {
		kinds = append(kinds, r.Kind)
		if r.Lost != 0 || r.Duplicated != 0 {
			t.Errorf("round %s: lost %d, duplicated %d; want 0, 0", r.Kind, r.Lost, r.Duplicated)
		}
	}
	if got := strings.Join(kinds, ","); got != "ceiling,earshot,paced" {
		t.Errorf("rounds = %s; want ceiling,earshot,paced", got)
	}
	if rep.MentionsPerSecond <= 0 || rep.CeilingMentionsPerSecond <= 0 || rep.P99 < rep.P50 || rep.P50 <= 0 {
		t.Errorf("rates %v / %v, p50 %v, p99 %v; want positive rates and 0 < p50 <= p99",
			rep.MentionsPerSecond, rep.CeilingMentionsPerSecond, rep.P50, rep.P99)
	}
	for _, p := range []string{"earshot", "nats", "clickhouse"} {
		if rep.CPUPerMillion[p] <= 0 || rep.PeakRSSByProcess[p] <= 0 {
			t.Errorf("process %s: cpu per million %v, peak rss %v; want both measured", p, rep.CPUPerMillion[p], rep.PeakRSSByProcess[p])
		}
	}
}

// TestBenchWorkload checks the generated workload is the realistic mix the
// README describes, and the same for the same seed.
func TestBenchWorkload(t *testing.T) {
	brands := brandNames(benchTopics(1000))
	w := benchWorkload(1, 20000, brands)
	again := benchWorkload(1, 20000, brands)
	langs, plats := map[string]bool{}, map[string]bool{}
	var short, long, emoji, links, tags, reposts int
	for i, m := range w {
		if m.Text != again[i].Text {
			t.Fatalf("mention %d differs between two runs with seed 1", i)
		}
		switch n := len(m.Text); {
		case n <= 300:
			short++
		case n >= 800:
			long++
		}
		plats[m.Platform] = true
		if m.Lang != "" {
			langs[m.Lang] = true
		}
		if strings.ContainsAny(m.Text, "😡😍🚀🔥👍😂") {
			emoji++
		}
		if strings.Contains(m.Text, "https://") {
			links++
		}
		if strings.Contains(m.Text, "#") {
			tags++
		}
		if m.Kind == pipeline.KindRepost {
			reposts++
		}
	}
	n := len(w)
	if short < n/2 || long < n/4 || len(plats) < 4 || len(langs) < 7 || emoji < n/10 || links < n/10 || tags < n/4 || reposts == 0 {
		t.Errorf("workload of %d: %d tweet-length, %d article-length, platforms %v, languages %v, %d with emoji, %d with links, %d with hashtags, %d surge reposts",
			n, short, long, plats, langs, emoji, links, tags, reposts)
	}
}
