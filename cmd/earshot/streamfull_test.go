package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

// Streams of 64 KiB hold a hundred or two mentions each. Two feeds of 300
// items fill them while the sink is paused: ENRICHED fills and pushes back
// on enrich, MENTIONS fills and pushes back on the rss connector. Once the
// sink reads again, space frees as the consumers acknowledge, the
// connector's retries go through, and every mention is stored exactly once.
func TestFullStreamsPushBackAndEveryMentionIsStoredOnce(t *testing.T) {
	const perFeed, maxBytes = 300, 64 << 10
	feeds := map[string]string{}
	for _, name := range []string{"a", "b"} {
		items := make([]string, perFeed)
		for i := range items {
			u := fmt.Sprintf("https://%s.example.com/p/%d", name, i)
			items[i] = rssItem(u, u, fmt.Sprintf("Acme post %d on %s", i, name),
				fmt.Sprintf("Post %d: my Acme X200 blender cracked again and support has not answered in a week. #acme", i))
		}
		feeds["/"+name+".rss"] = rssDoc(items...)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := feeds[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)

	ctx := context.Background()
	js := pipelinetest.StartJetStreamWith(t, t.TempDir(), -1, pipeline.StreamsConfig{MaxBytes: maxBytes})
	ch := chtest.NewDatabase(t)
	db := ch.Database
	cfg := parseTestConfig(t, "streamfull.yaml", map[string]any{
		"data_dir":   t.TempDir(),
		"log":        map[string]any{"level": "info"},
		"http":       map[string]any{"listen": "off"},
		"nats":       map[string]any{"url": js.URL(), "streams": map[string]any{"max_bytes": maxBytes}},
		"clickhouse": chConfigMap(ch),
		"topics":     []map[string]any{{"id": "acme", "query": "acme"}},
		"sink":       map[string]any{"flush_interval": "200ms", "batch_rows": 100},
		"connectors": []map[string]any{{"type": "rss", "name": "feeds", "interval": "10s", "max_backoff": "3s",
			"feeds": []string{srv.URL + "/a.rss", srv.URL + "/b.rss"}}},
	})
	in, stop := startRoles(t, cfg, roles{connect: true, enrich: true, sink: true})
	defer stop()
	pipelinetest.WaitFor(t, 30*time.Second, "the sink's consumer paused", func() bool {
		_, err := in.js.PauseConsumer(ctx, pipeline.StreamEnriched, "sink", time.Now().Add(time.Hour))
		return err == nil
	})

	count := func(sql string) uint64 {
		var n uint64
		if err := in.store.Conn().QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return n
	}
	connRetries := func() float64 {
		return testutil.ToFloat64(in.metrics.ConnErrors.WithLabelValues("rss", "feeds", "publish"))
	}
	enrichRetries := func() float64 { return testutil.ToFloat64(in.metrics.Errors.WithLabelValues("enrich", "publish")) }
	stream := func(name string) jetstream.StreamState {
		st, err := in.js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State
	}

	pipelinetest.WaitFor(t, 60*time.Second, "enrich and the connector pushed back by full streams", func() bool {
		return connRetries() > 0 && enrichRetries() > 0
	})
	storedWhileFull := count("SELECT count() FROM " + db + ".mentions")
	mentions, enriched := stream(pipeline.StreamMentions), stream(pipeline.StreamEnriched)
	t.Logf("pushed back: MENTIONS %d msgs %d bytes, ENRICHED %d msgs %d bytes (max_bytes %d), %d rows stored",
		mentions.Msgs, mentions.Bytes, enriched.Msgs, enriched.Bytes, maxBytes, storedWhileFull)
	if storedWhileFull >= 2*perFeed {
		t.Fatalf("%d rows stored while the streams were full; want fewer than the %d sent", storedWhileFull, 2*perFeed)
	}

	if _, err := in.js.ResumeConsumer(ctx, pipeline.StreamEnriched, "sink"); err != nil {
		t.Fatalf("resume the sink: %v", err)
	}
	pipelinetest.WaitFor(t, 120*time.Second, "every mention stored and the pipeline idle", func() bool {
		return count("SELECT count() FROM "+db+".mentions FINAL") >= 2*perFeed && idle(t, in)
	})
	stored := count("SELECT count() FROM " + db + ".mentions FINAL")
	unique := count("SELECT uniqExact(id) FROM " + db + ".mentions")
	rows := count("SELECT count() FROM " + db + ".mentions")
	acme := count("SELECT count() FROM " + db + ".mentions FINAL WHERE has(topics, 'acme')")
	dead := stream(pipeline.StreamDeadLetter).Msgs
	t.Logf("sent %d, stored %d (FINAL), distinct ids %d, rows before merge %d, on topic acme %d, dead letters %d; "+
		"connector publish retries %.0f, enrich publish retries %.0f",
		2*perFeed, stored, unique, rows, acme, dead, connRetries(), enrichRetries())
	if stored != 2*perFeed || unique != 2*perFeed {
		t.Errorf("count() FINAL = %d, uniqExact(id) = %d; want %d and %d", stored, unique, 2*perFeed, 2*perFeed)
	}
	if acme != 2*perFeed {
		t.Errorf("%d stored mentions are enriched with topic acme; want all %d", acme, 2*perFeed)
	}
	for _, name := range []string{pipeline.StreamMentions, pipeline.StreamEnriched} {
		pb := testutil.ToFloat64(in.metrics.StreamPushBack.WithLabelValues(name))
		rc := testutil.ToFloat64(in.metrics.StreamReclaimed.WithLabelValues(name))
		t.Logf("%s: earshot_stream_pushback_total %v, earshot_stream_reclaimed_messages_total %v", name, pb, rc)
		if pb == 0 || rc == 0 {
			t.Errorf("%s: pushback counter %v, reclaimed counter %v; want both above 0", name, pb, rc)
		}
	}
	if dead != 0 {
		t.Errorf("%d dead letters; want none", dead)
	}
}
