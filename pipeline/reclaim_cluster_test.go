//go:build clusterproof

// Run by `make stream-cluster-test`, which CI (.ci/run) runs after
// `make test`. It used to stall in loaded runs: "no new MENTIONS
// leader 60s after node N was killed" with the context's error, or the
// 3-minute context ran out before the kill. One stream info request of
// clustertest.StreamLeader had gone unanswered (only a stream's leader
// answers it, and right after a leader is killed no server may), and
// nats.go waited for the test's whole context. StreamLeader now bounds
// each request and WaitStreamLeader asks again; Reclaim bounds itself
// (reclaimTimeout), as the connector here publishes with that context.

package pipeline_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/earshot-dev/earshot/internal/clustertest"
	"github.com/earshot-dev/earshot/pipeline"
)

// On a three-server cluster with R3 streams, a full MENTIONS pushes back,
// frees what the consumer acknowledged, and keeps doing so after its leader
// is killed: every mention arrives exactly once.
func TestFullStreamOnR3ClusterFreesAcrossALeaderKill(t *testing.T) {
	c := clustertest.StartNATSCluster(t, t.TempDir(), 3, "")
	_, js := c.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Streams asked for before the cluster has a meta leader go unanswered
	// for pipeline's whole attempt (10 s); wait for it instead.
	if err := c.WaitMetaLeader(ctx, js); err != nil {
		t.Fatal(err)
	}
	if err := pipeline.EnsureStreams(ctx, js, pipeline.StreamsConfig{Replicas: 3, MaxBytes: smallStreams.MaxBytes}); err != nil {
		t.Fatal(err)
	}
	cons := durable(t, js, jetstream.ConsumerConfig{Durable: "enrich", AckPolicy: jetstream.AckExplicitPolicy,
		FilterSubject: pipeline.SubjectRawPrefix + ">", DeliverPolicy: jetstream.DeliverAllPolicy})
	pub := pipeline.NewRawPublisher(js, nil)

	began := time.Now()
	n, err := fillStream(t, pub, "r3")
	t.Logf("filled after %v", time.Since(began).Round(time.Millisecond))
	if !errors.Is(err, pipeline.ErrStreamFull) {
		t.Fatalf("Publish on a full R3 stream = %v; want ErrStreamFull", err)
	}
	received := map[string]int{}
	for _, id := range take(t, cons, n, true) {
		received[id]++
	}

	t.Logf("took the %d after %v", n, time.Since(began).Round(time.Millisecond))
	leader, err := c.WaitStreamLeader(ctx, js, pipeline.StreamMentions, -1)
	if err != nil {
		t.Fatalf("no MENTIONS leader: %v", err)
	}
	c.Kill(leader)
	start := time.Now()
	lctx, lcancel := context.WithTimeout(ctx, 60*time.Second)
	newLeader, err := c.WaitStreamLeader(lctx, js, pipeline.StreamMentions, leader)
	lcancel()
	if err != nil {
		t.Fatalf("no new MENTIONS leader 60s after node %d was killed: %v", leader, err)
	}
	t.Logf("new MENTIONS leader: node %d after %v", newLeader, time.Since(start).Round(time.Millisecond))

	const more = 400
	conn := startConnector(ctx, pub, "r3more", more)
	select {
	case <-conn.pushedBack:
	case err := <-conn.published:
		t.Fatalf("%d mentions published into a full R3 stream without being pushed back (err %v)", more, err)
	case <-ctx.Done():
		t.Fatal("never pushed back")
	}
	t.Logf("pushed back %v after the kill", time.Since(start).Round(time.Millisecond))
	published, fullRetries := conn.published, &conn.fullRetries
	c.Restart(leader)
	var pubErr error
	done := false
	for !done || len(received) < n+more {
		if ctx.Err() != nil {
			t.Fatalf("received %d of %d before the deadline", len(received), n+more)
		}
		for _, id := range take(t, cons, 20, true) {
			received[id]++
		}
		select {
		case pubErr = <-published:
			done = true
		default:
		}
		if pubErr != nil {
			t.Fatal(pubErr)
		}
	}
	for _, id := range take(t, cons, 10, true) {
		received[id]++
	}
	// Other retries are publishes that failed otherwise, such as a batch in
	// flight to the killed leader, never acknowledged (pipeline.PubAckTimeout).
	t.Logf("R3: full after %d mentions; %d push-backs, %d other retries; received %d distinct, %v after the kill",
		n, fullRetries.Load(), conn.retries.Load()-fullRetries.Load(), len(received), time.Since(start).Round(time.Millisecond))
	checkOnce(t, received, "r3more", more, n+more)
}
