package pipeline

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A Reclaim whose requests nobody answers (here a subscriber takes them
// and never answers, as the servers of a cluster do while a stream's new
// leader is elected) fails within reclaimTimeout even when the caller's
// context has a deadline of minutes: nats.go waits for such a context, and
// the publisher held its batch for all of it.
func TestReclaimWithoutAnswerFailsWithinItsBound(t *testing.T) {
	nc := embeddedConn(t)
	sub, err := nc.SubscribeSync("silent.>") // takes every API request, answers none
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	js, err := jetstream.NewWithAPIPrefix(nc, "silent")
	if err != nil {
		t.Fatal(err)
	}
	defer func(d time.Duration) { reclaimTimeout = d }(reclaimTimeout)
	reclaimTimeout = 200 * time.Millisecond

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := Reclaim(ctx, js, StreamMentions)
	if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		t.Fatalf("Reclaim with no answer = %v, %v (caller's context: %v); want its own deadline, the caller's context still live", r, err, ctx.Err())
	}
	if r.Removed != 0 {
		t.Errorf("Reclaim with no answer removed %d", r.Removed)
	}
	if msg, err := sub.NextMsg(time.Second); err != nil {
		t.Errorf("Reclaim sent no request (%v)", err)
	} else {
		t.Logf("unanswered: %s", msg.Subject)
	}
}
