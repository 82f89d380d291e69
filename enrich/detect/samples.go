package detect

import (
	"math"
	"slices"
	"time"

	"github.com/earshot-dev/earshot/enrich/trend"
)

// sampleItem is what an explanation needs of one mention.
type sampleItem struct {
	hash     uint64
	t        time.Time
	negative bool
	platform string
	topics   []string // the configured topics it counted in
	ex       trend.ExplainItem
	one      [3]string // ex's author, source and language
}

// in reports whether the item belongs to scope sc.
func (it *sampleItem) in(sc scope) bool {
	return (sc.topic == All || slices.Contains(it.topics, sc.topic)) && (sc.platform == All || sc.platform == it.platform)
}

// sampleSlot keeps the k mentions of one slot with the smallest id hashes:
// a uniform sample that every replica and every replay chooses alike.
type sampleSlot struct {
	items []*sampleItem
	max   int // index of the largest hash in items
}

// samples keeps, per scope and slot (the finest resolution), a bounded
// sample of recent mentions' features for explanations. Items are shared
// between the scopes of a mention.
//
// Entries (an item in one scope's slot) are bounded in all by maxEntries:
// past it, the oldest slot is forgotten in every scope (explanations then
// compare against a shorter baseline), and when only the newest slot is
// left, its scopes keep what they hold and take no more items, only
// replace them with smaller hashes.
type samples struct {
	k          int
	slot       time.Duration
	scopes     map[scope]map[int64]*sampleSlot
	maxEntries int           // 0: no bound
	entries    int           // in all slots of all scopes
	perSlot    map[int64]int // entries by slot
	// oldest is at or below every slot held (math.MaxInt64: none), so
	// prune can tell without a look at each slot that none ends yet.
	oldest int64
}

// scope is a series' topic and platform, whatever its resolution.
type scope struct{ topic, platform string }

func newSamples(k int, slot time.Duration, maxEntries int) *samples {
	return &samples{k: k, slot: slot, scopes: map[scope]map[int64]*sampleSlot{}, maxEntries: maxEntries, perSlot: map[int64]int{}, oldest: math.MaxInt64}
}

// full reports whether the bound allows no new entry in slot k, after
// forgetting older slots if that makes room.
func (s *samples) full(k int64) bool {
	for s.maxEntries > 0 && s.entries >= s.maxEntries {
		oldest, ok := int64(0), false
		for sk := range s.perSlot {
			if !ok || sk < oldest {
				oldest, ok = sk, true
			}
		}
		if !ok || oldest >= k {
			return true
		}
		s.dropSlot(oldest)
	}
	return false
}

// dropSlot forgets slot k in every scope.
func (s *samples) dropSlot(k int64) {
	for sc, slots := range s.scopes {
		if sl := slots[k]; sl != nil {
			s.entries -= len(sl.items)
			delete(slots, k)
			if len(slots) == 0 {
				delete(s.scopes, sc)
			}
		}
	}
	delete(s.perSlot, k)
}

// Len returns the entries held, in all scopes and slots.
func (s *samples) Len() int { return s.entries }

// wants reports whether a mention with hash h at t would enter sc's sample.
func (s *samples) wants(sc scope, t time.Time, h uint64) bool {
	sl := s.scopes[sc][floor(t, s.slot).UnixNano()]
	return sl == nil || len(sl.items) < s.k || h < sl.items[sl.max].hash
}

// offer adds it to sc's sample if its hash is small enough.
func (s *samples) offer(sc scope, it *sampleItem) {
	slots := s.scopes[sc]
	if slots == nil {
		slots = map[int64]*sampleSlot{}
		s.scopes[sc] = slots
	}
	k := floor(it.t, s.slot).UnixNano()
	sl := slots[k]
	if sl == nil {
		sl = &sampleSlot{}
		slots[k] = sl
		s.oldest = min(s.oldest, k)
	}
	for _, x := range sl.items {
		if x.hash == it.hash {
			return // offered again (a replay)
		}
	}
	switch {
	case len(sl.items) < s.k && !s.full(k):
		sl.items = append(sl.items, it)
		s.entries++
		s.perSlot[k]++
	case len(sl.items) > 0 && it.hash < sl.items[sl.max].hash:
		sl.items[sl.max] = it
	default:
		if len(sl.items) == 0 { // refused by the bound
			delete(slots, k)
			if len(slots) == 0 {
				delete(s.scopes, sc)
			}
		}
		return
	}
	sl.max = 0
	for i, x := range sl.items {
		if x.hash > sl.items[sl.max].hash {
			sl.max = i
		}
	}
}

// items returns the sampled items of sc with from <= t < to.
func (s *samples) items(sc scope, from, to time.Time) []*sampleItem {
	var out []*sampleItem
	for k, sl := range s.scopes[sc] {
		st := time.Unix(0, k)
		if !st.Before(to) || !st.Add(s.slot).After(from) {
			continue
		}
		for _, it := range sl.items {
			if !it.t.Before(from) && it.t.Before(to) {
				out = append(out, it)
			}
		}
	}
	return out
}

// between returns the sampled mentions of sc with from <= t < to, oldest
// slot first and by hash within a slot (deterministic); negOnly keeps the
// negative ones.
func (s *samples) between(sc scope, from, to time.Time, negOnly bool) []trend.ExplainItem {
	slots := s.scopes[sc]
	var keys []int64
	for k := range slots {
		st := time.Unix(0, k)
		if st.Before(to) && st.Add(s.slot).After(from) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []trend.ExplainItem
	for _, k := range keys {
		items := slices.Clone(slots[k].items)
		slices.SortFunc(items, func(a, b *sampleItem) int {
			switch {
			case a.hash < b.hash:
				return -1
			case a.hash > b.hash:
				return 1
			}
			return 0
		})
		for _, it := range items {
			if it.t.Before(from) || !it.t.Before(to) || (negOnly && !it.negative) {
				continue
			}
			out = append(out, it.ex)
		}
	}
	return out
}

// prune forgets the slots that end at or before t.
func (s *samples) prune(t time.Time) {
	if s.oldest == math.MaxInt64 || time.Unix(0, s.oldest).Add(s.slot).After(t) {
		return // no slot ends at or before t
	}
	s.oldest = math.MaxInt64
	for sc, slots := range s.scopes {
		for k, sl := range slots {
			if !time.Unix(0, k).Add(s.slot).After(t) {
				s.entries -= len(sl.items)
				if s.perSlot[k] -= len(sl.items); s.perSlot[k] <= 0 {
					delete(s.perSlot, k)
				}
				delete(slots, k)
			} else {
				s.oldest = min(s.oldest, k)
			}
		}
		if len(slots) == 0 {
			delete(s.scopes, sc)
		}
	}
}
