//go:build clusterproof

// Run by `make stream-cluster-test`, in neither `make test` nor CI: it
// failed in two loaded full `go test ./...` runs (no new MENTIONS leader
// within 60 s of the kill) and once alone in CI, where its 3-minute
// context ran out before the kill (the fill or the take stalled about two
// minutes); alone it otherwise passes in 12-20 s, even beside CPU burners.
// The cause is not found; the phase times are logged for the next failure.

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
	leader, err := c.StreamLeader(ctx, js, pipeline.StreamMentions)
	if err != nil {
		t.Fatal(err)
	}
	c.Kill(leader)
	var lastLeader int
	var lastErr error
	start := time.Now()
	for {
		lastLeader, lastErr = c.StreamLeader(ctx, js, pipeline.StreamMentions)
		if lastErr == nil && lastLeader != leader {
			break
		}
		if time.Since(start) > 60*time.Second {
			t.Fatalf("no new MENTIONS leader 60s after node %d was killed: last answer leader %d, error %v", leader, lastLeader, lastErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("new MENTIONS leader: node %d after %v", lastLeader, time.Since(start).Round(time.Millisecond))

	const more = 400
	conn := startConnector(ctx, pub, "r3more", more)
	select {
	case <-conn.pushedBack:
	case err := <-conn.published:
		t.Fatalf("%d mentions published into a full R3 stream without being pushed back (err %v)", more, err)
	case <-ctx.Done():
		t.Fatal("never pushed back")
	}
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
	t.Logf("R3: full after %d mentions; %d push-backs; received %d distinct", n, fullRetries.Load(), len(received))
	checkOnce(t, received, "r3more", more, n+more)
}
