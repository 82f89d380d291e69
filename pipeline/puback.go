package pipeline

import (
	"errors"
	"time"
)

// PubAckTimeout bounds the wait for a JetStream publish acknowledgement.
//
// An acknowledgement can be lost for good: a message that reached a
// stream leader killed before it answered, or one still in a route to it,
// is never acknowledged, and the client's own connection never drops, so
// nothing fails the wait. Without a bound, the publisher waited forever
// without a word: a connector stopped polling its feed (its mentions
// since then were never collected), and an enrich worker kept its batch
// in progress. Past the bound the publish fails, the caller retries it,
// and the stream deduplicates by Nats-Msg-Id what was stored after all.
// Roles also set it as the JetStream client's async publish timeout, which
// forgets the pending acknowledgement.
const PubAckTimeout = 30 * time.Second

// ErrPubAckTimeout: a publish was not acknowledged within PubAckTimeout.
// It may have been stored; publish again (the retry is deduplicated).
var ErrPubAckTimeout = errors.New("no acknowledgement from the stream")

// pubAckTimeout is PubAckTimeout (shortened by tests).
var pubAckTimeout = PubAckTimeout
