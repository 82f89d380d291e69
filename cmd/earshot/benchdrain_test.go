package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestBenchReportWhenNotDrained: a steady run whose queue did not drain by
// the deadline still prints its report (JSON or table) with drained: false
// and what it measured, and then fails with errNotDrained; a drained run
// says drained: true and succeeds.
func TestBenchReportWhenNotDrained(t *testing.T) {
	mk := func(drained bool) *e2eReport {
		r := e2eRound{Kind: "paced", Mentions: 6000, Seconds: 40, Drained: drained, Visible: 6000, MentionsPerSecond: 150,
			CPUPerMillion: map[string]float64{"earshot": 300}}
		if !drained {
			r.Visible, r.Lost = 4200, 1800
		}
		return &e2eReport{Mode: "steady", MentionsPerSecond: r.MentionsPerSecond, Lost: r.Lost, Rounds: []e2eRound{r},
			CPUPerMillion: map[string]float64{"earshot": 300}, Memory: &memoryReport{Flat: true, SampleEvery: 5, RSSBytes: []int64{1, 2}}}
	}
	o := e2eOptions{jsonOut: true, drainTimeout: 5 * time.Minute}
	var out bytes.Buffer
	err := writeE2E(mk(false), o, &out)
	if !errors.Is(err, errNotDrained) || !strings.Contains(err.Error(), "4200 of 6000") {
		t.Errorf("writeE2E(not drained) = %v; want errNotDrained saying 4200 of 6000", err)
	}
	var raw map[string]any
	if err := json.Unmarshal(out.Bytes(), &raw); err != nil {
		t.Fatalf("not-drained report is not JSON: %v\n%s", err, out.String())
	}
	rounds, _ := raw["rounds"].([]any)
	if raw["drained"] != false || raw["mentions_per_second"] != 150.0 || raw["memory"] == nil || len(rounds) != 1 ||
		rounds[0].(map[string]any)["drained"] != false || rounds[0].(map[string]any)["visible"] != 4200.0 {
		t.Errorf("not-drained report = %s; want drained false, the measured rate, memory, and the round with drained false and visible 4200", out.String())
	}

	out.Reset()
	if err := writeE2E(mk(true), o, &out); err != nil {
		t.Errorf("writeE2E(drained) = %v; want nil", err)
	}
	if err := json.Unmarshal(out.Bytes(), &raw); err != nil || raw["drained"] != true {
		t.Errorf("drained report = %s (%v); want drained true", out.String(), err)
	}

	out.Reset()
	o.jsonOut = false
	if err := writeE2E(mk(false), o, &out); !errors.Is(err, errNotDrained) || !strings.Contains(out.String(), "NOT DRAINED") {
		t.Errorf("table for a not-drained run = %q, %v; want a NOT DRAINED line and errNotDrained", out.String(), err)
	}
}

// TestBenchSteadyNotDrained runs a short steady `earshot bench --json`
// through the real servers with a drain deadline no pipeline can meet (the
// last mention was published a moment before): the JSON still comes, says
// drained: false, counts what was visible, and the exit code is not 0.
func TestBenchSteadyNotDrained(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := Main(ctx, []string{"bench", "--json", "--n", "500", "--duration", "6s", "--rate", "100", "--drain-timeout", "1ns"}, nil, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "not drained") {
		t.Errorf("earshot bench (not drained) exit %d, stderr:\n%s\nwant a non-zero exit saying not drained", code, errb.String())
	}
	var rep e2eReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("bench --json printed no report when the queue did not drain: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
	}
	if rep.Mode != "steady" || rep.Drained || len(rep.Rounds) != 1 || rep.Rounds[0].Drained ||
		rep.Rounds[0].Mentions != 600 || rep.Rounds[0].Visible >= 600 || rep.Memory == nil {
		t.Fatalf("report = %+v; want steady, drained false, one paced round of 600 mentions with fewer visible, and the memory samples", rep)
	}
	// The state bounds were worked out (the explanation samples and
	// detect's ids from ClickHouse), and none is reached by 600 mentions
	// in 6 s: not flat.
	m := rep.Memory
	var states []string
	for _, b := range m.Bounds {
		states = append(states, b.State)
	}
	if got := strings.Join(states, ", "); got != "dedup index, trend tagging open buckets, detect explanation samples, detect ids of the open buckets" {
		t.Errorf("state bounds: %s; want every state that grows with traffic or time", got)
	}
	if m.Flat || !strings.Contains(m.Reason, "still filling") || strings.Contains(m.Reason, "could not be worked out") {
		t.Errorf("memory verdict: flat %v, bounds %+v, reason %q; want the bounded states still filling, not flat", m.Flat, m.Bounds, m.Reason)
	}
	// earshot's Go runtime figures came from its own process, sample by
	// sample with its RSS.
	if len(m.RSSBytes) == 0 || len(m.HeapLiveBytes) != len(m.RSSBytes) || m.HeapLiveBytes[0] <= 0 || m.HeapInuseBytes[0] <= 0 || m.Goroutines[0] <= 0 {
		t.Errorf("runtime samples: rss %v, live heap %v, heap in use %v, goroutines %v; want one reading of each per RSS sample",
			m.RSSBytes, m.HeapLiveBytes, m.HeapInuseBytes, m.Goroutines)
	}
}
