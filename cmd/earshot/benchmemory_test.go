package main

import (
	"strings"
	"testing"
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
