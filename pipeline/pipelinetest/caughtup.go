package pipelinetest

import (
	"context"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// CaughtUp reports whether the durable consumer has acknowledged every
// message stream holds for its filter: no acknowledgement pending, and its
// ack floor at or past the last matching message.
//
// A wait on NumPending == 0 && NumAckPending == 0 can end before the
// consumer saw anything: see pipeline.ConsumerCaughtUp.
func (j *JetStream) CaughtUp(t testing.TB, stream, durable string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ok, err := pipeline.ConsumerCaughtUp(ctx, j.JS, stream, durable)
	if err != nil {
		t.Logf("CaughtUp(%s, %s): %v", stream, durable, err)
	}
	return ok
}
