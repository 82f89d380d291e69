package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Creating JetStream assets on a cluster.
//
// When several processes create the same replicated stream, KV bucket or
// consumer at the same moment on a fresh cluster, nats-server (2.12, 2.15)
// can leave some of the API requests unanswered (nats-server #7210 for
// streams, #8350 and #8592 for consumers), and a cluster whose servers are
// still meeting answers "insufficient resources" for R3. So every asset is
// ensured the same way:
//
//   - look first: an asset that already exists with the wanted settings is
//     used as is, with no write (most starts of most replicas);
//   - otherwise create it (or update what differs); "already exists" from a
//     concurrent creator sends the loop back to looking;
//   - each attempt has its own short timeout, and a timeout, no responders
//     or a transient server error is retried with backoff until the
//     caller's context ends, while a configuration the server refuses for
//     good (R3 on a single server, overlapping subjects) fails at once.

// ensureAttempt bounds one JetStream API attempt.
const ensureAttempt = 10 * time.Second

// Server error codes that retrying does not cure.
var permanentJSErrors = []jetstream.ErrorCode{
	10074, // replicas > 1 not supported in non-clustered mode
	10065, // subjects overlap with an existing stream
	10052, // invalid stream configuration
	10058, // stream name in use with a different configuration
	10012, // consumer create failed (invalid configuration)
}

// ErrNotClustered is returned when replicas > 1 are asked of a NATS server
// that is not part of a cluster.
var ErrNotClustered = errors.New("nats.streams.replicas > 1 needs a NATS cluster")

func permanent(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return slices.Contains(permanentJSErrors, apiErr.ErrorCode)
	}
	return errors.Is(err, ErrNotClustered) || errors.Is(err, ErrRetention) || errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrConnectionClosed)
}

// ensureRetry runs op (one attempt, with its own timeout) until it succeeds,
// fails for good, or ctx ends; then the last error is returned.
func ensureRetry(ctx context.Context, what string, op func(context.Context) error) error {
	b := Backoff{Min: 250 * time.Millisecond, Max: 5 * time.Second}
	for {
		actx, cancel := context.WithTimeout(ctx, ensureAttempt)
		err := op(actx)
		cancel()
		if err == nil {
			return nil
		}
		if permanent(err) {
			return fmt.Errorf("%s: %w", what, err)
		}
		d := b.Next()
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: gave up after retrying (%w): last error: %w", what, ctx.Err(), err)
		case <-t.C:
		}
	}
}

// EnsureStream creates the stream or brings it to cfg, retrying (see above).
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) error {
	return ensureRetry(ctx, "ensure stream "+cfg.Name, func(ctx context.Context) error {
		s, err := js.Stream(ctx, cfg.Name)
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound):
			_, err = js.CreateStream(ctx, cfg)
			return err // "already in use": a concurrent creator won; look again
		case err != nil:
			return err
		}
		if streamMatches(s.CachedInfo().Config, cfg) {
			return nil
		}
		if err := checkRetention(s.CachedInfo().Config, cfg); err != nil {
			return err
		}
		_, err = js.UpdateStream(ctx, cfg)
		return err
	})
}

func streamMatches(have, want jetstream.StreamConfig) bool {
	return slices.Equal(have.Subjects, want.Subjects) && have.Replicas == want.Replicas &&
		have.MaxAge == want.MaxAge && have.MaxBytes == want.MaxBytes && have.Duplicates == want.Duplicates &&
		have.Discard == want.Discard && have.Retention == want.Retention && have.Storage == want.Storage &&
		have.Description == want.Description
}

// EnsureKeyValue opens the bucket, creating it or changing its replicas
// when they differ, retrying (see above).
func EnsureKeyValue(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	var kv jetstream.KeyValue
	err := ensureRetry(ctx, "ensure kv "+cfg.Bucket, func(ctx context.Context) error {
		var err error
		kv, err = js.KeyValue(ctx, cfg.Bucket)
		switch {
		case errors.Is(err, jetstream.ErrBucketNotFound):
			kv, err = js.CreateKeyValue(ctx, cfg)
			return err // "exists": a concurrent creator won; look again
		case err != nil:
			return err
		}
		st, err := kv.Status(ctx)
		if err != nil {
			return err
		}
		if bs, ok := st.(*jetstream.KeyValueBucketStatus); ok {
			have := bs.StreamInfo().Config
			if have.Replicas == max(cfg.Replicas, 1) && have.Description == cfg.Description {
				return nil
			}
		}
		kv, err = js.UpdateKeyValue(ctx, cfg)
		return err
	})
	return kv, err
}

// EnsureConsumer creates the durable consumer or brings it to cfg,
// retrying (see above).
func EnsureConsumer(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	var cons jetstream.Consumer
	err := ensureRetry(ctx, fmt.Sprintf("consumer %s on %s", cfg.Durable, stream), func(ctx context.Context) error {
		c, err := js.Consumer(ctx, stream, cfg.Durable)
		switch {
		case errors.Is(err, jetstream.ErrConsumerNotFound):
		case err != nil:
			return err
		default:
			if consumerMatches(c.CachedInfo().Config, cfg) {
				cons = c
				return nil
			}
		}
		cons, err = js.CreateOrUpdateConsumer(ctx, stream, cfg)
		return err
	})
	return cons, err
}

func consumerMatches(have, want jetstream.ConsumerConfig) bool {
	return have.AckPolicy == want.AckPolicy && have.AckWait == want.AckWait && have.MaxDeliver == want.MaxDeliver &&
		have.FilterSubject == want.FilterSubject && have.MaxAckPending == want.MaxAckPending &&
		have.DeliverPolicy == want.DeliverPolicy && have.Description == want.Description &&
		(want.Replicas == 0 || have.Replicas == want.Replicas)
}

// CheckPlacement refuses replicas > 1 when the connected server is not part
// of a cluster, with a message saying what to change. (A cluster with fewer
// servers than replicas is refused by the server as "insufficient
// resources", which EnsureStream reports when it gives up.)
func CheckPlacement(nc *nats.Conn, replicas int) error {
	if replicas <= 1 || nc.ConnectedClusterName() != "" {
		return nil
	}
	return fmt.Errorf("%w: nats.streams.replicas is %d but the server at %s is a single server, not part of a cluster: "+
		"set nats.streams.replicas: 1 (and detect.kv_replicas: 1), or point nats.url at a cluster of at least %d servers",
		ErrNotClustered, replicas, nc.ConnectedUrlRedacted(), replicas)
}
