package main

import (
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/enrich/detect/trendtag"
)

// rssSeries is n samples of base MiB, then growing by step MiB per sample from
// sample from on.
func rssSeries(n int, base, step float64, from int) []int64 {
	out := make([]int64, n)
	for i := range out {
		v := base
		if i >= from {
			v += step * float64(i-from)
		}
		out[i] = int64(v * (1 << 20))
	}
	return out
}

// growingBacklog is n backlog samples growing by step mentions a sample.
func growingBacklog(n int, step int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = step * int64(i)
	}
	return out
}

// TestJudgeFlat: the steady run's verdict says flat only when every state
// bound was reached in time and RSS then stopped growing, whatever the
// warm-up did.
func TestJudgeFlat(t *testing.T) {
	reached := func(s float64) []stateBound {
		return []stateBound{{State: "dedup index", Key: "k", Bound: 100, Entries: 100, ReachedSeconds: s}}
	}
	for _, c := range []struct {
		name    string
		rss     []int64
		bounds  []stateBound
		backlog []int64
		flat    bool
		reason  string
	}{
		// 120 samples of 5 s = 10 minutes.
		{"flat after a growing warm-up", append(rssSeries(20, 100, 10, 0), rssSeries(100, 300, 0, 0)...), reached(60), nil, true, ""},
		{"growing all along", rssSeries(120, 300, 0.5, 0), reached(60), nil, false, "RSS grew"},
		{"growing while falling behind", rssSeries(120, 300, 0.5, 0), reached(60), growingBacklog(120, 2000), false, "fell behind (backlog"},
		// Level RSS while the backlog grows: the difference waits in NATS,
		// and the rate was not one the pipeline keeps.
		{"level while falling behind", rssSeries(120, 300, 0, 0), reached(60), growingBacklog(120, 2000), false, "not shown flat: the pipeline fell behind"},
		// A fixed fifth of warm-up would compare samples 24..119 and miss
		// that the state grew until 250 s; the bound moves the warm-up.
		{"grows until a bound reached late, then flat", append(rssSeries(50, 200, 2, 0), rssSeries(70, 300, 0, 0)...), reached(250), nil, true, ""},
		{"bound reached after half the run", rssSeries(120, 300, 0, 0), reached(400), nil, false, "too late"},
		{"bound never reached, RSS flat", rssSeries(120, 300, 0, 0),
			[]stateBound{{State: "detect explanation samples", Key: "detect.explain.max_items", Bound: 200000, Entries: 60000, ReachedSeconds: -1}},
			nil, false, "still filling: 60000 of 200000"},
		{"no bound", rssSeries(120, 300, 0, 0), []stateBound{{State: "x", Key: "x.max", Bound: -1, Entries: 5, ReachedSeconds: -1}}, nil, false, "no bound"},
		{"no samples", nil, reached(0), nil, false, "not shown flat"},
	} {
		mem := &memoryReport{SampleEvery: 5, RSSBytes: c.rss, Backlog: c.backlog}
		judgeFlat(mem, c.bounds, 1000)
		if mem.Flat != c.flat || !strings.Contains(mem.Reason, c.reason) || (c.flat && mem.Reason != "") {
			t.Errorf("%s: flat %v (growth %.3f, warm-up %.0f s), reason %q; want flat %v, reason containing %q",
				c.name, mem.Flat, mem.Growth, mem.WarmupSeconds, mem.Reason, c.flat, c.reason)
		}
	}
}

// TestExplainFill: the explanation samples reach their bound in the slot
// where the entries add up to it, counted at that slot's end.
func TestExplainFill(t *testing.T) {
	slots := [][2]int64{{1000, 30000}, {1300, 33000}, {1600, 33000}, {1900, 10000}}
	if r, held := explainFill(slots, 300, 60000, 1100); r != 500 || held != 60000 {
		t.Errorf("bound 60000: reached after %v s, held %d; want 500 (end of the second slot, from 1100), 60000", r, held)
	}
	if r, held := explainFill(slots, 300, 200000, 1100); r != -1 || held != 106000 {
		t.Errorf("bound 200000: reached after %v s, held %d; want -1, 106000", r, held)
	}
}

// TestJudgeFlatLiveHeap: when RSS grew, the reason says how the live heap
// moved over the same quarters, so a user can tell state from collector
// slack.
func TestJudgeFlatLiveHeap(t *testing.T) {
	bounds := []stateBound{{State: "dedup index", Key: "k", Bound: 100, Entries: 100, ReachedSeconds: 60}}
	rss := rssSeries(120, 300, 0.5, 0)
	mem := &memoryReport{SampleEvery: 5, RSSBytes: rss, HeapLiveBytes: rssSeries(120, 150, 0, 0)}
	judgeFlat(mem, bounds, 1000)
	if mem.Flat || !strings.Contains(mem.Reason, "the live heap went 150 → 150 MiB (+0.0%)") || mem.FirstHeapLive != 150<<20 {
		t.Errorf("flat live heap: flat %v, first %d, reason %q", mem.Flat, mem.FirstHeapLive, mem.Reason)
	}
	// A sample that could not be read (-1) in the compared range leaves
	// the live heap out rather than comparing a wrong median.
	heap := rssSeries(120, 150, 0.5, 0)
	heap[100] = -1
	mem = &memoryReport{SampleEvery: 5, RSSBytes: rss, HeapLiveBytes: heap}
	judgeFlat(mem, bounds, 1000)
	if mem.FirstHeapLive != 0 || strings.Contains(mem.Reason, "live heap") {
		t.Errorf("unread sample: first live heap %d, reason %q; want none", mem.FirstHeapLive, mem.Reason)
	}
}

// TestIDsFill: detect's ids of the open buckets are steady once the set
// holds its bound, or once it first lets a slot of mention time go: when
// the coarsest bucket holding it closed, grace (+ reorder) after its end.
func TestIDsFill(t *testing.T) {
	const start = 1_000_100 // 200 s into a 300 s slot (the slot starts at 999,900)
	steady := func(rate, secs int64) [][2]int64 {
		out := make([][2]int64, secs)
		for i := range out {
			out[i] = [2]int64{start + int64(i), rate}
		}
		return out
	}
	// 4,000/s, bound 1,048,576: full after 262.1 s, before any slot goes
	// (the first ends at 100 s, and goes lag = 310 s later).
	if r, held := idsFill(steady(4000, 600), 300, 310, 300, 1<<20, start); r != 262 || held != 1<<20 {
		t.Errorf("4000/s: reached after %v s, held %d; want 262, %d", r, held, 1<<20)
	}
	// 500/s never fills 2^20: steady when the first slot (100 s of ids)
	// goes, at 100 + 310 s; then the set holds the slots of the last
	// 310–610 s (here 500 s: the line is at 1,000,800 at 1,001,299).
	if r, held := idsFill(steady(500, 1200), 300, 310, 300, 1<<20, start); r != 410 || held != 500*500 {
		t.Errorf("500/s: reached after %v s, held %d; want 410, 250,000", r, held)
	}
	if r, held := idsFill(steady(500, 400), 300, 310, 300, 1<<20, start); r != -1 || held != 500*400 {
		t.Errorf("500/s for 400 s: reached after %v s, held %d; want -1 (still filling), 200,000", r, held)
	}
	// With a coarser resolution of 15 minutes, a 5-minute slot goes only
	// when its 15-minute bucket closed: the first slot's bucket (999,900
	// to 1,000,800) ends at 1,000,800, and the slot goes 310 s later.
	if r, _ := idsFill(steady(500, 1200), 300, 310, 900, 1<<20, start); r != 1010 {
		t.Errorf("500/s, coarsest 15m: reached after %v s; want 1010", r)
	}
}

// TestTrendBound: the trend stage's open buckets span bucket ×
// (reorder/bucket + 1) of mention time and are steady once the first
// bucket closes, which a 10-minute run at the default 15m never sees.
func TestTrendBound(t *testing.T) {
	start := time.Unix(1_000_100, 0) // 200 s into a 5-minute bucket
	sb := trendBound(trendtag.Options{}, start, 10*time.Minute)
	if sb.Bound != 1200 || sb.ReachedSeconds != -1 || sb.Entries != 800 || sb.Unit != unitMentionTime {
		t.Errorf("default: %+v; want bound 1200 s, not reached, 800 s covered", sb)
	}
	mem := &memoryReport{SampleEvery: 5, RSSBytes: rssSeries(120, 300, 0, 0)}
	judgeFlat(mem, []stateBound{sb}, 1000)
	if mem.Flat || !strings.Contains(mem.Reason, "enrich.options.trend.reorder) still filling: 800 of 1200 seconds of mention time") {
		t.Errorf("default reorder in a 10-minute run: flat %v, reason %q", mem.Flat, mem.Reason)
	}
	sb = trendBound(trendtag.Options{Reorder: time.Minute}, start, 10*time.Minute)
	if sb.Bound != 300 || sb.ReachedSeconds != 100 || sb.Entries != 300 {
		t.Errorf("reorder 1m: %+v; want bound 300 s, reached after 100 s (when the next bucket starts)", sb)
	}
}
