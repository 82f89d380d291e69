package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

// lateReplyStore delays the answer to each write the store accepted, as a
// loaded machine does between ClickHouse committing an INSERT and the
// client reading the reply. Like the ClickHouse client, it gives up with
// the context's error when its context ends first.
type lateReplyStore struct {
	pipeline.Sink
	delay time.Duration
}

func (s lateReplyStore) Write(ctx context.Context, ms []*pipeline.Mention) error {
	if err := s.Sink.Write(ctx, ms); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return fmt.Errorf("read the insert's reply: %w", ctx.Err())
	case <-time.After(s.delay):
		return nil
	}
}

// earshot stopped as soon as its mentions are visible in ClickHouse, while
// the sink still waits for its INSERT's reply, and started again stores
// each mention in one physical row: the stop lets the write finish and
// acknowledges it, instead of writing the committed batch a second time.
func TestStopDuringAnInsertStoresEachMentionOnce(t *testing.T) {
	ch := chtest.NewDatabase(t)
	db := ch.Database
	cfg := parseTestConfig(t, "sinkstop.yaml", map[string]any{
		"data_dir":   t.TempDir(),
		"log":        map[string]any{"level": "info"},
		"http":       map[string]any{"listen": "off"},
		"nats":       map[string]any{"embedded": map[string]any{"port": -1}},
		"clickhouse": chConfigMap(ch),
		"topics":     []map[string]any{{"id": "acme", "query": "acme"}},
		// A mention fetched but not stored when a role stops is redelivered
		// after ack_wait (1m by default): short here, so the last run
		// drains within the wait below.
		"sink":       map[string]any{"flush_interval": "100ms", "consumer": map[string]any{"ack_wait": "5s"}},
		"enrich":     map[string]any{"consumer": map[string]any{"ack_wait": "5s"}},
		"connectors": []map[string]any{},
	})
	r := roles{enrich: true, sink: true, embedded: true,
		wrapSink: func(s pipeline.Sink) pipeline.Sink { return lateReplyStore{s, 500 * time.Millisecond} }}
	count := func(in *infra) uint64 { return queryCount(t, in, "SELECT count() FROM "+db+".mentions") }
	ids := func(in *infra) uint64 { return queryCount(t, in, "SELECT uniqExact(id) FROM "+db+".mentions") }
	n := 0
	for round := range 2 {
		in, stop := startRoles(t, cfg, r)
		var ms []*pipeline.Mention
		for i := range 5 {
			n++
			now := time.Now().UTC()
			ms = append(ms, &pipeline.Mention{ID: fmt.Sprintf("forum:%d", n), Platform: "forum", Source: "forum.example.com",
				Kind: pipeline.KindPost, URL: fmt.Sprintf("https://forum.example.com/t/%d/%d", round, i), Text: "acme kettle",
				CreatedAt: now, CollectedAt: now})
		}
		publishRaw(t, in, ms)
		want := uint64(n)
		pipelinetest.WaitFor(t, 30*time.Second, fmt.Sprintf("%d mentions stored", want), func() bool { return ids(in) >= want })
		stop()
	}
	in, stop := startRoles(t, cfg, r)
	defer stop()
	pipelinetest.WaitFor(t, 30*time.Second, "an idle pipeline", func() bool { return idle(t, in) })
	if got := count(in); got != uint64(n) {
		t.Errorf("rows = %d; want %d (one per mention)", got, n)
	}
	if got := ids(in); got != uint64(n) {
		t.Errorf("ids = %d; want %d", got, n)
	}
}
