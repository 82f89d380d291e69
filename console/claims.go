package console

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/earshot-dev/earshot/sink/clickhouse"
)

// ClaimsBucket is the NATS KV bucket that arbitrates queue actions between
// console replicas.
const ClaimsBucket = "console_claims"

// ClaimsBucketConfig is the bucket's configuration; replicas as the
// streams'. A key outlives any claim worth arbitrating: after MaxAge the
// responses table alone holds the state.
func ClaimsBucketConfig(replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      ClaimsBucket,
		Description: "earshot console: the queue state of each mention acted on, written by compare-and-swap",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		TTL:         30 * 24 * time.Hour,
	}
}

// claimKey is a mention id as a KV key: ids hold characters (':', '@')
// that keys may not, so the key is the id in unpadded base64url.
func claimKey(id string) string { return "m." + base64.RawURLEncoding.EncodeToString([]byte(id)) }

// claimEntry reads a mention's state from the bucket: nil and revision 0
// when it has none.
func (s *Server) claimEntry(ctx context.Context, id string) (*clickhouse.Response, uint64, error) {
	e, err := s.claims.Get(ctx, claimKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("queue state (NATS KV %s): %w", ClaimsBucket, err)
	}
	var r clickhouse.Response
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return nil, 0, fmt.Errorf("queue state (NATS KV %s, key %s): %w", ClaimsBucket, e.Key(), err)
	}
	return &r, e.Revision(), nil
}

// putClaim writes next if the key is still at rev (0: absent). It reports
// false, without error, when another replica wrote the key first.
func (s *Server) putClaim(ctx context.Context, next clickhouse.Response, rev uint64) (bool, error) {
	b, err := json.Marshal(next)
	if err != nil {
		return false, err
	}
	if rev == 0 {
		_, err = s.claims.Create(ctx, claimKey(next.MentionID), b)
	} else {
		_, err = s.claims.Update(ctx, claimKey(next.MentionID), b, rev)
	}
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return false, nil
	default:
		return false, fmt.Errorf("queue state (NATS KV %s): %w", ClaimsBucket, err)
	}
}
