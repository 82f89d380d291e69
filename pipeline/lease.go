package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrLeaseLost means another process holds the lease now.
var ErrLeaseLost = errors.New("lease lost")

// Lease is leadership of one key among replicas (the detect leader, a
// connector instance), held in a KV key by
// revision-based compare-and-swap, without trusting clocks to agree: the
// leader rewrites the key every TTL/4 (Update at its last revision); a
// standby that sees the same revision for a whole TTL on its own monotonic
// clock takes the key over (Update at that revision, so only one standby
// wins). The leader counts itself valid only until TTL*3/4 after it sent
// its last successful renewal, so it stops before any standby can take
// over (SetTiming changes both spans; pipeline.Shares shortens them). It is
// safe for concurrent use.
type Lease struct {
	kv     jetstream.KeyValue
	key    string
	holder string
	ttl    time.Duration
	// validFor and takeoverAfter: see SetTiming (0: 3/4 TTL and TTL).
	validFor, takeoverAfter time.Duration

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

// NewLease returns a lease on kv's key for holder.
func NewLease(kv jetstream.KeyValue, key, holder string, ttl time.Duration) *Lease {
	return &Lease{kv: kv, key: key, holder: holder, ttl: ttl}
}

// SetTiming changes how long the holder counts itself valid after sending
// a renewal (valid; default 3/4 of the TTL) and how long a standby must see
// the same revision before it takes the key over (takeover; default the
// TTL). takeover must exceed valid, by as much as the holder may need to
// stop, so that the holder stops before any standby starts. Call it
// before the lease is used.
func (l *Lease) SetTiming(valid, takeover time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.validFor, l.takeoverAfter = valid, takeover
}

func (l *Lease) valid() time.Duration {
	if l.validFor > 0 {
		return l.validFor
	}
	return l.ttl * 3 / 4
}

func (l *Lease) takeover() time.Duration {
	if l.takeoverAfter > 0 {
		return l.takeoverAfter
	}
	return l.ttl
}

// ValidUntil is when the held lease stops being valid unless renewed
// (zero when not held).
func (l *Lease) ValidUntil() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.held {
		return time.Time{}
	}
	return l.renewedAt.Add(l.valid())
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
	e, err := l.kv.Get(ctx, l.key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		sent := time.Now()
		rev, err := l.kv.Create(ctx, l.key, l.value())
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
	if time.Since(l.seenAt) < l.takeover() {
		return false, nil
	}
	sent := time.Now()
	rev, err := l.kv.Update(ctx, l.key, l.value(), e.Revision())
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("take over lease: %w", err)
	}
	l.held, l.rev, l.renewedAt = true, rev, sent
	return true, nil
}

// Observe reads the key without taking it, to keep watching its revision:
// a replica that is not trying to acquire yet (it runs its share already)
// can then take an expired lease at once when it needs to, instead of
// starting to watch only then.
func (l *Lease) Observe(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held {
		return nil
	}
	e, err := l.kv.Get(ctx, l.key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("read lease: %w", err)
	}
	if e.Revision() != l.seenRev {
		l.seenRev, l.seenAt = e.Revision(), time.Now()
	}
	return nil
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
	rev, err := l.kv.Update(ctx, l.key, l.value(), l.rev)
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
	return l.held && time.Since(l.renewedAt) < l.valid()
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
	if err := l.kv.Delete(ctx, l.key, jetstream.LastRevision(l.rev)); err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
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
