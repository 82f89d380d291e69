package topics

import (
	"cmp"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/earshot-dev/earshot/enrich/topics/query"
	"github.com/earshot-dev/earshot/pipeline"
)

// occ is one occurrence of a key or of a positional sub-query.
type occ struct {
	field  uint8
	w0, w1 int32 // words [w0, w1) of the field
	b0, b1 int32 // bytes [b0, b1) of the field's text
	next   int32 // next occurrence of the same key, or -1
}

// scratch is the per-mention state of a match, pooled.
type scratch struct {
	m   *Matcher
	gen uint32

	keyGen  []uint32 // key id -> gen when it last occurred
	keyMask []uint8  // fields the key occurred in, valid when keyGen == gen
	head    []int32  // first occurrence, valid when keyGen == gen
	tail    []int32
	occs    []occ

	ruleGen []uint32 // rule -> gen when it became a candidate
	cand    []int32
	matched []int32

	tok    query.Tokenizer
	words  [nFields][]query.Token
	tokKey [nFields][]int32 // literal key id of each word, or -1
	key    []byte
	arena  []occ

	mention   *pipeline.Mention
	hosts     []string
	hostsDone bool
	lang      string
	langDone  bool
	spans     []pipeline.Span
}

func newScratch(m *Matcher) *scratch {
	n := len(m.keys)
	return &scratch{m: m, keyGen: make([]uint32, n), keyMask: make([]uint8, n),
		head: make([]int32, n), tail: make([]int32, n), ruleGen: make([]uint32, len(m.rules))}
}

func (s *scratch) begin(mention *pipeline.Mention) {
	s.gen++
	if s.gen == 0 { // wrapped: forget every stamp
		clear(s.keyGen)
		clear(s.ruleGen)
		s.gen = 1
	}
	s.occs, s.cand, s.matched, s.arena = s.occs[:0], s.cand[:0], s.matched[:0], s.arena[:0]
	s.mention, s.hosts, s.hostsDone, s.langDone = mention, s.hosts[:0], false, false
	s.tok.Reset()
}

// Match returns the ids of the topics m matches, sorted, and the spans of
// the words that made each match, sorted by topic, field and offset. Spans
// are byte offsets into m.Title ("title") or m.Text ("text").
func (mt *Matcher) Match(m *pipeline.Mention) (ids []string, spans []pipeline.Span) {
	if len(mt.rules) == 0 {
		return nil, nil
	}
	s := mt.pool.Get().(*scratch)
	defer mt.pool.Put(s)
	s.begin(m)
	s.index(m)
	for _, r := range s.cand {
		if s.eval(mt.rules[r].root) {
			s.matched = append(s.matched, r)
		}
	}
	for _, r := range mt.always {
		if s.ruleGen[r] != s.gen && s.eval(mt.rules[r].root) {
			s.matched = append(s.matched, r)
		}
	}
	if len(s.matched) == 0 {
		return nil, nil
	}
	slices.Sort(s.matched)
	ids = make([]string, len(s.matched))
	s.spans = s.spans[:0]
	for i, r := range s.matched {
		ids[i] = mt.rules[r].id
		s.collectRule(r)
	}
	if len(s.spans) > 0 {
		spans = slices.Clone(s.spans)
	}
	return ids, spans
}

// index tokenizes the mention's fields and records the occurrences of every
// key, which also collects the candidate rules.
func (s *scratch) index(m *pipeline.Mention) {
	texts := [...]string{fTitle: m.Title, fText: m.Text, fAuthorName: m.Author.Name}
	var wr, sr [len(texts)][2]int
	for f, text := range texts {
		wr[f][0], sr[f][0] = len(s.tok.Tokens), len(s.tok.Sigils)
		s.tok.NoSigils = f == int(fAuthorName)
		s.tok.Tokenize(text)
		wr[f][1], sr[f][1] = len(s.tok.Tokens), len(s.tok.Sigils)
	}
	buf := s.tok.Buf
	for f := range texts {
		words := s.tok.Tokens[wr[f][0]:wr[f][1]]
		s.words[f] = words
		keys := slices.Grow(s.tokKey[f][:0], len(words))[:len(words)]
		for i := range words {
			t := &words[i]
			keys[i] = s.feed(buf[t.FStart:t.FEnd], uint8(f), t.Word, 1, t.Start, t.End)
		}
		s.tokKey[f] = keys
		sigils := s.tok.Sigils[sr[f][0]:sr[f][1]]
		for i := range sigils {
			t := &sigils[i]
			s.feed(buf[t.FStart:t.FEnd], uint8(f), t.Word, t.Words, t.Start, t.End)
		}
	}
	if h := strings.TrimPrefix(m.Author.Handle, "@"); h != "" {
		s.feedValue('@', h, fHandle)
	}
	for _, h := range m.Enrichment.Hashtags {
		s.feedValue('#', h, fMeta)
	}
	for _, h := range m.Enrichment.Mentions {
		s.feedValue('@', h, fMeta)
	}
	for _, h := range m.Enrichment.Cashtags {
		s.feedValue('$', h, fMeta)
	}
}

// feedValue feeds a whole value (a handle, a tag) with its sigil.
func (s *scratch) feedValue(sigil byte, v string, field uint8) {
	s.key = append(s.key[:0], sigil)
	s.key = s.tok.AppendFold(s.key, strings.TrimLeft(v, "#@$"))
	if len(s.key) > 1 {
		s.feed(s.key, field, -1, 0, -1, -1)
	}
}

// feed records an occurrence of the literal key k, at words [w, w+n) and
// bytes [b0, b1) of field, and of every wildcard that matches it. It returns
// the literal's key id, or -1. Most words of a text are no key: for them
// feed only hashes k, and looks up its first 3 bytes in the wildcards'
// bloom filter.
func (s *scratch) feed(k []byte, field uint8, w, n, b0, b1 int32) int32 {
	m := s.m
	id := m.table.get(k)
	if id >= 0 {
		s.add(id, occ{field: field, w0: w, w1: w + n, b0: b0, b1: b1})
	}
	if len(k) >= 3 && len(m.pats) > 0 {
		p3 := prefix3(k)
		if h := bloomHash(p3); m.pbloom[h>>6]&(1<<(h&63)) != 0 {
			for _, pi := range m.pindex[p3] {
				if p := &m.pats[pi]; p.match(k) {
					s.add(p.key, occ{field: field, w0: w, w1: w + n, b0: b0, b1: b1})
				}
			}
		}
	}
	return id
}

func (s *scratch) add(id int32, o occ) {
	if s.keyGen[id] != s.gen {
		s.keyGen[id], s.keyMask[id], s.head[id] = s.gen, 0, -1
		for _, r := range s.m.anchor[id] {
			if s.ruleGen[r] != s.gen {
				s.ruleGen[r] = s.gen
				s.cand = append(s.cand, r)
			}
		}
	}
	s.keyMask[id] |= 1 << o.field
	o.next = -1
	i := int32(len(s.occs))
	s.occs = append(s.occs, o)
	if s.head[id] < 0 {
		s.head[id] = i
	} else {
		s.occs[s.tail[id]].next = i
	}
	s.tail[id] = i
}

func (p *pattern) match(k []byte) bool {
	if p.simple {
		return len(k) >= len(p.prefix) && string(k[:len(p.prefix)]) == p.prefix
	}
	return glob(p.glob, k)
}

// glob matches s against a pattern where '*' is any run of characters and
// '?' exactly one.
func glob(p string, s []byte) bool {
	px, sx := 0, 0
	starPx, starSx := -1, 0
	for px < len(p) || sx < len(s) {
		if px < len(p) {
			switch c := p[px]; c {
			case '*':
				starPx, starSx = px, sx
				px++
				continue
			case '?':
				if sx < len(s) {
					_, n := utf8.DecodeRune(s[sx:])
					px, sx = px+1, sx+n
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px, sx = px+1, sx+1
					continue
				}
			}
		}
		if starPx >= 0 && starSx < len(s) {
			_, n := utf8.DecodeRune(s[starSx:])
			starSx += n
			px, sx = starPx+1, starSx
			continue
		}
		return false
	}
	return true
}

func (s *scratch) present(k int32) bool { return s.keyGen[k] == s.gen }

func (s *scratch) eval(n *node) bool {
	switch n.kind {
	case kKey:
		return s.present(n.key) && s.keyMask[n.key]&n.mask != 0
	case kPhrase:
		return len(s.phrase(n, true)) > 0
	case kNear:
		return len(s.near(n, true, false)) > 0
	case kAnd:
		for _, x := range n.kids {
			if !s.eval(x) {
				return false
			}
		}
		return true
	case kOr:
		for _, x := range n.kids {
			if s.eval(x) {
				return true
			}
		}
		return false
	case kNot:
		return !s.eval(n.kids[0])
	case kSite:
		return s.site(n.val)
	case kLang:
		l := s.language()
		return l == n.val || strings.HasPrefix(l, n.val) && l[len(n.val)] == '-'
	case kPlatform:
		return strings.EqualFold(s.mention.Platform, n.val)
	}
	return false
}

// occurrences returns where the positional node n occurs, sorted by field
// and word. With first, it stops at the first one.
func (s *scratch) occurrences(n *node, first bool) []occ {
	switch n.kind {
	case kKey:
		if !s.present(n.key) || s.keyMask[n.key]&n.mask&mPosAll == 0 {
			return nil
		}
		start := len(s.arena)
		for i := s.head[n.key]; i >= 0; i = s.occs[i].next {
			if o := s.occs[i]; n.mask&mPosAll&(1<<o.field) != 0 {
				s.arena = append(s.arena, o)
				if first {
					break
				}
			}
		}
		return s.arena[start:len(s.arena):len(s.arena)]
	case kPhrase:
		return s.phrase(n, first)
	case kNear:
		return s.near(n, first, false)
	case kOr:
		start := len(s.arena)
		parts := 0
		for _, x := range n.kids {
			if xs := s.occurrences(x, first); len(xs) > 0 {
				s.arena = append(s.arena, xs...)
				parts++
				if first {
					break
				}
			}
		}
		out := s.arena[start:len(s.arena):len(s.arena)]
		if parts > 1 {
			slices.SortFunc(out, byPosition)
		}
		return out
	}
	return nil
}

func byPosition(a, b occ) int {
	if c := cmp.Compare(a.field, b.field); c != 0 {
		return c
	}
	if c := cmp.Compare(a.w0, b.w0); c != 0 {
		return c
	}
	return cmp.Compare(a.w1, b.w1)
}

// phrase returns the occurrences of a multi-word phrase.
func (s *scratch) phrase(n *node, first bool) []occ {
	for _, k := range n.elems {
		if !s.present(k) {
			return nil
		}
	}
	ak := n.elems[n.anchor]
	if s.keyMask[ak]&n.mask&mPosAll == 0 {
		return nil
	}
	start := len(s.arena)
	for i := s.head[ak]; i >= 0; i = s.occs[i].next {
		o := s.occs[i]
		if n.mask&mPosAll&(1<<o.field) == 0 {
			continue
		}
		w0 := o.w0 - int32(n.anchor)
		words, keys := s.words[o.field], s.tokKey[o.field]
		if w0 < 0 || int(w0)+len(n.elems) > len(words) {
			continue
		}
		ok := true
		for j, k := range n.elems {
			w := int(w0) + j
			if p := s.m.patOf[k]; p >= 0 {
				ok = s.m.pats[p].match(s.tok.Folded(words[w]))
			} else {
				ok = keys[w] == k
			}
			if !ok {
				break
			}
		}
		if !ok {
			continue
		}
		last := words[int(w0)+len(n.elems)-1]
		s.arena = append(s.arena, occ{field: o.field, w0: w0, w1: w0 + int32(len(n.elems)),
			b0: words[w0].Start, b1: last.End})
		if first || len(s.arena)-start >= maxOccs {
			break
		}
	}
	return s.arena[start:len(s.arena):len(s.arena)]
}

// near returns an occurrence covering each pair of occurrences of its
// operands that are close enough; with parts, the two occurrences of each
// pair instead.
func (s *scratch) near(n *node, first, parts bool) []occ {
	xs := s.occurrences(n.kids[0], false)
	if len(xs) == 0 {
		return nil
	}
	ys := s.occurrences(n.kids[1], false)
	if len(ys) == 0 {
		return nil
	}
	var maxLen int32
	for _, y := range ys {
		maxLen = max(maxLen, y.w1-y.w0)
	}
	start := len(s.arena)
	for _, a := range xs {
		// First y of a's field that can be close to a: y.w0 >= a.w0-dist-maxLen.
		lo, hi := 0, len(ys)
		from := a.w0 - n.dist - maxLen
		for lo < hi {
			mid := int(uint(lo+hi) >> 1)
			if y := ys[mid]; y.field < a.field || y.field == a.field && y.w0 < from {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		for j := lo; j < len(ys) && ys[j].field == a.field && ys[j].w0 <= a.w1+n.dist; j++ {
			b := ys[j]
			var gap int32
			switch {
			case b.w0 >= a.w1:
				gap = b.w0 - a.w1
			case !n.ordered && a.w0 >= b.w1:
				gap = a.w0 - b.w1
			default:
				continue // overlapping, or in the wrong order
			}
			if gap > n.dist {
				continue
			}
			if parts {
				s.arena = append(s.arena, a, b)
			} else {
				s.arena = append(s.arena, occ{field: a.field, w0: min(a.w0, b.w0), w1: max(a.w1, b.w1),
					b0: min(a.b0, b.b0), b1: max(a.b1, b.b1)})
			}
			if first || len(s.arena)-start >= maxOccs {
				return s.arena[start:len(s.arena):len(s.arena)]
			}
		}
	}
	out := s.arena[start:len(s.arena):len(s.arena)]
	slices.SortFunc(out, byPosition)
	return out
}

func (s *scratch) site(v string) bool {
	if !s.hostsDone {
		s.hostsDone = true
		m := s.mention
		if m.URL != "" {
			if u, err := url.Parse(m.URL); err == nil && u.Host != "" {
				s.hosts = append(s.hosts, strings.TrimSuffix(strings.ToLower(u.Hostname()), "."))
			}
		}
		for _, d := range m.Enrichment.Domains {
			s.hosts = append(s.hosts, strings.TrimSuffix(strings.ToLower(d), "."))
		}
	}
	for _, h := range s.hosts {
		if h == v || len(h) > len(v) && h[len(h)-len(v)-1] == '.' && strings.HasSuffix(h, v) {
			return true
		}
	}
	return false
}

// language is the detected language, or else the declared one, lower case
// with '-' between subtags.
func (s *scratch) language() string {
	if !s.langDone {
		s.langDone = true
		l := s.mention.Enrichment.Lang
		if l == "" {
			l = s.mention.Lang
		}
		s.lang = strings.ReplaceAll(strings.ToLower(l), "_", "-")
	}
	return s.lang
}

// collectRule appends the spans of rule r, which matched.
func (s *scratch) collectRule(r int32) {
	start := len(s.spans)
	s.collect(s.m.rules[r].root, s.m.rules[r].id, start)
	own := s.spans[start:]
	slices.SortFunc(own, func(a, b pipeline.Span) int {
		return cmp.Or(strings.Compare(a.Field, b.Field), cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End))
	})
	own = slices.Compact(own)
	if len(own) > MaxSpansPerTopic {
		own = own[:MaxSpansPerTopic]
	}
	s.spans = s.spans[:start+len(own)]
}

// collect appends the spans of the positive terms that make n true.
func (s *scratch) collect(n *node, id string, start int) {
	switch n.kind {
	case kKey, kPhrase, kNear:
		occs := s.occurrences(n, false)
		if n.kind == kNear {
			occs = s.near(n, false, true) // the words themselves, not what lies between
		}
		for _, o := range occs {
			if len(s.spans)-start >= 4*MaxSpansPerTopic {
				return
			}
			if name := spanField[o.field]; name != "" {
				s.spans = append(s.spans, pipeline.Span{Topic: id, Field: name, Start: int(o.b0), End: int(o.b1)})
			}
		}
	case kAnd:
		for _, x := range n.kids {
			s.collect(x, id, start)
		}
	case kOr:
		for _, x := range n.kids {
			if s.eval(x) {
				s.collect(x, id, start)
			}
		}
	}
}
