// Package pipelinetest starts real, in-process infrastructure for tests: an
// embedded NATS server with JetStream on a random port with t.TempDir()
// storage, the earshot streams, and helpers to read what arrived.
package pipelinetest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/earshot-dev/earshot/pipeline"
)

// JetStream is a running embedded server with the earshot streams created.
type JetStream struct {
	Server *server.Server
	Dir    string
	NC     *nats.Conn
	JS     jetstream.JetStream
}

// URL is the client URL of the server.
func (j *JetStream) URL() string { return j.Server.ClientURL() }

// StartJetStream starts an embedded JetStream server in a temp dir, creates
// the streams and returns a connected client. Everything stops at cleanup.
func StartJetStream(t testing.TB) *JetStream {
	t.Helper()
	return StartJetStreamIn(t, t.TempDir(), -1)
}

// StartJetStreamIn starts the server with storage in dir on port (-1 for a
// random one), for tests that restart a server on the same data.
func StartJetStreamIn(t testing.TB, dir string, port int) *JetStream {
	t.Helper()
	return StartJetStreamWith(t, dir, port, pipeline.StreamsConfig{})
}

// StartJetStreamWith starts the server with storage in dir on port (-1 for
// a random one) and creates the streams sized by sc (zero fields take the
// defaults), e.g. a small max_bytes to fill them.
func StartJetStreamWith(t testing.TB, dir string, port int, sc pipeline.StreamsConfig) *JetStream {
	t.Helper()
	s, err := pipeline.StartEmbeddedNATS(pipeline.EmbeddedNATSOptions{Dir: dir, Port: port})
	if err != nil {
		t.Fatalf("StartEmbeddedNATS: %v", err)
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	nc, err := nats.Connect(s.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("nats.Connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream.New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pipeline.EnsureStreams(ctx, js, sc); err != nil {
		t.Fatalf("EnsureStreams: %v", err)
	}
	return &JetStream{Server: s, Dir: dir, NC: nc, JS: js}
}

// SourceEnv returns an environment for running a connector against j.
func (j *JetStream) SourceEnv(t testing.TB, platform, name string) *pipeline.SourceEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cur, err := pipeline.NewKVCursors(ctx, j.JS, name)
	if err != nil {
		t.Fatalf("NewKVCursors: %v", err)
	}
	cm := pipeline.NewMetrics(prometheus.NewRegistry()).Connector(platform, name)
	return &pipeline.SourceEnv{
		Name:      name,
		Publisher: pipeline.NewRawPublisher(j.JS, cm),
		Cursors:   cur,
		Logger:    Logger(t),
		Metrics:   cm,
	}
}

// Mentions returns every mention currently stored in stream (e.g.
// pipeline.StreamMentions), in stream order.
func (j *JetStream) Mentions(t testing.TB, stream string) []*pipeline.Mention {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := j.JS.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatalf("stream %s info: %v", stream, err)
	}
	var out []*pipeline.Mention
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		raw, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted
		}
		m, err := pipeline.Unmarshal(raw.Data)
		if err != nil {
			t.Fatalf("stream %s seq %d: %v", stream, seq, err)
		}
		out = append(out, m)
	}
	return out
}

// WaitFor polls cond every 20ms until it returns true or the deadline passes.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Logger returns a slog.Logger that writes to the test log (debug level).
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

// Discard is a logger that drops everything, for benchmarks.
var Discard = slog.New(slog.NewTextHandler(io.Discard, nil))
