package trendtag

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestCountsMatchMap: a bucket's counts by id read what a Go map counts,
// across growth.
func TestCountsMatchMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	c, want := newCounts(), map[uint32]uint32{}
	for range 100_000 {
		id := uint32(r.IntN(20_000))
		if isNew := c.add(id); isNew != (want[id] == 0) {
			t.Fatalf("add(%d) = %v; want %v", id, isNew, want[id] == 0)
		}
		want[id]++
	}
	for id := range uint32(25_000) {
		if got := c.get(id); got != want[id] {
			t.Fatalf("get(%d) = %d; want %d", id, got, want[id])
		}
	}
	if got := (*counts)(nil).get(3); got != 0 {
		t.Errorf("nil get(3) = %d; want 0", got)
	}
}

// TestStampWraps: when a stamp wraps around, the memos it stamped are
// forgotten, so none is taken for the new round 1's.
func TestStampWraps(t *testing.T) {
	ids := newIDs()
	ids.intern("acme")
	ids.memo[0] = memo{expected: 2, z: 7, expectedAt: 1, judgedAt: 1}
	round := uint32(math.MaxUint32)
	ids.next(&round, func(m *memo) *uint32 { return &m.judgedAt })
	if round != 1 || ids.memo[0].judgedAt != 0 || ids.memo[0].expectedAt != 1 {
		t.Errorf("after the wrap: round %d, memo %+v; want round 1, judgedAt 0, expectedAt kept", round, ids.memo[0])
	}
}
