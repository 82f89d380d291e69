package topics

import "encoding/binary"

// keyTable maps literal keys to key ids: an open-addressing hash table,
// about twice as fast as a Go map for the short byte-slice keys the
// tokenizer produces (see BenchmarkKeyLookup).
type keyTable struct {
	slots []uint64 // hash<<32 | id+1; 0 is empty
	mask  uint32
	keys  []string // key id -> key, shared with the Matcher
}

func newKeyTable(dict map[string]int32, keys []string) keyTable {
	n := 16
	for n < 2*len(dict) {
		n *= 2
	}
	t := keyTable{slots: make([]uint64, n), mask: uint32(n - 1), keys: keys}
	for k, id := range dict {
		h := hashKey([]byte(k))
		i := h & t.mask
		for t.slots[i] != 0 {
			i = (i + 1) & t.mask
		}
		t.slots[i] = uint64(h)<<32 | uint64(id+1)
	}
	return t
}

// get returns the id of key k, or -1.
func (t *keyTable) get(k []byte) int32 {
	h := hashKey(k)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		e := t.slots[i]
		if e == 0 {
			return -1
		}
		if uint32(e>>32) == h {
			if id := int32(uint32(e)) - 1; t.keys[id] == string(k) {
				return id
			}
		}
	}
}

// hashKey is a fast non-cryptographic hash of a short key. Keys come from
// configured rules, so a hostile post can only make lookups of its own
// tokens slower, not collide the table.
//
// The last 1 to 8 bytes are read in at most two loads that may overlap
// (with the length mixed in first, they still tell every tail apart).
func hashKey(b []byte) uint32 {
	h := uint64(len(b)) * 0x9E3779B97F4A7C15
	for len(b) > 8 {
		h = (h ^ binary.LittleEndian.Uint64(b)) * 0xFF51AFD7ED558CCD
		h ^= h >> 32
		b = b[8:]
	}
	var tail uint64
	switch n := len(b); {
	case n >= 4:
		tail = uint64(binary.LittleEndian.Uint32(b)) | uint64(binary.LittleEndian.Uint32(b[n-4:]))<<32
	case n > 0:
		tail = uint64(b[0]) | uint64(b[n/2])<<8 | uint64(b[n-1])<<16
	}
	h = (h ^ tail) * 0xC4CEB9FE1A85EC53
	h ^= h >> 29
	return uint32(h)
}
