package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/earshot-dev/earshot/enrich/detect"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

func TestProgressLineCountsSinceTheLastOne(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := pipeline.NewMetrics(reg)
	sm := detect.NewMetrics(reg)
	forum := m.Connector("forum", "demo-forum")
	// Before the first line: not counted in it.
	forum.Published(100)

	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ticks := make(chan time.Time)
	go logProgressOn(ctx, reg, log, time.Minute, ticks)
	// tick logs one line and waits until it is written.
	lines := 0
	tick := func() string {
		t.Helper()
		ticks <- time.Now()
		lines++
		pipelinetest.WaitFor(t, 5*time.Second, "a progress line", func() bool {
			return strings.Count(buf.String(), "msg=progress") == lines
		})
		out := strings.Split(strings.TrimSpace(buf.String()), "\n")
		return out[len(out)-1]
	}
	// The first tick counts only since the logger started (the 100 before it
	// are not in it).
	if l := tick(); !strings.Contains(l, `collected=0 enriched=0 stored=0 alerted=0 failing=nothing`) {
		t.Errorf("first line = %s; want zero counts (the 100 published before the start are not counted)", l)
	}

	forum.Published(3)
	forum.Error("fetch")
	forum.Error("fetch")
	m.Sent.WithLabelValues("enrich").Add(3)
	m.Sent.WithLabelValues("sink").Add(2)
	m.Errors.WithLabelValues("sink", "write").Inc()
	sm.Alerts.WithLabelValues("spike", "acme", "").Inc()
	want := `since=1m0s collected=3 enriched=3 stored=2 alerted=1 failing="connector demo-forum (forum) fetch: 2, sink write: 1"`
	if l := tick(); !strings.Contains(l, want) {
		t.Errorf("line after the changes = %s; want %s", l, want)
	}
	// Then the deltas are zero again, and nothing is failing.
	if l := tick(); !strings.Contains(l, `collected=0 enriched=0 stored=0 alerted=0 failing=nothing`) {
		t.Errorf("quiet line = %s; want zero deltas", l)
	}
}

func TestProgressConfig(t *testing.T) {
	c, err := ParseConfig("p.yaml", []byte("data_dir: /tmp/x\n"))
	if err != nil || *c.Log.Progress != time.Minute {
		t.Fatalf("default log.progress = %v, %v; want 1m", c.Log.Progress, err)
	}
	c.applyQuiet(true)
	if *c.Log.Progress != 0 {
		t.Errorf("after --quiet log.progress = %v; want 0 (off)", *c.Log.Progress)
	}
	if c, err := ParseConfig("p.yaml", []byte("log: {progress: 0s}\n")); err != nil || *c.Log.Progress != 0 {
		t.Errorf("log.progress: 0s = %v, %v; want 0 (off)", c.Log.Progress, err)
	}
	if _, err := ParseConfig("p.yaml", []byte("log: {progress: -1m}\n")); err == nil || !strings.Contains(err.Error(), "p.yaml:1: log.progress") {
		t.Errorf("log.progress: -1m = %v; want an error at p.yaml:1", err)
	}
}
