package spikes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
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
	ErrLeaseLost = errors.New("detect lease lost")
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

// Lease is leadership among detect replicas, held in a KV key by
// revision-based compare-and-swap, without trusting clocks to agree: the
// leader rewrites the key every TTL/4 (Update at its last revision); a
// standby that sees the same revision for a whole TTL on its own monotonic
// clock takes the key over (Update at that revision, so only one standby
// wins). The leader counts itself valid only until TTL*3/4 after it sent
// its last successful renewal, so it stops before any standby can take
// over. It is safe for concurrent use.
type Lease struct {
	kv     jetstream.KeyValue
	holder string
	ttl    time.Duration

	mu        sync.Mutex
	held      bool
	rev       uint64
	renewedAt time.Time // when the last successful renewal was sent
	seenRev   uint64    // standby: the revision last seen, and since when
	seenAt    time.Time
}

// leaseValue is the lease key's content, for operators (nats kv get).
type leaseValue struct {
	Holder  string    `json:"holder"`
	Renewed time.Time `json:"renewed"` // informational: the holder's wall clock
}

// NewLease returns a lease on kv's leader key for holder.
func NewLease(kv jetstream.KeyValue, holder string, ttl time.Duration) *Lease {
	return &Lease{kv: kv, holder: holder, ttl: ttl}
}

func (l *Lease) value() []byte {
	b, _ := json.Marshal(leaseValue{Holder: l.holder, Renewed: time.Now().UTC()})
	return b
}

// TryAcquire makes one attempt to take the lease and reports whether this
// process holds it.
func (l *Lease) TryAcquire(ctx context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held {
		return true, nil
	}
	e, err := l.kv.Get(ctx, leaderKey)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		sent := time.Now()
		rev, err := l.kv.Create(ctx, leaderKey, l.value())
		if errors.Is(err, jetstream.ErrKeyExists) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("acquire lease: %w", err)
		}
		l.held, l.rev, l.renewedAt = true, rev, sent
		return true, nil
	case err != nil:
		return false, fmt.Errorf("read lease: %w", err)
	}
	if e.Revision() != l.seenRev {
		l.seenRev, l.seenAt = e.Revision(), time.Now()
		return false, nil
	}
	if time.Since(l.seenAt) < l.ttl {
		return false, nil
	}
	sent := time.Now()
	rev, err := l.kv.Update(ctx, leaderKey, l.value(), e.Revision())
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("take over lease: %w", err)
	}
	l.held, l.rev, l.renewedAt = true, rev, sent
	return true, nil
}

// Renew extends a held lease. It returns ErrLeaseLost when another process
// took the key; other errors leave the lease to expire by Valid.
func (l *Lease) Renew(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.held {
		return ErrLeaseLost
	}
	sent := time.Now()
	rev, err := l.kv.Update(ctx, leaderKey, l.value(), l.rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		l.held = false
		return ErrLeaseLost
	}
	if err != nil {
		return fmt.Errorf("renew lease: %w", err)
	}
	l.rev, l.renewedAt = rev, sent
	return nil
}

// Valid reports whether the lease is held and safely within its TTL.
func (l *Lease) Valid() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held && time.Since(l.renewedAt) < l.ttl*3/4
}

// Release gives the lease up (deleting the key at this holder's revision,
// so a standby takes over at once). Releasing a lease not held is a no-op.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.held {
		return nil
	}
	l.held = false
	if err := l.kv.Delete(ctx, leaderKey, jetstream.LastRevision(l.rev)); err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return fmt.Errorf("release lease: %w", err)
	}
	return nil
}

// Drop forgets the lease without touching the key (a crash, for tests, or
// after a fenced write).
func (l *Lease) Drop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held = false
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
