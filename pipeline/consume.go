package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ConsumerConfig tunes a durable pull consumer shared by a role's replicas.
type ConsumerConfig struct {
	// AckWait is how long a delivered message may stay unacknowledged before
	// JetStream redelivers it. Runners extend it with InProgress while a
	// downstream write is being retried.
	AckWait time.Duration `yaml:"ack_wait"`
	// MaxDeliver bounds deliveries of one message: a message delivered more
	// often than this (the process died or timed out on it every time) is
	// moved to the dead-letter stream with the reason.
	MaxDeliver int `yaml:"max_deliver"`
}

func (c ConsumerConfig) withDefaults() ConsumerConfig {
	if c.AckWait <= 0 {
		c.AckWait = time.Minute
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 5
	}
	return c
}

// ensureConsumer creates or updates a durable pull consumer. MaxDeliver is
// left unlimited on the server: the runner enforces its own bound so it can
// dead-letter with a reason instead of JetStream silently giving up.
func ensureConsumer(ctx context.Context, js jetstream.JetStream, stream, durable, filter string, c ConsumerConfig, maxAckPending int) (jetstream.Consumer, error) {
	return EnsureConsumer(ctx, js, stream, jetstream.ConsumerConfig{
		Durable:       durable,
		Description:   "earshot " + durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.AckWait,
		MaxDeliver:    -1,
		FilterSubject: filter,
		MaxAckPending: maxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
}

// deadLetter copies msg to deadletter.<stage> with the reason (and the
// history of a replayed message; see deadLetterMsg), then
// terminates it on its stream. It returns an error (and leaves msg alone)
// when the dead-letter copy was not acknowledged, so nothing is lost.
func deadLetter(ctx context.Context, js jetstream.JetStream, stage string, msg jetstream.Msg, reason string, m *Metrics, kind string) error {
	md, _ := msg.Metadata()
	var maxPayload int64
	if nc := js.Conn(); nc != nil {
		maxPayload = nc.MaxPayload()
	}
	dl := deadLetterMsg(stage, reason, msg.Subject(), msg.Data(), msg.Headers(), maxPayload)
	if md != nil {
		dl.Header.Set(jetstream.MsgIDHeader, stage+":"+md.Stream+":"+strconv.FormatUint(md.Sequence.Stream, 10))
	}
	if _, err := js.PublishMsg(ctx, dl); err != nil {
		return fmt.Errorf("dead-letter (%s): %w", reason, err)
	}
	if m != nil {
		m.DeadLettered.WithLabelValues(stage, kind).Inc()
	}
	return msg.Term()
}

// overDelivered reports whether msg was delivered more than max times.
func overDelivered(msg jetstream.Msg, max int) (uint64, bool) {
	md, err := msg.Metadata()
	if err != nil {
		return 0, false
	}
	return md.NumDelivered, md.NumDelivered > uint64(max)
}

// Backoff is a capped exponential backoff with full jitter.
type Backoff struct {
	Min, Max time.Duration
	attempt  int
}

// Next returns the next delay.
func (b *Backoff) Next() time.Duration {
	d := b.Min << min(b.attempt, 30)
	if d > b.Max || d <= 0 {
		d = b.Max
	}
	b.attempt++
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// Reset starts over after a success.
func (b *Backoff) Reset() { b.attempt = 0 }

// keepAlive tells JetStream every `every` that the held messages are still
// being worked on, so a slow or retried downstream write does not get them
// redelivered to another replica. Call the returned func when done.
func keepAlive(held []jetstream.Msg, every time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, m := range held {
					_ = m.InProgress()
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// retry calls f until it succeeds or ctx ends, sleeping with backoff.
func retry(ctx context.Context, log *slog.Logger, what string, f func(context.Context) error, onErr func(error)) error {
	b := Backoff{Min: 200 * time.Millisecond, Max: 30 * time.Second}
	for attempt := 1; ; attempt++ {
		err := f(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		onErr(err)
		d := b.Next()
		log.Warn("retrying", "op", what, "attempt", attempt, "in", d.Round(time.Millisecond), "err", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// isClosed reports errors that mean the consumer's connection or context is gone.
func isClosed(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, jetstream.ErrConsumerDeleted)
}
