//go:build soak

// The soak test runs the enrich and sink roles for a while under steady
// load while ClickHouse and NATS are restarted again and again, then checks
// that every published mention was stored exactly once. Not part of
// `make test`:
//
//	make soak SOAK=10m
package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
	"github.com/earshot-dev/earshot/sink/clickhouse"
)

func TestSoak(t *testing.T) {
	dur := 5 * time.Minute
	if v := os.Getenv("EARSHOT_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("EARSHOT_SOAK=%q: %v", v, err)
		}
		dur = d
	}
	ctx := context.Background()
	js := pipelinetest.StartJetStream(t)
	u, _ := url.Parse(js.URL())
	natsPort, _ := strconv.Atoi(u.Port())
	chDir := filepath.Join(t.TempDir(), "clickhouse")
	ls, err := clickhouse.StartLocal(ctx, clickhouse.LocalOptions{Dir: chDir, StopTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ls.Stop() }()
	ch := ls.ClientConfig(clickhouse.Config{Database: "soak"})
	cfg := parseTestConfig(t, "soak.yaml", map[string]any{
		"data_dir": t.TempDir(), "log": map[string]any{"level": "warn"}, "http": map[string]any{"listen": "off"},
		"nats": map[string]any{"url": js.URL()}, "clickhouse": chConfigMap(ch),
		"topics": []map[string]any{{"id": "acme", "query": "acme"}},
	})
	in, stop := startRoles(t, cfg, roles{enrich: true, sink: true})
	defer stop()

	published := 0
	end := time.Now().Add(dur)
	nextCH, nextNATS := time.Now().Add(40*time.Second), time.Now().Add(70*time.Second)
	for time.Now().Before(end) {
		ms := make([]*pipeline.Mention, 200)
		for i := range ms {
			ms[i] = &pipeline.Mention{ID: fmt.Sprintf("soak:%d", published+i), Platform: "soak", Text: fmt.Sprintf("acme soak %d", published+i)}
		}
		if err := pipeline.NewRawPublisher(js.JS, nil).Publish(ctx, ms); err != nil {
			time.Sleep(200 * time.Millisecond) // NATS is restarting: publish the same batch again
			continue
		}
		published += len(ms)
		time.Sleep(50 * time.Millisecond)
		switch {
		case time.Now().After(nextCH):
			t.Logf("soak: %d published; restarting ClickHouse", published)
			if err := ls.Stop(); err != nil {
				t.Fatalf("stop clickhouse: %v", err)
			}
			time.Sleep(3 * time.Second)
			if ls, err = clickhouse.StartLocal(ctx, clickhouse.LocalOptions{Dir: chDir, StopTimeout: 10 * time.Second}); err != nil {
				t.Fatalf("restart clickhouse: %v", err)
			}
			nextCH = time.Now().Add(40 * time.Second)
		case time.Now().After(nextNATS):
			t.Logf("soak: %d published; restarting NATS", published)
			js.Server.Shutdown()
			js.Server.WaitForShutdown()
			js = pipelinetest.StartJetStreamIn(t, js.Dir, natsPort)
			nextNATS = time.Now().Add(70 * time.Second)
		}
	}
	t.Logf("soak: published %d mentions in %v", published, dur)
	var c, uniq uint64
	pipelinetest.WaitFor(t, 5*time.Minute, "every published mention stored", func() bool {
		return in.store.Conn().QueryRow(ctx, "SELECT count() FROM soak.mentions FINAL").Scan(&c) == nil && int(c) == published
	})
	if err := in.store.Conn().QueryRow(ctx, "SELECT uniqExact(id) FROM soak.mentions").Scan(&uniq); err != nil || int(uniq) != published {
		t.Errorf("uniqExact(id) = %d (%v); want %d", uniq, err, published)
	}
}
