package dedup

import "math/bits"

// cluster names a duplicate cluster: a kind letter and a 64-bit key.
//
//	u  the hash of the canonical story URL of its first member
//	s  the SimHash of its first member's text
//	p  the hash of the parent id, for reposts whose original was not seen
type cluster struct {
	key  uint64
	kind byte
}

// String formats the cluster id stored in DupCluster: "s:9f86d081884c7d65".
func (c cluster) String() string {
	if c.kind == 0 {
		return ""
	}
	const hex = "0123456789abcdef"
	var b [18]byte
	b[0], b[1] = c.kind, ':'
	for i := range 16 {
		b[2+i] = hex[c.key>>(60-4*i)&0xF]
	}
	return string(b[:])
}

// The SimHash index is banded: a signature is filed under each of its four
// 16-bit bands, so any earlier signature within Hamming distance 3 shares at
// least one band value (pigeonhole) and is found by reading four buckets;
// see lookup for larger distances.
//
// A bucket holds the eight newest signatures filed under one band value, in
// one cache line, with their ring slots in a second array read only for a
// match. Work per lookup is therefore bounded whatever the stream looks
// like: a flood of near-identical posts fills its buckets and pushes out
// its own older copies, not the rest of the index.
const (
	bands      = 4
	bandBits   = 16
	bucketSize = 8
)

type bucketSigs [bucketSize]uint64

type bucketSlots [bucketSize]uint32 // ring slot + 1; 0 = empty

// simEntry is one remembered signature in the ring.
type simEntry struct {
	sig     uint64
	t       int64 // event time, Unix seconds
	cluster cluster
	used    bool
}

// simIndex remembers the last len(entries) signatures in a ring, oldest
// overwritten first. Not safe for concurrent use.
type simIndex struct {
	entries []simEntry
	sigs    [bands][]bucketSigs
	slots   [bands][]bucketSlots
	next    int // the slot written next
	written uint64
}

func newSimIndex(capacity int) *simIndex {
	x := &simIndex{entries: make([]simEntry, capacity)}
	for b := range bands {
		x.sigs[b] = make([]bucketSigs, 1<<bandBits)
		x.slots[b] = make([]bucketSlots, 1<<bandBits)
	}
	return x
}

func band(sig uint64, b int) uint16 { return uint16(sig >> (b * bandBits)) }

// lookup finds the nearest remembered signature within maxDist of sig whose
// time is within window seconds of t. Ties go to the first found.
//
// Up to distance 3 one of the four band values is equal, so four buckets
// are read. Above 3, when those hold no match, the buckets of every band
// value one bit away are read too (multi-probe): four bands with at most
// one differing bit each cover every distance up to 7, at 68 buckets
// instead of 4. Only a post unlike anything recent pays for that.
func (x *simIndex) lookup(sig uint64, t, window int64, maxDist int) (slot, dist int, ok bool) {
	best, bestD := -1, maxDist+1
	for b := range bands {
		if x.probe(b, band(sig, b), sig, t, window, &best, &bestD) {
			return best, 0, true
		}
	}
	if best >= 0 || maxDist <= 3 {
		return best, bestD, best >= 0
	}
	for b := range bands {
		v := band(sig, b)
		for k := range bandBits {
			if x.probe(b, v^1<<k, sig, t, window, &best, &bestD) {
				return best, 0, true
			}
		}
	}
	return best, bestD, best >= 0
}

// probe compares sig with one bucket, updating the best match; it reports
// an exact match.
func (x *simIndex) probe(b int, v uint16, sig uint64, t, window int64, best, bestD *int) bool {
	sigs := &x.sigs[b][v]
	for i := range bucketSize {
		d := bits.OnesCount64(sig ^ sigs[i])
		if d >= *bestD {
			continue
		}
		p := x.slots[b][v][i]
		if p == 0 {
			continue
		}
		e := &x.entries[p-1]
		if dt := t - e.t; dt > window || dt < -window {
			continue
		}
		*best, *bestD = int(p-1), d
		if d == 0 {
			return true
		}
	}
	return false
}

// age is how many insertions ago slot was written.
func (x *simIndex) age(slot int) int {
	return (x.next - 1 - slot + len(x.entries)) % len(x.entries)
}

// insert remembers sig as a member of c, evicting the oldest entry of the
// ring when full, and in each band the oldest of a full bucket.
func (x *simIndex) insert(sig uint64, t int64, c cluster) {
	slot := x.next
	x.next = (x.next + 1) % len(x.entries)
	x.written++
	e := &x.entries[slot]
	if e.used {
		x.unfile(slot, e.sig)
	}
	*e = simEntry{sig: sig, t: t, cluster: c, used: true}
	for b := range bands {
		v := band(sig, b)
		slots := &x.slots[b][v]
		victim, oldest := 0, -1
		for i, p := range slots {
			if p == 0 {
				victim = i
				break
			}
			if a := x.age(int(p - 1)); a > oldest {
				victim, oldest = i, a
			}
		}
		x.sigs[b][v][victim] = sig
		slots[victim] = uint32(slot + 1)
	}
}

// unfile removes a ring slot's signature from its buckets.
func (x *simIndex) unfile(slot int, sig uint64) {
	for b := range bands {
		v := band(sig, b)
		slots := &x.slots[b][v]
		for i, p := range slots {
			if int(p) == slot+1 {
				slots[i] = 0
				x.sigs[b][v][i] = 0
				break
			}
		}
	}
}

// keyIndex maps hashed keys (canonical URLs, mention ids) to clusters for
// the last cap insertions. A refreshed key is appended again; its older ring
// slot no longer owns it and is skipped at eviction. Not safe for concurrent use.
type keyIndex struct {
	m    map[uint64]keyVal
	ring []uint64
	next int
	full bool
}

type keyVal struct {
	cluster cluster
	t       int64
	slot    int32
}

func newKeyIndex(capacity int) *keyIndex {
	return &keyIndex{m: make(map[uint64]keyVal, min(capacity, 1<<16)), ring: make([]uint64, capacity)}
}

func (k *keyIndex) get(key uint64, t, window int64) (cluster, bool) {
	v, ok := k.m[key]
	if !ok {
		return cluster{}, false
	}
	if dt := t - v.t; dt > window || dt < -window {
		return cluster{}, false
	}
	return v.cluster, true
}

func (k *keyIndex) put(key uint64, t int64, c cluster) {
	if v, ok := k.m[key]; ok && v.cluster == c {
		// Still young: note the time only, instead of filling the ring with
		// one hot key. Past half the ring it is re-appended, so a key in use
		// is never evicted.
		if age := (k.next - 1 - int(v.slot) + len(k.ring)) % len(k.ring); age < len(k.ring)/2 {
			v.t = max(v.t, t)
			k.m[key] = v
			return
		}
	}
	slot := k.next
	if k.full {
		old := k.ring[slot]
		if v, ok := k.m[old]; ok && int(v.slot) == slot {
			delete(k.m, old)
		}
	}
	k.ring[slot] = key
	k.m[key] = keyVal{cluster: c, t: t, slot: int32(slot)}
	k.next++
	if k.next == len(k.ring) {
		k.next, k.full = 0, true
	}
}

func (k *keyIndex) len() int { return len(k.m) }
