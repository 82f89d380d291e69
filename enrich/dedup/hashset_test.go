package dedup

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// TestHashSet: the stopword set answers as a map of the same keys does,
// for its members (0 included), for near misses and for random keys.
func TestHashSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 7, 230, 1000} {
		keys := []uint64{}
		want := map[uint64]bool{}
		for i := range n {
			k := rng.Uint64()
			if i == 3 {
				k = 0
			}
			keys = append(keys, k, k) // duplicates are harmless
			want[k] = true
		}
		h := newHashSet(keys)
		for k := range want {
			if !h.has(k) {
				t.Fatalf("n=%d: has(%#x) = false; want true", n, k)
			}
		}
		for range 100000 {
			k := rng.Uint64()
			if h.has(k) != want[k] {
				t.Fatalf("n=%d: has(%#x) = %v; want %v", n, k, h.has(k), want[k])
			}
			if k2 := k + 1; h.has(k2) != want[k2] {
				t.Fatalf("n=%d: has(%#x) = %v; want %v", n, k2, h.has(k2), want[k2])
			}
		}
		if h.has(0) != want[0] {
			t.Errorf("n=%d: has(0) = %v; want %v", n, h.has(0), want[0])
		}
	}
	for _, w := range []string{"the", "und", "que", "nao"} {
		if !stopwords.has(xxhash.Sum64String(w)) {
			t.Errorf("stopwords.has(%q) = false; want true", w)
		}
	}
	for _, w := range []string{"acme", "recall", "rocket"} {
		if stopwords.has(xxhash.Sum64String(w)) {
			t.Errorf("stopwords.has(%q) = true; want false", w)
		}
	}
}

// BenchmarkStopwordSet looks up the word hashes of an article in the
// stopword set and in a Go map of the same keys, in the same run:
//
//	go test ./enrich/dedup -run '^$' -bench StopwordSet -count 3
func BenchmarkStopwordSet(b *testing.B) {
	var w words
	w.tokenize(strings.Repeat("The new Acme phone is out and the battery is the best we have seen this year, "+
		"les clients sont contents et die Kunden auch, pero el precio no es bajo. ", 8))
	hs := make([]uint64, w.n)
	for i := range hs {
		hs[i] = w.h[i]
	}
	m := map[uint64]struct{}{}
	for _, k := range stopwords.slots {
		if k != 0 {
			m[k] = struct{}{}
		}
	}
	b.Run("set", func(b *testing.B) {
		n := 0
		for i := 0; i < b.N; i++ {
			for _, h := range hs {
				if stopwords.has(h) {
					n++
				}
			}
		}
		_ = n
	})
	b.Run("map", func(b *testing.B) {
		n := 0
		for i := 0; i < b.N; i++ {
			for _, h := range hs {
				if _, ok := m[h]; ok {
					n++
				}
			}
		}
		_ = n
	})
}
