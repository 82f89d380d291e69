package detect

import "sort"

// seqSet is a set of stream sequences kept as sorted, disjoint, inclusive
// ranges. The detect consumer delivers in stream order, so the sequences
// counted since the consumer's ack floor are a handful of ranges however
// many messages they hold: that is what the checkpoint stores to recognise
// a redelivery of a message already counted.
type seqSet struct {
	r [][2]uint64
}

// maxSeqRanges bounds the set; past it the oldest ranges are forgotten
// (they are far below any plausible redelivery).
const maxSeqRanges = 4096

// search returns the index of the first range whose end is >= s.
func (q *seqSet) search(s uint64) int {
	return sort.Search(len(q.r), func(i int) bool { return q.r[i][1] >= s })
}

// Contains reports whether s is in the set.
func (q *seqSet) Contains(s uint64) bool {
	i := q.search(s)
	return i < len(q.r) && q.r[i][0] <= s
}

// Add inserts s.
func (q *seqSet) Add(s uint64) {
	if n := len(q.r); n > 0 && q.r[n-1][1]+1 == s { // the common case: the next sequence
		q.r[n-1][1] = s
		return
	}
	i := q.search(s)
	if i < len(q.r) && q.r[i][0] <= s {
		return
	}
	joinLeft := i > 0 && q.r[i-1][1]+1 == s
	joinRight := i < len(q.r) && q.r[i][0] == s+1
	switch {
	case joinLeft && joinRight:
		q.r[i-1][1] = q.r[i][1]
		q.r = append(q.r[:i], q.r[i+1:]...)
	case joinLeft:
		q.r[i-1][1] = s
	case joinRight:
		q.r[i][0] = s
	default:
		q.r = append(q.r, [2]uint64{})
		copy(q.r[i+1:], q.r[i:])
		q.r[i] = [2]uint64{s, s}
	}
	if len(q.r) > maxSeqRanges {
		q.r = append(q.r[:0], q.r[len(q.r)-maxSeqRanges:]...)
	}
}

// Prune forgets every sequence <= floor: the consumer's ack floor, below
// which JetStream never redelivers.
func (q *seqSet) Prune(floor uint64) {
	i := q.search(floor + 1)
	q.r = append(q.r[:0], q.r[i:]...)
	if len(q.r) > 0 && q.r[0][0] <= floor {
		q.r[0][0] = floor + 1
	}
}

// Len is the number of ranges.
func (q *seqSet) Len() int { return len(q.r) }
