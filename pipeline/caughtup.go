package pipeline

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"
)

// ConsumerCaughtUp reports whether the durable consumer of stream has
// acknowledged every message the stream holds for its filter: no
// acknowledgement pending, and its ack floor at or past the last matching
// message. A consumer that does not exist (yet) is not caught up, and is no
// error.
//
// Consumer info's NumPending is not that: the server keeps it as a running
// count fed by a queue the stream signals its consumers through, apart from
// the store, so right after the PubAcks of a burst it can still read 0 for
// messages nobody fetched yet (seen as NumPending 0, NumAckPending 0 and ack
// floor 0 after 672 PubAcks on a loaded machine, nats-server 2.15). The
// stream's last sequence is stored before the PubAck and the ack floor moves
// only with acknowledgements, so this check cannot run ahead of the
// consumer.
func ConsumerCaughtUp(ctx context.Context, js jetstream.JetStream, stream, durable string) (bool, error) {
	c, err := js.Consumer(ctx, stream, durable)
	if err != nil {
		return false, nil
	}
	info, err := c.Info(ctx)
	if err != nil || info.NumAckPending != 0 {
		return false, err
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
