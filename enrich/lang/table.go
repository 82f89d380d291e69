package lang

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// ngramsGz is the n-gram table made by internal/ngramgen from lingua-go's
// language models: per language, its most frequent unigrams, bigrams and
// trigrams with their conditional log-probabilities in tenths of a nat.
//
//go:embed ngrams.bin.gz
var ngramsGz []byte

// hinglishGz is the romanised-Hindi n-gram table made by
// internal/hinglishgen: lingua-go's Hindi model knows only Devanagari.
//
//go:embed hinglish.tsv.gz
var hinglishGz []byte

// maxLangs bounds the languages of the table, so scores fit a stack array.
const maxLangs = 96

// maxOrder is the longest n-gram of the table: 5 runes.
const maxOrder = 5

type table struct {
	codes []string  // language index -> ISO 639-1 code
	index hashIndex // unigrams, bigrams, trigrams
	// long indexes the 4- and 5-grams, apart, so that the index of the
	// lower orders, which every letter of every text probes, stays as
	// small (and as much in the CPU's caches) as it was without them.
	// Every 4-gram's trigram suffix, and every 5-gram's 4-gram suffix,
	// is in the table (parseTable checks), so the scorer probes long only
	// after a hit one order down.
	//
	// long is used while the table is built; the scorer reads the same
	// keys and values from lidx, in 12 MB instead of 32 (see
	// compactLong).
	long hashIndex
	lidx longIndex
	// posts is used while the table is built; the scorer reads the same
	// postings split in two arrays, plang and prel (1 + 4 bytes a posting
	// instead of the struct's padded 8: 1.1 MB instead of 1.7 MB, so
	// more of them stay in the CPU's caches).
	posts []posting
	plang []uint8
	prel  []float32
	// floor[o][l] is the log-probability of an n-gram of order o+1 that
	// language l's table lacks: just below the least likely one it keeps.
	floor [maxOrder][maxLangs]float32
	// Hindi in Latin letters: the log-probabilities of its n-grams are
	// kept in index (slot.lat), next to the postings of the same n-gram,
	// so one probe finds both; latinFloor is the floor of its unigrams;
	// hi is Hindi's index.
	latinFloor float32
	hi         int
}

// posting is one language's log-probability of an n-gram, stored relative
// to that language's floor for the n-gram's order.
type posting struct {
	// rel is the log-probability minus the language's unigram floor, plus
	// the backoff penalties of the steps from a trigram down to this
	// n-gram's order that the scorer counts for every language (a value
	// of order o, reached from order k, costs backoffPenalty*(k-o); the
	// floor costs backoffPenalty*(k-1)): what the language gains over
	// the floor.
	rel  float32
	lang uint8
}

// hashIndex maps packed n-grams to offset<<8 | count in posts: an
// open-addressing table, faster than a Go map for this read-only use.
type hashIndex struct {
	// slots hold a key (0 marks an empty slot: no n-gram packs to 0) and
	// its value side by side, so a probe touches one cache line.
	slots []slot
	shift uint
}

type slot struct {
	key uint64
	val uint32
	// lat is the romanised-Hindi log-probability of the n-gram (noLatin:
	// none); it fits in what would be the slot's padding.
	lat float32
}

// noLatin marks a slot without a romanised-Hindi log-probability (they
// are all <= 0).
const noLatin = 1

func newHashIndex(n int) hashIndex {
	size, shift := 1, uint(64)
	for size < 2*n {
		size <<= 1
		shift--
	}
	return hashIndex{slots: make([]slot, size), shift: shift}
}

func (h *hashIndex) slot(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> h.shift }

func (h *hashIndex) put(k uint64, v uint32) {
	mask := uint64(len(h.slots) - 1)
	for i := h.slot(k); ; i = (i + 1) & mask {
		if s := &h.slots[i]; s.key == 0 || s.key == k {
			if s.key == 0 {
				s.lat = noLatin
			}
			s.key, s.val = k, v
			return
		}
	}
}

// resized is h in a table sized for the keys it holds.
func (h hashIndex) resized() hashIndex {
	n := 0
	for _, s := range h.slots {
		if s.key != 0 {
			n++
		}
	}
	r := newHashIndex(n)
	for _, s := range h.slots {
		if s.key != 0 {
			r.put(s.key, s.val)
		}
	}
	return r
}

// indexOf is the index that holds key: long for 4- and 5-grams.
func (t *table) indexOf(key uint64) *hashIndex {
	if key >= 1<<63 {
		return &t.long
	}
	return &t.index
}

// find returns k's slot, or nil.
func (h *hashIndex) find(k uint64) *slot {
	mask := uint64(len(h.slots) - 1)
	for i := h.slot(k); ; i = (i + 1) & mask {
		switch s := &h.slots[i]; s.key {
		case k:
			return s
		case 0:
			return nil
		}
	}
}

func (h *hashIndex) get(k uint64) (uint32, bool) {
	mask := uint64(len(h.slots) - 1)
	for i := h.slot(k); ; i = (i + 1) & mask {
		switch s := &h.slots[i]; s.key {
		case k:
			return s.val, true
		case 0:
			return 0, false
		}
	}
}

var (
	tableOnce sync.Once
	theTable  *table
	tableErr  error
)

func loadTable() (*table, error) {
	tableOnce.Do(func() {
		theTable, tableErr = parseTable(ngramsGz)
		if tableErr == nil {
			tableErr = theTable.addLatinHindi(hinglishGz)
		}
	})
	return theTable, tableErr
}

// addLatinHindi reads the romanised-Hindi table (order, n-gram, ln P per
// line; # comments).
func (t *table) addLatinHindi(gz []byte) error {
	t.hi = slices.Index(t.codes, "hi")
	if t.hi < 0 {
		return fmt.Errorf("%w: no hi in the n-gram table", errTable)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return fmt.Errorf("%w: hinglish: %w", errTable, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return fmt.Errorf("%w: hinglish: %w", errTable, err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	// The index is rebuilt with room for the romanised-Hindi n-grams that
	// no language of the main table has.
	used := 0
	for _, sl := range t.index.slots {
		if sl.key != 0 {
			used++
		}
	}
	idx := newHashIndex(used + len(lines))
	for _, sl := range t.index.slots {
		if sl.key != 0 {
			idx.put(sl.key, sl.val)
		}
	}
	t.index = idx
	t.latinFloor = 0
	for i, l := range lines {
		if strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Split(l, "\t")
		if len(f) != 3 {
			return fmt.Errorf("%w: hinglish line %d: want 3 fields", errTable, i+1)
		}
		key, ok := packString(f[1])
		lp, err := strconv.ParseFloat(f[2], 32)
		if !ok || err != nil || lp > 0 {
			return fmt.Errorf("%w: hinglish line %d: %q", errTable, i+1, l)
		}
		sl := t.index.find(key)
		if sl == nil {
			t.index.put(key, 0) // no postings
			sl = t.index.find(key)
		}
		sl.lat = float32(lp)
		if f[0] == "1" {
			t.latinFloor = min(t.latinFloor, float32(lp)-1)
		}
	}
	return nil
}

// latinLogP is the romanised-Hindi log-probability of the n-gram of order
// ending at the current rune, backing off as the main table does; lat[o-1]
// is the n-gram of order o's value in the index (noLatin: none). The
// romanised-Hindi table stops at trigrams, and on a 4- or 5-gram it is
// scored as on a trigram, without the steps back from the longer order:
// paying them took romanised Hindi from 59% to 29% of whole xlmt_train
// tweets (its model is a trigram model, not one that lacks the 4-gram).
func (t *table) latinLogP(lat *[3]float32, order int) float32 {
	from := min(order, 3)
	for o := from; o >= 1; o-- {
		if v := lat[o-1]; v != noLatin {
			return v - backoffPenalty*float32(from-o)
		}
	}
	return t.latinFloor - backoffPenalty*float32(from-1)
}

var errTable = errors.New("corrupt n-gram table")

func parseTable(gz []byte) (*table, error) {
	t, err := parseTableLayout(gz)
	if err != nil {
		return nil, err
	}
	t.compactLong()
	return t, nil
}

// parseTableLayout is parseTable with the 4- and 5-grams left in t.long,
// as before compactLong (the layout the former scorer in the tests reads).
func parseTableLayout(gz []byte) (*table, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errTable, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errTable, err)
	}
	if len(raw) < 6 || string(raw[:5]) != "ESNG1" {
		return nil, fmt.Errorf("%w: bad magic", errTable)
	}
	n := int(raw[5])
	p := 6
	if n > maxLangs || len(raw) < p+2*n+4 {
		return nil, fmt.Errorf("%w: %d languages", errTable, n)
	}
	t := &table{}
	for i := 0; i < n; i++ {
		t.codes = append(t.codes, string(raw[p:p+2]))
		p += 2
	}
	count := int(binary.LittleEndian.Uint32(raw[p:]))
	p += 4
	t.index = newHashIndex(count)
	t.long = newHashIndex(count)
	t.posts = make([]posting, 0, count*4)
	orders := make([]uint8, 0, count*4)
	var maxQ [maxOrder][maxLangs]uint8
	// The 4- and 5-grams' keys are hashes: chainLong needs the keys of
	// their suffixes, kept here while the table is built.
	var long []longEntry
	for e := 0; e < count; e++ {
		if p+2 > len(raw) {
			return nil, fmt.Errorf("%w: truncated at entry %d", errTable, e)
		}
		order, gl := int(raw[p]), int(raw[p+1])
		p += 2
		if order < 1 || order > maxOrder || p+gl+1 > len(raw) {
			return nil, fmt.Errorf("%w: entry %d", errTable, e)
		}
		g := string(raw[p : p+gl])
		key, ok := ngramKey(g)
		if !ok || utf8.RuneCountInString(g) != order {
			return nil, fmt.Errorf("%w: n-gram %q", errTable, raw[p:p+gl])
		}
		if _, dup := t.indexOf(key).get(key); dup {
			return nil, fmt.Errorf("%w: n-gram %q: key taken", errTable, g)
		}
		if order > 3 {
			le := longEntry{key: key, order: order}
			rs := []rune(g)
			for o := 1; o < order; o++ {
				le.sub[o-1], _ = ngramKey(string(rs[len(rs)-o:]))
			}
			long = append(long, le)
		}
		p += gl
		np := int(raw[p])
		p++
		if p+2*np > len(raw) {
			return nil, fmt.Errorf("%w: postings of entry %d", errTable, e)
		}
		t.indexOf(key).put(key, uint32(len(t.posts))<<8|uint32(np))
		for k := 0; k < np; k++ {
			l, q := raw[p], raw[p+1]
			p += 2
			if int(l) >= n {
				return nil, fmt.Errorf("%w: language %d", errTable, l)
			}
			t.posts = append(t.posts, posting{rel: -float32(q) / 10, lang: l})
			orders = append(orders, uint8(order-1))
			if q > maxQ[order-1][l] {
				maxQ[order-1][l] = q
			}
		}
	}
	for o := range maxOrder {
		for l := 0; l < n; l++ {
			// One nat below the least likely kept n-gram; a language with no
			// n-grams of this order (a script of its own) gets a fixed floor.
			q := float32(maxQ[o][l])
			if q == 0 {
				q = 100
			}
			t.floor[o][l] = -(q/10 + 1)
		}
	}
	for i := range t.posts {
		p := &t.posts[i]
		o := orders[i]
		p.rel += -t.floor[0][p.lang] + backoffPenalty*float32(o)
	}
	for _, le := range long {
		if _, ok := t.indexOf(le.sub[le.order-2]).get(le.sub[le.order-2]); !ok {
			return nil, fmt.Errorf("%w: a %d-gram whose suffix the table lacks", errTable, le.order)
		}
	}
	t.long = t.long.resized()
	t.chainLong(long)
	t.chain()
	t.plang = make([]uint8, len(t.posts))
	t.prel = make([]float32, len(t.posts))
	for i, p := range t.posts {
		t.plang[i], t.prel[i] = p.lang, p.rel
	}
	t.posts = nil
	return t, nil
}

// compactLong moves the 4- and 5-grams from long, whose 16-byte slots
// were two thirds empty (2^21 slots, 32 MB, for 747,834 keys), to lidx
// (12-byte slots, at most 3/4 full: 2^20 slots, 12 MB), with the same
// values: the scorer finds the same postings.
func (t *table) compactLong() {
	n := 0
	for _, s := range t.long.slots {
		if s.key != 0 {
			n++
		}
	}
	t.lidx = newLongIndex(n)
	for _, s := range t.long.slots {
		if s.key != 0 {
			t.lidx.put(s.key, s.val)
		}
	}
	t.long = hashIndex{}
}

// longIndex maps the hashed keys of 4- and 5-grams (top bit set: never 0)
// to offset<<8 | count in lpost, by linear probing. A slot holds the
// whole key, so a lookup answers as long's did, in 12 bytes instead of 16.
type longIndex struct {
	slots []longSlot
	shift uint
}

// longSlot is a key (hi 0 marks an empty slot) and its value.
type longSlot struct {
	lo, hi, val uint32
}

func newLongIndex(n int) longIndex {
	size, shift := 1, uint(64)
	for size*3 < 4*n {
		size <<= 1
		shift--
	}
	return longIndex{slots: make([]longSlot, size), shift: shift}
}

// home is k's first slot: the key is already a hash (mix64), so its bits
// below the top one are used as they are.
func (h *longIndex) home(k uint64) uint64 { return (k << 1) >> h.shift }

func (h *longIndex) put(k uint64, v uint32) {
	mask := uint64(len(h.slots) - 1)
	lo, hi := uint32(k), uint32(k>>32)
	for i := h.home(k); ; i = (i + 1) & mask {
		if s := &h.slots[i]; s.hi == 0 || (s.lo == lo && s.hi == hi) {
			s.lo, s.hi, s.val = lo, hi, v
			return
		}
	}
}

func (h *longIndex) get(k uint64) (uint32, bool) {
	mask := uint64(len(h.slots) - 1)
	lo, hi := uint32(k), uint32(k>>32)
	for i := h.home(k); ; i = (i + 1) & mask {
		s := &h.slots[i]
		if s.lo == lo && s.hi == hi {
			return s.val, true
		}
		if s.hi == 0 {
			return 0, false
		}
	}
}

// longEntry is a 4- or 5-gram while the table is built: sub[o-1] is the
// key of its suffix of order o.
type longEntry struct {
	key   uint64
	order int
	sub   [maxOrder - 1]uint64
}

// postRel returns language lang's posting of key, if it has one.
func (t *table) postRel(key uint64, lang uint8) (float32, bool) {
	v, ok := t.indexOf(key).get(key)
	if !ok {
		return 0, false
	}
	for _, p := range t.posts[v>>8 : v>>8+v&0xff] {
		if p.lang == lang {
			return p.rel, true
		}
	}
	return 0, false
}

// chainLong makes each 4- and 5-gram's postings relative to the
// language's longest n-gram one order down or shorter ending at the same
// rune (as chain does for bigrams and trigrams). It runs before chain,
// while the lower orders hold their own values, 5-grams first.
func (t *table) chainLong(long []longEntry) {
	for _, order := range []int{5, 4} {
		for _, le := range long {
			if le.order != order {
				continue
			}
			v, _ := t.long.get(le.key)
			for i := v >> 8; i < v>>8+v&0xff; i++ {
				p := &t.posts[i]
				for o := order - 1; o >= 1; o-- {
					if r, ok := t.postRel(le.sub[o-1], p.lang); ok {
						p.rel -= r
						break
					}
				}
			}
		}
	}
}

// chain makes each bigram's and trigram's postings relative to what the
// language has one order down (its bigram ending at the same rune, else its
// unigram, else nothing), so the scorer adds a rune's unigram, bigram and
// trigram postings without checking which language has which: a language
// with the trigram ends up with the trigram's value, one with only the
// bigram with the bigram's. Trigrams go first, while the bigrams still
// hold their own values.
func (t *table) chain() {
	rel := func(key uint64, lang uint8) float32 {
		v, ok := t.index.get(key)
		if !ok {
			return 0
		}
		for _, p := range t.posts[v>>8 : v>>8+v&0xff] {
			if p.lang == lang {
				return p.rel
			}
		}
		return 0
	}
	has := func(key uint64, lang uint8) bool {
		v, ok := t.index.get(key)
		if !ok {
			return false
		}
		for _, p := range t.posts[v>>8 : v>>8+v&0xff] {
			if p.lang == lang {
				return true
			}
		}
		return false
	}
	const r21 = 1<<21 - 1
	for _, order := range []int{3, 2} {
		for _, s := range t.index.slots {
			if s.key == 0 || keyOrder(s.key) != order {
				continue
			}
			last := s.key & r21
			bi := s.key & (1<<42 - 1)
			for i := s.val >> 8; i < s.val>>8+s.val&0xff; i++ {
				p := &t.posts[i]
				if order == 3 && has(bi, p.lang) {
					p.rel -= rel(bi, p.lang)
				} else {
					p.rel -= rel(last, p.lang)
				}
			}
		}
	}
}

// keyOrder is the number of runes packed in a key (4 for the hashed keys
// of 4- and 5-grams).
func keyOrder(k uint64) int {
	switch {
	case k >= 1<<63:
		return 4
	case k >= 1<<42:
		return 3
	case k >= 1<<21:
		return 2
	}
	return 1
}

// packString packs one to three runes into a key: r1, r1<<21|r2 or
// r1<<42|r2<<21|r3 (no rune is 0, so the orders never collide).
func packString(s string) (uint64, bool) {
	var k uint64
	n := 0
	for _, r := range s {
		if r == utf8.RuneError || r == 0 {
			return 0, false
		}
		k = k<<21 | uint64(r)
		n++
	}
	return k, n >= 1 && n <= 3
}

// extendKey is the key of the n-gram made of r followed by the n-gram of
// key k (a trigram's packed key or a 4-gram's key): a hash with the top
// bit set, which no packed key has. parseTable rejects a table in which
// two n-grams share a key; a text's n-gram that no table keeps could take
// a kept one's key with a probability of about 2^-63 per kept n-gram.
func extendKey(k uint64, r rune) uint64 {
	return mix64(mix64(k)^uint64(r)) | 1<<63
}

// mix64 is splitmix64's finaliser, a bijection on 64 bits.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return x
}

// ngramKey is the key of an n-gram of one to five runes: packed (see
// packString) up to three, extendKey of its trigram suffix beyond.
func ngramKey(s string) (uint64, bool) {
	rs := []rune(s)
	if len(rs) <= 3 {
		return packString(s)
	}
	if len(rs) > maxOrder {
		return 0, false
	}
	k, ok := packString(string(rs[len(rs)-3:]))
	if !ok {
		return 0, false
	}
	for i := len(rs) - 4; i >= 0; i-- {
		if rs[i] == utf8.RuneError || rs[i] == 0 {
			return 0, false
		}
		k = extendKey(k, rs[i])
	}
	return k, true
}
