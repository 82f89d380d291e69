package trendtag

import (
	"maps"
	"math"
	"strings"
)

// noID marks a feature that is not counted (an empty hashtag).
const noID = math.MaxUint32

// ids numbers the distinct terms of the open buckets: a term is copied
// once (it is a substring of a text) and keeps its id while an open bucket
// counts it, so a feature costs one string lookup a batch, however many
// buckets read its counts.
type ids struct {
	byTerm map[string]uint32
	terms  []string // by id; "" when free
	refs   []int32  // open buckets counting the term
	free   []uint32
	peak   int    // most terms byTerm held since it was built
	memo   []memo // by id
}

// memo is what a term's judgements reuse: the tracker's Expected(term) as
// of tracker state expectedAt (it changes only when buckets close), and
// the term's verdict in judging round judgedAt (a bucket of a batch): the
// burst's z, 0 for none. A stamp of 0 is none.
type memo struct {
	expected, z          float64
	expectedAt, judgedAt uint32
}

// next moves a stamp on, and when it wraps around forgets every memo it
// stamps (at, its field).
func (t *ids) next(stamp *uint32, at func(*memo) *uint32) {
	if *stamp++; *stamp == 0 {
		for i := range t.memo {
			*at(&t.memo[i]) = 0
		}
		*stamp = 1
	}
}

func newIDs() ids { return ids{byTerm: make(map[string]uint32)} }

// intern returns term's id, numbering it if it is new.
func (t *ids) intern(term string) uint32 {
	if id, ok := t.byTerm[term]; ok {
		return id
	}
	term = strings.Clone(term)
	var id uint32
	if n := len(t.free); n > 0 {
		id = t.free[n-1]
		t.free = t.free[:n-1]
		t.terms[id] = term
	} else {
		id = uint32(len(t.terms))
		t.terms = append(t.terms, term)
		t.refs = append(t.refs, 0)
		t.memo = append(t.memo, memo{})
	}
	t.byTerm[term] = id
	t.peak = max(t.peak, len(t.byTerm))
	return id
}

// release drops one open bucket's hold on id, forgetting the term when it
// was the last.
func (t *ids) release(id uint32) {
	if t.refs[id]--; t.refs[id] == 0 {
		delete(t.byTerm, t.terms[id])
		t.terms[id] = ""
		t.memo[id] = memo{}
		t.free = append(t.free, id)
	}
}

// shrink rebuilds byTerm when it holds less than a quarter of its peak (a
// Go map keeps the room of its peak, as after a backlog batch that opened
// many buckets).
func (t *ids) shrink() {
	if t.peak > 4096 && 4*len(t.byTerm) < t.peak {
		m := make(map[string]uint32, len(t.byTerm))
		maps.Copy(m, t.byTerm)
		t.byTerm, t.peak = m, len(m)
	}
}

// counts holds one open bucket's mentions per term id: open addressing
// over a table at most 3/4 full, 8 bytes a term and no pointers.
type counts struct {
	slot  []countSlot
	n     int
	shift uint8 // 64 - log2(len(slot))
}

type countSlot struct {
	id uint32 // 1 + term id; 0: empty
	n  uint32
}

func newCounts() *counts {
	return &counts{slot: make([]countSlot, 16), shift: 64 - 4}
}

func (c *counts) home(id uint32) int { return int((uint64(id) * 0x9E3779B97F4A7C15) >> c.shift) }

// get returns the count of id; c may be nil (no bucket: 0).
func (c *counts) get(id uint32) uint32 {
	if c == nil {
		return 0
	}
	mask := len(c.slot) - 1
	for i := c.home(id); ; i = (i + 1) & mask {
		switch c.slot[i].id {
		case id + 1:
			return c.slot[i].n
		case 0:
			return 0
		}
	}
}

// add counts one mention carrying id and reports whether id is new here.
func (c *counts) add(id uint32) bool {
	mask := len(c.slot) - 1
	i := c.home(id)
	for ; c.slot[i].id != 0; i = (i + 1) & mask {
		if c.slot[i].id == id+1 {
			c.slot[i].n++
			return false
		}
	}
	c.slot[i] = countSlot{id: id + 1, n: 1}
	if c.n++; 4*c.n > 3*len(c.slot) {
		c.grow()
	}
	return true
}

func (c *counts) grow() {
	old := c.slot
	c.slot = make([]countSlot, 2*len(old))
	c.shift--
	mask := len(c.slot) - 1
	for _, e := range old {
		if e.id == 0 {
			continue
		}
		i := c.home(e.id - 1)
		for c.slot[i].id != 0 {
			i = (i + 1) & mask
		}
		c.slot[i] = e
	}
}
