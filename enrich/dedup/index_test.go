package dedup

import (
	"math/rand/v2"
	"testing"
)

// flip returns sig with n distinct random bits flipped.
func flip(r *rand.Rand, sig uint64, n int) uint64 {
	for _, b := range r.Perm(64)[:n] {
		sig ^= 1 << b
	}
	return sig
}

func TestSimIndexFindsWithinThree(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := newSimIndex(10_000)
	var sigs []uint64
	for i := range 5000 {
		s := r.Uint64()
		sigs = append(sigs, s)
		x.insert(s, 0, cluster{kind: 's', key: uint64(i)})
	}
	for i, s := range sigs {
		for d := 0; d <= 3; d++ {
			q := flip(r, s, d)
			slot, got, ok := x.lookup(q, 0, 10, 3)
			if !ok || got != d || x.entries[slot].cluster.key != uint64(i) {
				t.Fatalf("lookup(sig %d with %d bits flipped) = slot %d, distance %d, %v; want entry %d at distance %d",
					i, d, slot, got, ok, i, d)
			}
		}
	}
	// Random signatures are far from everything.
	for range 1000 {
		if _, d, ok := x.lookup(r.Uint64(), 0, 10, 3); ok {
			t.Fatalf("lookup(random) found a match at distance %d; want none", d)
		}
	}
}

func TestSimIndexWindowAndEviction(t *testing.T) {
	x := newSimIndex(1000)
	x.insert(42, 1000, cluster{kind: 's', key: 42})
	if _, _, ok := x.lookup(42, 1000+3600, 3600, 3); !ok {
		t.Errorf("lookup 1h later with a 1h window: not found; want found")
	}
	if _, _, ok := x.lookup(42, 1000+3601, 3600, 3); ok {
		t.Errorf("lookup 1h1s later with a 1h window: found; want not found")
	}
	if _, _, ok := x.lookup(42, 1000-3601, 3600, 3); ok {
		t.Errorf("lookup 1h1s earlier with a 1h window: found; want not found")
	}
	// Fill the ring: the first entry is evicted and unlinked from its bands.
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 1000 {
		x.insert(r.Uint64(), 1000, cluster{kind: 's', key: uint64(i)})
	}
	if _, _, ok := x.lookup(42, 1000, 3600, 3); ok {
		t.Errorf("lookup after 1000 newer inserts into capacity 1000: found; want evicted")
	}
	// Every remaining entry is filed in each of its buckets (none is full
	// here), and nothing evicted is.
	for slot, e := range x.entries {
		for b := range bands {
			found := false
			for _, p := range x.slots[b][band(e.sig, b)] {
				if int(p) == slot+1 {
					found = true
				}
			}
			if !found {
				t.Fatalf("slot %d not filed in band %d", slot, b)
			}
		}
	}
	for b := range bands {
		for _, p := range x.slots[b][band(42, b)] {
			if p != 0 && x.entries[p-1].sig == 42 {
				t.Fatalf("evicted signature still filed in band %d", b)
			}
		}
	}
}

// A flood of signatures sharing band values keeps only the newest in those
// buckets and leaves the rest of the index alone.
func TestSimIndexFlood(t *testing.T) {
	x := newSimIndex(10_000)
	other := uint64(0x0123456789abcdef)
	x.insert(other, 0, cluster{kind: 's', key: 1})
	for i := range 1000 {
		// Same low 48 bits, different top band.
		x.insert(0xfedcba987654|uint64(i)<<48, 0, cluster{kind: 's', key: 2})
	}
	if slot, d, ok := x.lookup(other, 0, 10, 5); !ok || d != 0 || x.entries[slot].cluster.key != 1 {
		t.Errorf("lookup(other) after a flood = %d, %d, %v; want it found at distance 0", slot, d, ok)
	}
	newest := 0xfedcba987654 | uint64(999)<<48
	if _, d, ok := x.lookup(newest, 0, 10, 3); !ok || d != 0 {
		t.Errorf("lookup(newest flood entry) = %d, %v; want distance 0", d, ok)
	}
	for _, p := range x.slots[0][band(newest, 0)] {
		if p == 0 || x.age(int(p-1)) >= bucketSize {
			t.Errorf("flooded bucket holds slot %d (age %d); want only the %d newest", p, x.age(int(p-1)), bucketSize)
		}
	}
}

func TestKeyIndex(t *testing.T) {
	k := newKeyIndex(4)
	c := func(i uint64) cluster { return cluster{kind: 'u', key: i} }
	for i := uint64(1); i <= 4; i++ {
		k.put(i, 0, c(i))
	}
	if got, ok := k.get(1, 0, 10); !ok || got != c(1) {
		t.Errorf("get(1) = %v, %v; want %v, true", got, ok, c(1))
	}
	if _, ok := k.get(1, 11, 10); ok {
		t.Errorf("get(1) outside the window: found; want not found")
	}
	k.put(5, 0, c(5)) // evicts 1
	if _, ok := k.get(1, 0, 10); ok {
		t.Errorf("get(1) after eviction: found; want not found")
	}
	// A key refreshed past half the ring survives the eviction of its old slot.
	k.put(2, 0, c(2))
	k.put(6, 0, c(6))
	k.put(7, 0, c(7))
	if _, ok := k.get(2, 0, 10); !ok {
		t.Errorf("get(2) after refresh: not found; want found")
	}
	if k.len() != 4 {
		t.Errorf("len() = %d; want 4", k.len())
	}
}

func TestSimIndexFindsWithinSeven(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := newSimIndex(10_000)
	var sigs []uint64
	for i := range 2000 {
		s := r.Uint64()
		sigs = append(sigs, s)
		x.insert(s, 0, cluster{kind: 's', key: uint64(i)})
	}
	for i, s := range sigs {
		d := 4 + i%4
		q := flip(r, s, d)
		slot, got, ok := x.lookup(q, 0, 10, 7)
		if !ok || got != d || x.entries[slot].cluster.key != uint64(i) {
			t.Fatalf("lookup(sig %d with %d bits flipped, max 7) = slot %d, distance %d, %v; want entry %d at distance %d",
				i, d, slot, got, ok, i, d)
		}
		if _, got, ok := x.lookup(q, 0, 10, d-1); ok {
			t.Fatalf("lookup(sig %d with %d bits flipped, max %d) found distance %d; want none", i, d, d-1, got)
		}
	}
}
