package pipelinetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// CaughtUp reports whether the durable consumer has acknowledged every
// message stream holds for its filter: no acknowledgement pending, and its
// ack floor at or past the last matching message.
//
// Consumer info's NumPending is not that: the server keeps it as a running
// count fed by a queue the stream signals its consumers through, apart from
// the store, so right after the PubAcks of a burst it can still read 0 for
// messages nobody fetched yet (seen as NumPending 0, NumAckPending 0 and ack
// floor 0 after 672 PubAcks on a loaded machine). A wait on
// NumPending == 0 && NumAckPending == 0 can then end before the consumer
// saw anything. The stream's last sequence is stored before the PubAck and
// the ack floor moves only with acknowledgements, so this check cannot.
func (j *JetStream) CaughtUp(t testing.TB, stream, durable string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ok, err := ConsumerCaughtUp(ctx, j.JS, stream, durable)
	if err != nil {
		t.Logf("CaughtUp(%s, %s): %v", stream, durable, err)
	}
	return ok
}

// ConsumerCaughtUp is CaughtUp on any JetStream context. A consumer that
// does not exist (yet) is not caught up, and is no error.
func ConsumerCaughtUp(ctx context.Context, js jetstream.JetStream, stream, durable string) (bool, error) {
	c, err := js.Consumer(ctx, stream, durable)
	if err != nil {
		return false, nil
	}
	info, err := c.Info(ctx)
	if err != nil || info.NumAckPending != 0 {
		return false, nil
	}
	last, err := LastSeq(ctx, js, stream, info.Config.FilterSubject, info.Config.FilterSubjects...)
	if err != nil {
		return false, err
	}
	return info.AckFloor.Stream >= last, nil
}

// LastSeq is the sequence of the last message of stream on any of the
// subjects (wildcards allowed; none given means the whole stream), 0 when
// there is none.
func LastSeq(ctx context.Context, js jetstream.JetStream, stream, subject string, more ...string) (uint64, error) {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	subjects := append([]string{subject}, more...)
	if subject == "" {
		subjects = more
	}
	if len(subjects) == 0 {
		info, err := st.Info(ctx)
		if err != nil {
			return 0, err
		}
		return info.State.LastSeq, nil
	}
	var last uint64
	for _, s := range subjects {
		m, err := st.GetLastMsgForSubject(ctx, s)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return 0, err
		}
		last = max(last, m.Sequence)
	}
	return last, nil
}
