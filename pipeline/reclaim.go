package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Freeing a full stream.
//
// The streams keep LimitsPolicy with DiscardNew: JetStream never deletes an
// unread message to make room, and a full stream refuses new ones, so the
// publisher keeps its cursor (or its unacknowledged input) and retries. But
// under LimitsPolicy an acknowledged message stays until max_age, so a
// stream that reached max_bytes would refuse publishes for days after the
// pipeline caught up. So when a publish finds the stream full, the
// publisher removes the prefix of the stream that every holding consumer
// has acknowledged (Reclaim), at most the older half of the stream, and
// publishes again.
//
// A holding consumer is every consumer that acknowledges (AckExplicit or
// AckAll) and does not opt out with the metadata MetaHold: "false": the
// roles' own durables, and by default every user's durable subscriber.
// Consumers that acknowledge nothing (ordered consumers: `earshot tail`,
// the detector's replay reader) never hold a stream back. A stream with no
// holding consumer at all is never reclaimed: nothing proves its messages
// were read.
//
// Why not Interest or WorkQueue retention (see docs/RELIABILITY.md): under
// Interest, a message published while no consumer exists is acknowledged
// and not stored (a connector started before enrich would lose mentions),
// and the stream keeps no replay window for re-enrichment and the detector;
// WorkQueue allows one consumer per subject and cannot be changed to or
// from in place; both would need existing streams recreated. Reclaiming
// keeps every existing stream as it is.

// MetaHold is the consumer metadata key a subscriber sets to "false" when
// the stream may drop messages it has not acknowledged, once the stream is
// full, rather than push back on the pipeline.
const MetaHold = "earshot.hold"

// Reclaimed says what Reclaim freed, or what held it back.
type Reclaimed struct {
	Stream  string
	Removed uint64 // messages removed
	// Holder is the holding consumer with the lowest acknowledged floor
	// (empty when none holds the stream), and Behind its messages not yet
	// acknowledged (pending delivery plus delivered and unacknowledged).
	Holder string
	Behind uint64
}

func (r Reclaimed) String() string {
	switch {
	case r.Holder == "":
		return fmt.Sprintf("stream %s: no consumer acknowledges it, so nothing is freed", r.Stream)
	case r.Removed == 0:
		return fmt.Sprintf("stream %s: consumer %s has %d messages not yet acknowledged, so nothing can be freed yet", r.Stream, r.Holder, r.Behind)
	default:
		return fmt.Sprintf("stream %s: freed %d acknowledged messages (slowest consumer %s, %d behind)", r.Stream, r.Removed, r.Holder, r.Behind)
	}
}

// reclaimTimeout bounds one Reclaim. Its requests (stream and consumer
// info, the purge) are answered by the stream's leader only, and while a
// new leader is elected (a leader was killed, a loaded cluster missed a
// heartbeat) no server may answer. nats.go waits for an unanswered request
// until the caller's context ends, or 5 s when it has no deadline: a
// publisher given a deadline of minutes held its batch for all of it.
// Past the bound Reclaim fails, the publish returns ErrStreamFull, and the
// caller retries.
var reclaimTimeout = 30 * time.Second

// Reclaim removes from stream the messages every holding consumer has
// acknowledged (see above), at most the older half of the stream. It never
// removes a message a holding consumer still needs: acknowledgement floors
// only move forward, and the floor of each consumer is read after the
// stream's last sequence.
func Reclaim(ctx context.Context, js jetstream.JetStream, stream string) (Reclaimed, error) {
	ctx, cancel := context.WithTimeout(ctx, reclaimTimeout)
	defer cancel()
	r := Reclaimed{Stream: stream}
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return r, fmt.Errorf("reclaim %s: %w", stream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return r, fmt.Errorf("reclaim %s: %w", stream, err)
	}
	first, last := info.State.FirstSeq, info.State.LastSeq
	floor, held := uint64(0), false
	lister := st.ListConsumers(ctx)
	for ci := range lister.Info() {
		if !holds(ci) {
			continue
		}
		f, err := consumerFloor(ctx, st, ci, last)
		if err != nil {
			return r, fmt.Errorf("reclaim %s: consumer %s: %w", stream, ci.Name, err)
		}
		if !held || f < floor {
			floor, held = f, true
			r.Holder, r.Behind = ci.Name, ci.NumPending+uint64(ci.NumAckPending)
		}
	}
	if err := lister.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		return r, fmt.Errorf("reclaim %s: list consumers: %w", stream, err)
	}
	if !held || info.State.Msgs == 0 || floor < first {
		return r, nil
	}
	// Free at most the older half of the stream: the newer acknowledged
	// messages stay, as a replay window for readers of history
	// (re-enrichment, a new detect leader's samples), and the next reclaim
	// comes after half a stream of new messages.
	below := min(floor+1, max(first+(last-first+1)/2, first+1))
	before := info.State.Msgs
	// Purge removes every message below the given sequence.
	if err := st.Purge(ctx, jetstream.WithPurgeSequence(below)); err != nil {
		return r, fmt.Errorf("reclaim %s below %d: %w", stream, below, err)
	}
	if after, err := st.Info(ctx); err == nil && after.State.Msgs < before {
		// Messages published meanwhile may hide some of the removed ones;
		// the count is for logs and tests, never for what to remove.
		r.Removed = before - after.State.Msgs
	}
	if r.Removed == 0 {
		r.Removed = below - first
	}
	return r, nil
}

// holds reports whether ci keeps the messages it has not acknowledged.
func holds(ci *jetstream.ConsumerInfo) bool {
	if ci == nil || ci.Config.AckPolicy == jetstream.AckNonePolicy {
		return false
	}
	return ci.Config.Metadata[MetaHold] != "false"
}

// consumerFloor is the highest stream sequence at or below which ci needs
// no message any more. last is the stream's last sequence read before ci:
// a consumer with nothing unacknowledged whose ack floor is at or past the
// last message of its filter has acknowledged (or never wanted) every
// message up to last, even when its floor lags because its filter skips
// the newest messages.
//
// NumPending == 0 does not prove that: the server keeps it as a running
// count fed by a queue apart from the store, so right after a burst of
// PubAcks (when a publisher finds the stream full and reclaims) it can
// read 0 for messages the consumer was never delivered. The last matching
// message, read from the store after last, cannot lag.
func consumerFloor(ctx context.Context, st jetstream.Stream, ci *jetstream.ConsumerInfo, last uint64) (uint64, error) {
	if ci.NumAckPending != 0 || ci.NumRedelivered != 0 || ci.NumPending != 0 || ci.AckFloor.Stream >= last {
		return ci.AckFloor.Stream, nil
	}
	filters := append([]string(nil), ci.Config.FilterSubjects...)
	if ci.Config.FilterSubject != "" {
		filters = append(filters, ci.Config.FilterSubject)
	}
	if len(filters) == 0 {
		return ci.AckFloor.Stream, nil // every message is its: the floor is exact
	}
	for _, f := range filters {
		m, err := st.GetLastMsgForSubject(ctx, f)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("last message on %s: %w", f, err)
		}
		if m.Sequence > ci.AckFloor.Stream {
			return ci.AckFloor.Stream, nil // a message it wants is not acknowledged
		}
	}
	return last, nil
}

// publishReclaiming publishes ms to the stream behind prefix; while the
// stream is full and its consumers have acknowledged something, it frees
// that (Reclaim) and publishes again. Every round frees at least one
// message or stops. Mentions an earlier round stored are dropped as
// duplicates by their Nats-Msg-Id. A stream still full returns
// ErrStreamFull with what holds it, for the caller to retry later.
// m may be nil.
func publishReclaiming(ctx context.Context, js jetstream.JetStream, m *Metrics, stream, prefix string, ms []*Mention) error {
	for {
		err := publishBatch(ctx, js, prefix, ms)
		if !errors.Is(err, ErrStreamFull) {
			return err
		}
		r, rerr := Reclaim(ctx, js, stream)
		if rerr != nil {
			return fmt.Errorf("%w; freeing acknowledged messages failed: %w", err, rerr)
		}
		if r.Removed == 0 {
			if m != nil {
				m.StreamPushBack.WithLabelValues(stream).Inc()
			}
			return fmt.Errorf("%w (%s)", err, r)
		}
		if m != nil {
			m.StreamReclaimed.WithLabelValues(stream).Add(float64(r.Removed))
		}
	}
}

// ErrRetention is returned when an existing stream has a retention policy
// JetStream cannot change in place into the one earshot needs.
var ErrRetention = errors.New("stream retention cannot be changed in place")

// checkRetention refuses an existing stream whose retention cannot be
// brought to want's by an update, saying what to do. Limits and Interest
// change into each other in place (from Interest to Limits only keeps
// more), and so does the discard policy; WorkQueue changes into nothing,
// and earshot never deletes a stream with data by itself.
func checkRetention(have, want jetstream.StreamConfig) error {
	if have.Retention == want.Retention || (have.Retention != jetstream.WorkQueuePolicy && want.Retention != jetstream.WorkQueuePolicy) {
		return nil
	}
	return fmt.Errorf("%w: stream %s exists with %s retention and earshot needs %s; "+
		"JetStream cannot change a stream to or from work queue retention, and earshot deletes no stream by itself. "+
		"To move it without losing a message: stop the roles that publish to it, let its consumers acknowledge everything "+
		"(`nats consumer report %s` shows nothing unprocessed and `nats stream info %s` 0 messages), "+
		"optionally keep a copy (`nats stream backup %s DIR`), then remove it (`nats stream rm %s`) and start earshot again, which creates it as needed",
		ErrRetention, have.Name, have.Retention, want.Retention, have.Name, have.Name, have.Name, have.Name)
}
