package detect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/earshot-dev/earshot/pipeline"
)

// KV keys in the detect bucket.
const (
	leaderKey = "leader"
	stateKey  = "state"
)

// Lease and checkpoint errors.
var (
	// ErrLeaseLost means another detect process holds the lease now.
	ErrLeaseLost = pipeline.ErrLeaseLost
	// ErrFenced means another process wrote the checkpoint since this one
	// read or wrote it: this process is no longer the leader.
	ErrFenced = errors.New("detect checkpoint written by another process")
)

// OpenBucket creates (or updates) and opens the detect KV bucket.
func OpenBucket(ctx context.Context, js jetstream.JetStream, name string, replicas int) (jetstream.KeyValue, error) {
	return pipeline.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket:      name,
		Description: "earshot detect: leader lease and detector checkpoints",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
}

// Lease is the detect leadership: a pipeline.Lease on the bucket's leader key.
type Lease = pipeline.Lease

// NewLease returns a lease on kv's leader key for holder.
func NewLease(kv jetstream.KeyValue, holder string, ttl time.Duration) *Lease {
	return pipeline.NewLease(kv, leaderKey, holder, ttl)
}

// checkpoints reads and writes the Counter's records with compare-and-swap
// on each key's revision: a write that finds the key rewritten by another
// process fails with ErrFenced.
type checkpoints struct {
	kv   jetstream.KeyValue
	revs map[string]uint64
}

func newCheckpoints(kv jetstream.KeyValue) *checkpoints {
	return &checkpoints{kv: kv, revs: map[string]uint64{}}
}

// load reads the state record (nil when absent) and every series record.
func (s *checkpoints) load(ctx context.Context) (state []byte, series [][]byte, err error) {
	clear(s.revs)
	e, err := s.kv.Get(ctx, stateKey)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		return nil, nil, fmt.Errorf("load checkpoint: %w", err)
	default:
		state = e.Value()
		s.revs[stateKey] = e.Revision()
	}
	lister, err := s.kv.ListKeysFiltered(ctx, seriesKeyPrefix+">")
	if err != nil {
		return nil, nil, fmt.Errorf("list checkpoints: %w", err)
	}
	var keys []string
	for k := range lister.Keys() { // closed once every key was listed (and the watch stopped)
		keys = append(keys, k)
	}
	if ctx.Err() != nil {
		return nil, nil, fmt.Errorf("list checkpoints: %w", ctx.Err())
	}
	for _, k := range keys {
		e, err := s.kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("load checkpoint %s: %w", k, err)
		}
		series = append(series, e.Value())
		s.revs[k] = e.Revision()
	}
	return state, series, nil
}

// save writes the series records, then the state record.
func (s *checkpoints) save(ctx context.Context, cp Checkpoint) error {
	for k, v := range cp.Series {
		if err := s.put(ctx, k, v); err != nil {
			return err
		}
	}
	return s.put(ctx, stateKey, cp.State)
}

func (s *checkpoints) put(ctx context.Context, key string, v []byte) error {
	var (
		rev uint64
		err error
	)
	if old, ok := s.revs[key]; ok {
		rev, err = s.kv.Update(ctx, key, v, old)
	} else {
		rev, err = s.kv.Create(ctx, key, v)
	}
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("write %s: %w", key, ErrFenced)
	}
	if err != nil {
		return fmt.Errorf("write checkpoint %s: %w", key, err)
	}
	s.revs[key] = rev
	return nil
}

// kvToken maps an arbitrary string onto the characters KV key tokens
// allow, injectively: allowed bytes stay, others become _XX hex ('_'
// itself too, except in the "_all" scope).
func kvToken(s string) string {
	if s == All {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '=':
			b.WriteByte(c)
		default:
			b.WriteByte('_')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}
