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
	r := runOutages(t, nil)
	t.Logf("sent %d, stored %d (FINAL), distinct ids %d, enriched %d", r.sent, r.stored, r.unique, r.enriched)
	if r.stored != r.sent || r.unique != r.sent {
		t.Errorf("count() FINAL = %d, uniqExact(id) = %d; want %d and %d", r.stored, r.unique, r.sent, r.sent)
	}
	if r.enriched != r.sent {
		t.Errorf("%d stored mentions are enriched (#acme); want all %d", r.enriched, r.sent)
	}
}

// The negative control: the same outages with a sink that acknowledges a
// batch before (and whatever happens to) the write, as a runner acking
// before writing would. The test's counts must then show the loss; if they
// did not, the test above could not detect one either.
func TestOutagesNegativeControlAckBeforeWriteLoses(t *testing.T) {
	r := runOutages(t, func(s pipeline.Sink) pipeline.Sink { return ackFirstSink{s} })
	t.Logf("acks before the write: sent %d, stored %d, lost %d", r.sent, r.stored, r.sent-r.stored)
	if r.stored >= r.sent {
		t.Errorf("with acks before the write, %d of %d mentions stored; want a loss the counts detect", r.stored, r.sent)
	}
}

// ackFirstSink reports every batch written, so the runner acknowledges it
// even when ClickHouse refused it: the messages are gone from JetStream.
type ackFirstSink struct{ pipeline.Sink }

func (s ackFirstSink) Write(ctx context.Context, batch []*pipeline.Mention) error {
	_ = s.Sink.Write(ctx, batch)
	return nil
}

type outageResult struct{ sent, stored, unique, enriched uint64 }

// runOutages publishes 5,000 mentions across a ClickHouse outage and a
// NATS restart, waits until the pipeline is idle, and counts what was
// stored. wrap, when set, wraps the sink's store.
func runOutages(t *testing.T, wrap func(pipeline.Sink) pipeline.Sink) outageResult {
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
	in, stop := startRoles(t, cfg, roles{enrich: true, sink: true, wrapSink: wrap})
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
	pipelinetest.WaitFor(t, 90*time.Second, "4000 mentions stored (or the pipeline idle) after ClickHouse came back", func() bool {
		return count("SELECT count() FROM outage.mentions FINAL") == 4000 || (wrap != nil && idle(t, in))
	})

	// NATS restarts on the same storage; the roles reconnect and go on.
	js.Server.Shutdown()
	js.Server.WaitForShutdown()
	js = pipelinetest.StartJetStreamIn(t, js.Dir, natsPort)
	publish(js, 1000)
	pipelinetest.WaitFor(t, 90*time.Second, "5000 mentions stored (or the pipeline idle) after NATS came back", func() bool {
		return count("SELECT count() FROM outage.mentions FINAL") == 5000 || (wrap != nil && idle(t, in))
	})
	pipelinetest.WaitFor(t, 30*time.Second, "pipeline idle", func() bool { return idle(t, in) })
	return outageResult{sent: uint64(next), stored: count("SELECT count() FROM outage.mentions FINAL"),
		unique:   count("SELECT uniqExact(id) FROM outage.mentions"),
		enriched: count("SELECT count() FROM outage.mentions FINAL WHERE has(hashtags, 'acme')")}
}
