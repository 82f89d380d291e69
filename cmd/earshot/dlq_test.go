package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
	"github.com/earshot-dev/earshot/sink/clickhouse"
	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

// strictSink stands for the cause of the dead letters: a sink version that
// refuses mentions of a platform it does not know yet. It writes the rest
// to the real store and passes the store's own rejections on.
type strictSink struct {
	store  pipeline.Sink
	refuse string
}

type rejections []pipeline.Rejection

func (r rejections) Error() string                    { return fmt.Sprintf("%d mentions refused", len(r)) }
func (r rejections) Rejections() []pipeline.Rejection { return r }

func (s strictSink) Write(ctx context.Context, batch []*pipeline.Mention) error {
	var rej rejections
	var keep []*pipeline.Mention
	var idx []int
	for i, m := range batch {
		if m.Platform == s.refuse {
			rej = append(rej, pipeline.Rejection{Index: i, Reason: "platform " + s.refuse + " is unknown to this sink version"})
			continue
		}
		keep, idx = append(keep, m), append(idx, i)
	}
	err := s.store.Write(ctx, keep)
	var pw pipeline.PartialWrite
	if errors.As(err, &pw) {
		for _, r := range pw.Rejections() {
			rej = append(rej, pipeline.Rejection{Index: idx[r.Index], Reason: r.Reason})
		}
	} else if err != nil {
		return err
	}
	if len(rej) > 0 {
		return rej
	}
	return nil
}

// runSink runs a sink runner until the returned stop is called.
func runSink(t *testing.T, js *pipelinetest.JetStream, sink pipeline.Sink, m *pipeline.Metrics) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &pipeline.SinkRunner{JS: js.JS, Sink: sink, Metrics: m, Logger: pipelinetest.Logger(t),
		Config: pipeline.SinkConfig{FlushInterval: 50 * time.Millisecond}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = r.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

func sinkIdle(t *testing.T, js *pipelinetest.JetStream) func() bool {
	return func() bool {
		return js.CaughtUp(t, pipeline.StreamEnriched, "sink")
	}
}

// TestDeadLetterReplayStoresOnce: a mention the sink rejects is
// dead-lettered and listed; once the cause is fixed (the real store
// instead of the strict sink) a replay stores it exactly once; a replay
// that fails again goes back to DEADLETTER with its history; replays are
// counted. Real embedded JetStream, real clickhouse-server.
func TestDeadLetterReplayStoresOnce(t *testing.T) {
	ctx := context.Background()
	js := pipelinetest.StartJetStream(t)
	chCfg := chtest.NewDatabase(t)
	store, err := clickhouse.Open(ctx, chCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := pipeline.EnsureStreams(ctx, js.JS, pipeline.StreamsConfig{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	for _, m := range []*pipeline.Mention{
		{ID: "rss:good", Platform: "rss", Text: "acme works", CreatedAt: now},
		{ID: "mastodon:1", Platform: "mastodon", Text: "acme on mastodon", CreatedAt: now},
		{ID: "rss:future", Platform: "rss", Text: "acme from the future", CreatedAt: time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if err := m.Normalize(now); err != nil {
			t.Fatal(err)
		}
		data, _ := m.Marshal()
		msg := &nats.Msg{Subject: pipeline.SubjectEnrichedPrefix + m.Platform, Data: data, Header: nats.Header{}}
		msg.Header.Set(nats.MsgIdHdr, m.ID)
		if _, err := js.JS.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	count := func(where string) uint64 {
		var n uint64
		q := fmt.Sprintf("SELECT count() FROM %s.mentions WHERE %s", chCfg.Database, where)
		if err := store.Conn().QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}

	m1 := pipeline.NewMetrics(prometheus.NewRegistry())
	stop := runSink(t, js, strictSink{store: store, refuse: "mastodon"}, m1)
	pipelinetest.WaitFor(t, 20*time.Second, "sink drained", sinkIdle(t, js))
	stop()

	var out bytes.Buffer
	if err := dlqList(ctx, js.JS, &out, pipeline.DeadLetterFilter{Stage: "sink"}, 0); err != nil {
		t.Fatal(err)
	}
	list := out.String()
	t.Logf("earshot dlq list --stage sink:\n%s", list)
	for _, want := range []string{"mastodon:1", "unknown to this sink version", "rss:future", "created_at 2200-01-01"} {
		if !strings.Contains(list, want) {
			t.Errorf("dlq list =\n%s\nwant it to contain %q", list, want)
		}
	}
	if n := strings.Count(list, "\n"); n != 3 {
		t.Errorf("dlq list has %d lines; want a header and 2 dead letters:\n%s", n, list)
	}
	if got := count("id = 'mastodon:1'"); got != 0 {
		t.Fatalf("rejected mention stored %d times before the replay", got)
	}

	// The fix: the sink that knows the platform.
	m2 := pipeline.NewMetrics(prometheus.NewRegistry())
	runSink(t, js, store, m2)
	out.Reset()
	if err := dlqReplay(ctx, js.JS, &out, pipeline.DeadLetterFilter{Reason: "unknown to this sink"}); err != nil {
		t.Fatalf("dlqReplay() = %v\n%s", err, out.String())
	}
	if got := out.String(); got != "replayed 1 dead letters (sink 1)\n" {
		t.Errorf("dlq replay printed %q; want %q", got, "replayed 1 dead letters (sink 1)\n")
	}
	pipelinetest.WaitFor(t, 20*time.Second, "replayed mention stored", func() bool { return count("id = 'mastodon:1'") > 0 })
	pipelinetest.WaitFor(t, 20*time.Second, "sink drained", sinkIdle(t, js))

	// Replay what the store itself rejects: it fails again and comes back
	// with its history.
	dls, err := pipeline.ListDeadLetters(ctx, js.JS, pipeline.DeadLetterFilter{}, 0)
	if err != nil || len(dls) != 1 || dls[0].MentionID != "rss:future" {
		t.Fatalf("ListDeadLetters() after the replay = %+v, %v; want only rss:future left", dls, err)
	}
	out.Reset()
	if err := dlqReplay(ctx, js.JS, &out, pipeline.DeadLetterFilter{Seqs: []uint64{dls[0].Seq}}); err != nil {
		t.Fatal(err)
	}
	var again []pipeline.DeadLetter
	pipelinetest.WaitFor(t, 20*time.Second, "failed replay dead-lettered again", func() bool {
		again, _ = pipeline.ListDeadLetters(ctx, js.JS, pipeline.DeadLetterFilter{}, 0)
		return len(again) == 1 && again[0].Seq != dls[0].Seq
	})
	d := again[0]
	if d.Replays != 1 || len(d.History) != 1 || !strings.Contains(d.History[0], "sink: rejected by store: created_at 2200") ||
		!strings.HasPrefix(d.Reason, "rejected by store: created_at 2200") {
		t.Errorf("dead letter after a failed replay: replays %d, history %q, reason %q; want 1 replay, the first rejection in history",
			d.Replays, d.History, d.Reason)
	}

	for where, want := range map[string]uint64{"id = 'mastodon:1'": 1, "id = 'rss:good'": 1, "id = 'rss:future'": 0, "1": 2} {
		if got := count(where); got != want {
			t.Errorf("rows WHERE %s = %d; want %d (stored exactly once)", where, got, want)
		}
	}
	if got := testutil.ToFloat64(m2.Replayed.WithLabelValues("sink")); got != 2 {
		t.Errorf("earshot_stage_replayed_total{stage=sink} = %v; want 2", got)
	}
	if got := testutil.ToFloat64(m1.DeadLettered.WithLabelValues("sink", "rejected")); got != 2 {
		t.Errorf("earshot_stage_dead_lettered_total{stage=sink,reason=rejected} = %v; want 2", got)
	}
}
