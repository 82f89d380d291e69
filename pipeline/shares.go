package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ConnectBucket holds the connect replicas' membership and one lease per
// connector instance.
const ConnectBucket = "earshot_connect"

// Shares spreads named items (connector instances) over the replicas of a
// role, so that each item runs in exactly one replica at a time, each
// replica runs its fair share, and a dead replica's items are taken over
// within one lease TTL of its death.
//
// Every replica works in ticks of TTL/8: it announces itself by rewriting
// members.<holder>, renews the Leases (items.<item>) of the items it runs
// and watches the others. A member whose key has not changed for 5/8 TTL,
// on this replica's own clock, counts as gone; a lease whose revision has
// not changed for 5/8 TTL may be taken over. A holder counts its lease
// valid for TTL/2 after it sent its last successful renewal and stops the
// item at that moment (a timer, not the next tick), TTL/8 before any other
// replica may take it. So a crash is taken over at most TTL/8 (first sight
// of the last renewal) + 5/8 TTL + TTL/8 (the tick) = 7/8 TTL after it.
//
// A replica runs an item only while it holds the item's lease, so two
// never run it at once. Each replica aims at ceil(items/members) items: it
// hands extra ones back (stops them, then releases the lease, so another
// takes them at once) and acquires free or expired ones, preferring items
// by a hash of (holder, item), so replicas starting together pick
// different ones.
type Shares struct {
	KV     jetstream.KeyValue
	Holder string
	TTL    time.Duration
	Items  []string
	Logger *slog.Logger
	// Run runs one item until ctx ends (the lease was lost or handed back,
	// or the role stops).
	Run func(ctx context.Context, item string)

	leases  map[string]*Lease
	running map[string]*runningItem
	seen    map[string]seenMember
}

type runningItem struct {
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	expiry *time.Timer // cancels the item when its lease stops being valid
}

// The timing of Shares, in fractions of the TTL (see Shares).
func (s *Shares) tickEvery() time.Duration { return s.TTL / 8 }
func (s *Shares) validFor() time.Duration  { return s.TTL / 2 }
func (s *Shares) goneAfter() time.Duration { return s.TTL * 5 / 8 }

type seenMember struct {
	rev uint64
	at  time.Time
}

const membersPrefix, itemsPrefix = "members.", "items."

// Loop runs until ctx ends, then stops the items and releases their leases.
func (s *Shares) Loop(ctx context.Context) error {
	if s.TTL <= 0 {
		s.TTL = 15 * time.Second
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	s.leases, s.running, s.seen = map[string]*Lease{}, map[string]*runningItem{}, map[string]seenMember{}
	for _, it := range s.Items {
		l := NewLease(s.KV, itemsPrefix+kvToken(it), s.Holder, s.TTL)
		l.SetTiming(s.validFor(), s.goneAfter())
		s.leases[it] = l
	}
	defer s.stopAll()
	t := time.NewTicker(s.tickEvery())
	defer t.Stop()
	for {
		s.tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// runningItems returns the items this replica runs now, sorted.
func (s *Shares) runningItems() []string {
	var out []string
	for it := range s.running {
		out = append(out, it)
	}
	slices.Sort(out)
	return out
}

func (s *Shares) tick(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, s.TTL/4)
	defer cancel()
	me := membersPrefix + kvToken(s.Holder)
	v, _ := json.Marshal(map[string]any{"holder": s.Holder, "items": s.runningItems(), "at": time.Now().UTC()})
	if _, err := s.KV.Put(rctx, me, v); err != nil {
		s.Logger.Warn("announce connect replica", "err", err)
	}
	alive := s.members(rctx, me)
	fair := (len(s.Items) + alive - 1) / alive
	// Keep what is still ours. An item whose lease lapsed was stopped by
	// its timer already: another replica may take it from now on.
	for it, r := range s.running {
		if r.ctx.Err() != nil || !s.leases[it].Valid() {
			s.Logger.Warn("connector lease expired unrenewed; stopped it here", "connector", it)
			s.stop(it, false)
			continue
		}
		err := s.leases[it].Renew(rctx)
		if errors.Is(err, ErrLeaseLost) {
			s.Logger.Warn("connector lease lost; stopping it here", "connector", it, "err", err)
			s.stop(it, false)
			continue
		}
		r.expiry.Reset(time.Until(s.leases[it].ValidUntil()))
	}
	order := slices.Clone(s.Items)
	slices.SortFunc(order, func(a, b string) int { return compareScore(s.score(b), s.score(a)) })
	// Hand back what is beyond the fair share, the least preferred first.
	for i := len(order) - 1; i >= 0 && len(s.running) > fair; i-- {
		if _, ok := s.running[order[i]]; ok {
			s.Logger.Info("handing a connector to another replica", "connector", order[i], "replicas", alive)
			s.stop(order[i], true)
		}
	}
	for _, it := range order {
		if _, ok := s.running[it]; ok {
			continue
		}
		if len(s.running) >= fair {
			// Keep watching it, so that it can be taken at once when its
			// replica turns out dead.
			_ = s.leases[it].Observe(rctx)
			continue
		}
		ok, err := s.leases[it].TryAcquire(rctx)
		if err != nil {
			s.Logger.Warn("connector lease", "connector", it, "err", err)
			continue
		}
		if ok {
			s.start(ctx, it)
		}
	}
}

// members counts the live replicas, this one included.
func (s *Shares) members(ctx context.Context, me string) int {
	lister, err := s.KV.ListKeysFiltered(ctx, membersPrefix+">")
	if err != nil {
		return max(1, len(s.seen))
	}
	now := time.Now()
	alive := 1
	for k := range lister.Keys() {
		if k == me {
			continue
		}
		e, err := s.KV.Get(ctx, k)
		if err != nil {
			continue
		}
		m, ok := s.seen[k]
		if !ok || m.rev != e.Revision() {
			m = seenMember{rev: e.Revision(), at: now}
			s.seen[k] = m
		}
		switch age := now.Sub(m.at); {
		case age < s.goneAfter():
			alive++
		case age > 10*s.TTL:
			// Long gone: tidy its key (only if it is still the same).
			_ = s.KV.Delete(ctx, k, jetstream.LastRevision(m.rev))
			delete(s.seen, k)
		}
	}
	return alive
}

func (s *Shares) start(ctx context.Context, it string) {
	ictx, cancel := context.WithCancel(ctx)
	r := &runningItem{ctx: ictx, cancel: cancel, done: make(chan struct{}),
		expiry: time.AfterFunc(time.Until(s.leases[it].ValidUntil()), cancel)}
	s.running[it] = r
	s.Logger.Info("running connector", "connector", it)
	go func() {
		defer close(r.done)
		s.Run(ictx, it)
	}()
}

// stop ends an item and, when release, gives its lease up.
func (s *Shares) stop(it string, release bool) {
	r, ok := s.running[it]
	if !ok {
		return
	}
	r.expiry.Stop()
	r.cancel()
	<-r.done
	delete(s.running, it)
	if release {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.leases[it].Release(ctx)
	} else {
		s.leases[it].Drop()
	}
}

func (s *Shares) stopAll() {
	for it := range s.running {
		s.stop(it, true)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.KV.Delete(ctx, membersPrefix+kvToken(s.Holder))
}

func (s *Shares) score(item string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s.Holder))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(item))
	return h.Sum64()
}

func compareScore(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
