package clustertest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// silentAPI is a JetStream client whose API requests reach a subscriber
// that never answers: what a client sees while a stream's leader is being
// replaced and the other servers stay silent.
func silentAPI(t *testing.T) jetstream.JetStream {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(30 * time.Second) {
		t.Fatal("nats server not ready")
	}
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if _, err := nc.Subscribe("silent.>", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.NewWithAPIPrefix(nc, "silent")
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// An unanswered stream info request used to hold StreamLeader for the
// caller's whole context (the R3 full-stream test's three minutes, so no
// new leader was ever seen); now it fails after StreamInfoAttempt, while
// the caller's context is still live, and the caller can ask again.
func TestStreamLeaderGivesUpOnAnUnansweredRequest(t *testing.T) {
	js := silentAPI(t)
	defer func(d time.Duration) { StreamInfoAttempt = d }(StreamInfoAttempt)
	StreamInfoAttempt = 100 * time.Millisecond
	c := &NATSCluster{t: t}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.StreamLeader(ctx, js, "MENTIONS")
	if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		t.Fatalf("StreamLeader with no answer = %v, caller's context %v; want its own attempt's deadline, the caller's context still live", err, ctx.Err())
	}

	wctx, wcancel := context.WithTimeout(ctx, time.Second)
	defer wcancel()
	_, err = c.WaitStreamLeader(wctx, js, "MENTIONS", -1)
	if err == nil || !strings.Contains(err.Error(), "unanswered") || ctx.Err() != nil {
		t.Fatalf("WaitStreamLeader with no answer = %v; want an error counting the unanswered requests, once its own context ends", err)
	}

	mctx, mcancel := context.WithTimeout(ctx, time.Second)
	defer mcancel()
	if err := c.WaitMetaLeader(mctx, js); err == nil || ctx.Err() != nil {
		t.Fatalf("WaitMetaLeader with no answer = %v; want an error once its own context ends", err)
	}
}
