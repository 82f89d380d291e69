package detect

import (
	"math"
	"time"
)

// idSet remembers the ids counted in the open buckets, as 64-bit FNV-1a
// hashes grouped by the slot of the mention's time, so a mention published
// twice under the same id is counted once and whole slots are forgotten
// when their buckets close. It is bounded by max ids.
type idSet struct {
	slot  time.Duration
	max   int
	n     int
	slots map[int64]map[uint64]struct{}
	full  bool // an id was not remembered because the set was full
	// oldest is at or below every slot held (math.MaxInt64: none), so
	// prune can tell without a look at each slot that none ends yet.
	oldest int64
}

// DefaultMaxIDs is detect.max_ids's default: the ids remembered in the open
// buckets (about 24 MB full).
const DefaultMaxIDs = 1 << 20

func newIDSet(slot time.Duration, max int) *idSet {
	return &idSet{slot: slot, max: max, slots: map[int64]map[uint64]struct{}{}, oldest: math.MaxInt64}
}

func (s *idSet) has(t time.Time, h uint64) bool {
	m := s.slots[floor(t, s.slot).UnixNano()]
	if m == nil {
		return false
	}
	_, ok := m[h]
	return ok
}

func (s *idSet) add(t time.Time, h uint64) {
	if s.n >= s.max {
		s.full = true
		return
	}
	k := floor(t, s.slot).UnixNano()
	m := s.slots[k]
	if m == nil {
		m = map[uint64]struct{}{}
		s.slots[k] = m
		s.oldest = min(s.oldest, k)
	}
	if _, ok := m[h]; !ok {
		m[h] = struct{}{}
		s.n++
	}
}

// prune forgets the slots that end at or before t.
func (s *idSet) prune(t time.Time) {
	if s.oldest == math.MaxInt64 || time.Unix(0, s.oldest).Add(s.slot).After(t) {
		return // no slot ends at or before t
	}
	s.oldest = math.MaxInt64
	for k, m := range s.slots {
		if !time.Unix(0, k).Add(s.slot).After(t) {
			s.n -= len(m)
			delete(s.slots, k)
		} else {
			s.oldest = min(s.oldest, k)
		}
	}
}

func (s *idSet) reset() {
	clear(s.slots)
	s.n, s.full, s.oldest = 0, false, math.MaxInt64
}

// hashID is 64-bit FNV-1a: stable across processes, so every replica and
// replay samples the same mentions.
func hashID(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	// Final avalanche (splitmix64) so near-identical ids spread evenly.
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}
