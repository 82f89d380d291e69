package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
	"github.com/earshot-dev/earshot/sink/clickhouse"
)

// ClickHouse and then NATS go away while the enrich and sink roles run
// against them as external servers. Nothing is lost and nothing is
// duplicated: every published mention is stored exactly once.
func TestOutagesLoseAndDuplicateNothing(t *testing.T) {
	ctx := context.Background()
	js := pipelinetest.StartJetStream(t)
	u, err := url.Parse(js.URL())
	if err != nil {
		t.Fatal(err)
	}
	natsPort, _ := strconv.Atoi(u.Port())

	chDir := filepath.Join(t.TempDir(), "clickhouse")
	ls, err := clickhouse.StartLocal(ctx, clickhouse.LocalOptions{Dir: chDir, StopTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("StartLocal: %v", err)
	}
	t.Cleanup(func() { _ = ls.Stop() })
	ch := ls.ClientConfig(clickhouse.Config{Database: "outage"})

	cfg := parseTestConfig(t, "outage.yaml", map[string]any{
		"data_dir":   t.TempDir(),
		"log":        map[string]any{"level": "info"},
		"http":       map[string]any{"listen": "off"},
		"nats":       map[string]any{"url": js.URL()},
		"clickhouse": chConfigMap(ch),
		"sink":       map[string]any{"flush_interval": "200ms", "batch_rows": 500},
	})
	in, stop := startRoles(t, cfg, roles{enrich: true, sink: true})
	defer stop()

	next := 0
	publish := func(js *pipelinetest.JetStream, n int) {
		t.Helper()
		ms := make([]*pipeline.Mention, n)
		for i := range ms {
			ms[i] = &pipeline.Mention{ID: fmt.Sprintf("outage:%d", next), Platform: "outage", Text: fmt.Sprintf("acme outage test %d #acme", next)}
			next++
		}
		if err := pipeline.NewRawPublisher(js.JS, nil).Publish(ctx, ms); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	count := func(sql string) uint64 {
		var n uint64
		if err := in.store.Conn().QueryRow(ctx, sql).Scan(&n); err != nil {
			return 0 // the server may be down
		}
		return n
	}
	enriched := func() uint64 {
		s, err := js.JS.Stream(ctx, pipeline.StreamEnriched)
		if err != nil {
			return 0
		}
		info, err := s.Info(ctx)
		if err != nil {
			return 0
		}
		return info.State.Msgs
	}

	// ClickHouse goes away mid-stream; enrichment goes on; the sink waits.
	publish(js, 2000)
	pipelinetest.WaitFor(t, 60*time.Second, "first rows stored", func() bool { return count("SELECT count() FROM outage.mentions") > 0 })
	if err := ls.Stop(); err != nil {
		t.Fatalf("stop clickhouse: %v", err)
	}
	publish(js, 2000)
	pipelinetest.WaitFor(t, 60*time.Second, "4000 mentions enriched while ClickHouse is down", func() bool { return enriched() >= 4000 })
	ls, err = clickhouse.StartLocal(ctx, clickhouse.LocalOptions{Dir: chDir, StopTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("restart clickhouse: %v", err)
	}
	t.Cleanup(func() { _ = ls.Stop() })
	if ls.Addr() != ch.Addr {
		t.Fatalf("clickhouse came back on %s; want %s (the test needs the same address)", ls.Addr(), ch.Addr)
	}
	pipelinetest.WaitFor(t, 90*time.Second, "4000 mentions stored after ClickHouse came back", func() bool {
		return count("SELECT count() FROM outage.mentions FINAL") == 4000
	})

	// NATS restarts on the same storage; the roles reconnect and go on.
	js.Server.Shutdown()
	js.Server.WaitForShutdown()
	js = pipelinetest.StartJetStreamIn(t, js.Dir, natsPort)
	publish(js, 1000)
	pipelinetest.WaitFor(t, 90*time.Second, "5000 mentions stored after NATS came back", func() bool {
		return count("SELECT count() FROM outage.mentions FINAL") == 5000
	})
	pipelinetest.WaitFor(t, 30*time.Second, "pipeline idle", func() bool { return idle(t, in) })
	if c, u := count("SELECT count() FROM outage.mentions FINAL"), count("SELECT uniqExact(id) FROM outage.mentions"); c != 5000 || u != 5000 {
		t.Errorf("count() FINAL = %d, uniqExact(id) = %d; want 5000 and 5000", c, u)
	}
	if n := count("SELECT count() FROM outage.mentions FINAL WHERE has(hashtags, 'acme')"); n != 5000 {
		t.Errorf("%d stored mentions are enriched (#acme); want all 5000", n)
	}
}
