//go:build clusterproof

package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/earshot-dev/earshot/internal/clustertest"
	"github.com/earshot-dev/earshot/pipeline"
)

// TestLostPubAckIsBounded shows why pipeline.PubAckTimeout exists: four
// publishers connected to one follower of stream MENTIONS (R3, three
// nats-server processes) publish batches while the stream leader is
// SIGKILLed and brought back, four times. Some batches are never
// acknowledged, and the follower connection never drops; every Publish must
// still return (nil, or ErrPubAckTimeout to retry), none may wait forever.
// Not part of `make cluster-test` (it adds two minutes); run it with
// go test -tags clusterproof -run TestLostPubAckIsBounded -v ./cmd/earshot/
func TestLostPubAckIsBounded(t *testing.T) {
	dir := t.TempDir()
	_, natsBin := buildBinaries(t, dir)
	c := clustertest.StartNATSCluster(t, filepath.Join(dir, "nats"), 3, natsBin)
	_, js := c.Connect(t)
	ctx := context.Background()
	ectx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := pipeline.EnsureStreams(ectx, js, pipeline.StreamsConfig{Replicas: 3, MaxBytes: 64 << 20}); err != nil {
		t.Fatal(err)
	}
	var acked, failed, unacked, n atomic.Int64
	for cycle := range 4 {
		leader, err := c.WaitStreamLeader(ctx, js, pipeline.StreamMentions, -1)
		if err != nil {
			t.Fatal(err)
		}
		follower := (leader + 1) % len(c.Nodes)
		nc, err := nats.Connect(fmt.Sprintf("tls://127.0.0.1:%d", c.Nodes[follower].Port), c.ClientOptions()...)
		if err != nil {
			t.Fatal(err)
		}
		pjs, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		p := pipeline.NewRawPublisher(pjs, nil)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					var ms []*pipeline.Mention
					for range 20 {
						ms = append(ms, &pipeline.Mention{ID: fmt.Sprintf("rss:%d-%d", w, n.Add(1)), Platform: "rss", Text: "acme", URL: "https://example.test/x"})
					}
					switch err := p.Publish(ctx, ms); {
					case errors.Is(err, pipeline.ErrPubAckTimeout):
						unacked.Add(1)
					case err != nil:
						failed.Add(1)
						time.Sleep(100 * time.Millisecond)
					default:
						acked.Add(1)
					}
				}
			})
		}
		time.Sleep(2 * time.Second)
		c.Kill(leader)
		time.Sleep(8 * time.Second)
		c.Restart(leader)
		time.Sleep(5 * time.Second)
		close(stop)
		returned := make(chan struct{})
		go func() { wg.Wait(); close(returned) }()
		select {
		case <-returned:
		case <-time.After(pipeline.PubAckTimeout + time.Minute):
			t.Fatalf("cycle %d: a Publish still waits for its acknowledgement %v after the publishers were told to stop", cycle, pipeline.PubAckTimeout+time.Minute)
		}
		nc.Close()
		t.Logf("after %d leader kills: %d batches acknowledged, %d failed at once, %d unacknowledged (returned after %v)",
			cycle+1, acked.Load(), failed.Load(), unacked.Load(), pipeline.PubAckTimeout)
	}
}
