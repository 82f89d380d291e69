package main

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/earshot-dev/earshot/internal/clustertest"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

// natsClusterConfig is a config for the roles against c, as a user writes it:
// a list of servers, TLS with a client certificate, an NKey user, R3.
func natsClusterConfig(t *testing.T, c *clustertest.NATSCluster, extra map[string]any) *Config {
	t.Helper()
	doc := map[string]any{
		"data_dir": t.TempDir(),
		"http":     map[string]any{"listen": "off"},
		"nats": map[string]any{
			"url":       strings.Split(c.URL(), ","),
			"tls":       map[string]any{"ca": c.Certs.CA, "cert": c.Certs.ClientCert, "key": c.Certs.ClientKey},
			"nkey_file": c.User.SeedFile,
			"streams":   map[string]any{"replicas": 3, "max_bytes": 64 << 20},
		},
		"detect": map[string]any{"kv_replicas": 3},
	}
	for k, v := range extra {
		doc[k] = v
	}
	return parseTestConfig(t, "cluster.yaml", doc)
}

// Several roles starting at once against a fresh three-server cluster (TLS
// and NKey auth required) all get their R3 streams, buckets and consumers.
func TestRolesStartTogetherOnFreshNATSCluster(t *testing.T) {
	c := clustertest.StartNATSCluster(t, t.TempDir(), 3, "")
	cfg := natsClusterConfig(t, c, nil)
	if got := cfg.NATS.URL; strings.Count(got, ",") != 2 {
		t.Fatalf("nats.url list decoded as %q, want three comma-separated servers", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			in := newInfra(cfg)
			defer in.Close()
			if err := in.openNATS(ctx, false); err != nil {
				errs[i] = err
				return
			}
			errs[i] = ensureRoleResources(ctx, cfg, in)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("role %d: %v", i, err)
		}
	}
	_, js := c.Connect(t)
	for _, name := range []string{pipeline.StreamMentions, pipeline.StreamEnriched, pipeline.StreamAlerts, pipeline.StreamDeadLetter, "KV_" + pipeline.CursorBucket, "KV_earshot_detect"} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Errorf("stream %s: %v", name, err)
			continue
		}
		if r := s.CachedInfo().Config.Replicas; r != 3 {
			t.Errorf("stream %s has %d replicas, want 3", name, r)
		}
	}
	for _, sc := range [][2]string{{pipeline.StreamMentions, "enrich"}, {pipeline.StreamEnriched, "sink"}, {pipeline.StreamEnriched, "detect"}} {
		if _, err := js.Consumer(ctx, sc[0], sc[1]); err != nil {
			t.Errorf("consumer %s on %s: %v", sc[1], sc[0], err)
		}
	}
}

// A client without a certificate, or without the NKey, is refused.
func TestNATSClusterRequiresCertificateAndKey(t *testing.T) {
	c := clustertest.StartNATSCluster(t, t.TempDir(), 3, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for name, drop := range map[string]string{"no client certificate": "cert", "no nkey": "nkey_file"} {
		cfg := natsClusterConfig(t, c, nil)
		switch drop {
		case "cert":
			cfg.NATS.TLS.Cert, cfg.NATS.TLS.Key = "", ""
		case "nkey_file":
			cfg.NATS.NKeyFile = ""
		}
		in := newInfra(cfg)
		err := in.openNATS(ctx, false)
		in.Close()
		if err == nil {
			t.Errorf("%s: connected, want refused", name)
		}
	}
}

// R3 on a single server is refused at start with a message saying what to
// change, not after a timeout.
func TestReplicasNeedACluster(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	cfg := parseTestConfig(t, "single.yaml", map[string]any{
		"data_dir": t.TempDir(), "http": map[string]any{"listen": "off"},
		"nats": map[string]any{"url": js.URL(), "streams": map[string]any{"replicas": 3}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	in := newInfra(cfg)
	defer in.Close()
	start := time.Now()
	err := in.openNATS(ctx, false)
	if !errors.Is(err, pipeline.ErrNotClustered) || !strings.Contains(err.Error(), "single server") || !strings.Contains(err.Error(), "nats.streams.replicas") {
		t.Fatalf("openNATS() = %v, want ErrNotClustered naming nats.streams.replicas", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("refused after %v, want at once", d)
	}
	// And the config check refuses it without any server.
	_, err = ParseConfig("embedded.yaml", []byte("nats:\n  streams: {replicas: 3}\n"))
	if err == nil || !strings.Contains(err.Error(), "needs a NATS cluster") {
		t.Errorf("ParseConfig(embedded, replicas 3) = %v, want the embedded server refused", err)
	}
}

// EnsureStream reports a configuration the server refuses for good at once
// instead of retrying until the deadline.
func TestEnsureStreamPermanentErrorIsNotRetried(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	err := pipeline.EnsureStream(ctx, js.JS, jetstream.StreamConfig{Name: "OVERLAP", Subjects: []string{pipeline.SubjectRawPrefix + "x"}})
	if err == nil {
		t.Fatal("EnsureStream(overlapping subjects) = nil, want an error")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("gave up after %v, want at once: %v", d, err)
	}
}
