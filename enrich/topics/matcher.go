package topics

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/earshot-dev/earshot/enrich/topics/query"
	"github.com/earshot-dev/earshot/pipeline"
)

// Sentinel errors of NewMatcher, wrapped with the topic they concern.
var (
	ErrTopicID = errors.New("invalid topic id")
	ErrQuery   = errors.New("invalid topic query")
)

// MaxSpansPerTopic bounds the spans recorded for one topic on one mention;
// the topic id is recorded whatever the number of matches.
const MaxSpansPerTopic = 32

// maxOccs bounds the occurrences a NEAR produces for enclosing NEARs and
// spans; whether a NEAR matches is decided without that bound.
const maxOccs = 1024

// Fields of a mention that keys occur in. Title, text and author name are
// positional (tokenized into words); the others are whole values.
const (
	fTitle uint8 = iota
	fText
	fAuthorName
	fHandle // author handle, as "@handle"
	fMeta   // Enrichment.Hashtags, Mentions, Cashtags
	nFields
)

const (
	mTitle  = 1 << fTitle
	mText   = 1 << fText
	mName   = 1 << fAuthorName
	mHandle = 1 << fHandle
	mMeta   = 1 << fMeta
	mPosAll = mTitle | mText | mName // fields with word positions
)

var spanField = [nFields]string{fTitle: "title", fText: "text"}

// Matcher matches mentions against compiled topic queries. It is immutable
// and safe for concurrent use.
//
// Prefilter: every literal word, tag and wildcard in any rule is interned as
// a key. Matching tokenizes the mention once (which evaluation needs anyway)
// and looks each token up in one hash map, and in a small index of wildcard
// prefixes; a rule is evaluated only if one of its anchor keys occurred, a
// set of keys at least one of which every match of the rule contains. Rules
// without such a set (NOT-only, platform:/site:/lang:-only) are evaluated
// on every mention.
type Matcher struct {
	rules  []rule           // sorted by id
	dict   map[string]int32 // literal key -> key id
	table  keyTable         // the same, for matching
	pats   []pattern
	patOf  []int32  // key id -> index in pats, or -1 for a literal
	keys   []string // key id -> key
	pindex map[uint32][]int32
	pbloom [1 << 10]uint64 // 16-bit hashes of pattern prefixes
	anchor [][]int32       // key id -> rules anchored on it
	always []int32         // rules evaluated on every mention
	pool   sync.Pool
}

type rule struct {
	id   string
	root *node
}

type pattern struct {
	key    int32
	glob   string
	prefix string // literal part before the first wildcard
	simple bool   // glob is prefix + "*"
}

type nodeKind uint8

const (
	kKey nodeKind = iota
	kPhrase
	kNear
	kAnd
	kOr
	kNot
	kSite
	kLang
	kPlatform
)

type node struct {
	kind    nodeKind
	key     int32   // kKey
	mask    uint8   // kKey, kPhrase: fields where the key counts
	elems   []int32 // kPhrase: key per word
	anchor  int     // kPhrase: element whose occurrences are scanned
	kids    []*node // kAnd, kOr, kNot (1), kNear (2)
	dist    int32
	ordered bool
	val     string // kSite, kLang, kPlatform
}

// NewMatcher compiles topics. Every invalid topic is reported, each error
// naming the topic id and, for a query error, its column and a hint.
func NewMatcher(topics []pipeline.Topic) (*Matcher, error) {
	m := &Matcher{dict: map[string]int32{}, pindex: map[uint32][]int32{}}
	c := &compiler{m: m, pats: map[string]int32{}}
	sorted := slices.Clone(topics)
	slices.SortStableFunc(sorted, func(a, b pipeline.Topic) int { return strings.Compare(a.ID, b.ID) })
	var errs []error
	for i, t := range sorted {
		switch {
		case strings.TrimSpace(t.ID) == "":
			errs = append(errs, fmt.Errorf("topic with query %q: %w: empty", t.Query, ErrTopicID))
			continue
		case i > 0 && sorted[i-1].ID == t.ID:
			errs = append(errs, fmt.Errorf("topic %q: %w: defined twice", t.ID, ErrTopicID))
			continue
		}
		q, err := query.Parse(t.Query)
		if err != nil {
			errs = append(errs, fmt.Errorf("topic %q: %w: %w", t.ID, ErrQuery, err))
			continue
		}
		m.rules = append(m.rules, rule{id: t.ID, root: c.compile(q.Root)})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m.table = newKeyTable(m.dict, m.keys)
	m.anchor = make([][]int32, len(m.patOf))
	for i, r := range m.rules {
		keys, _, ok := m.anchors(r.root)
		if !ok {
			m.always = append(m.always, int32(i))
			continue
		}
		slices.Sort(keys)
		for _, k := range slices.Compact(keys) {
			m.anchor[k] = append(m.anchor[k], int32(i))
		}
	}
	m.pool.New = func() any { return newScratch(m) }
	return m, nil
}

// Len returns the number of compiled topics.
func (m *Matcher) Len() int { return len(m.rules) }

// Stats describes how the prefilter indexes the rules.
type Stats struct {
	Rules, Keys, Wildcards, AlwaysEvaluated int
}

// Stats returns prefilter statistics.
func (m *Matcher) Stats() Stats {
	return Stats{Rules: len(m.rules), Keys: len(m.dict), Wildcards: len(m.pats), AlwaysEvaluated: len(m.always)}
}

type compiler struct {
	m    *Matcher
	pats map[string]int32 // glob -> key id
}

func (c *compiler) literal(k string) int32 {
	id, ok := c.m.dict[k]
	if !ok {
		id = int32(len(c.m.patOf))
		c.m.dict[k] = id
		c.m.patOf = append(c.m.patOf, -1)
		c.m.keys = append(c.m.keys, k)
	}
	return id
}

// pattern interns a wildcard pattern.
func (c *compiler) pattern(glob string) int32 {
	if id, ok := c.pats[glob]; ok {
		return id
	}
	id := int32(len(c.m.patOf))
	c.pats[glob] = id
	c.m.patOf = append(c.m.patOf, int32(len(c.m.pats)))
	c.m.keys = append(c.m.keys, glob)
	prefix := glob[:strings.IndexAny(glob, "*?")]
	c.m.pats = append(c.m.pats, pattern{key: id, glob: glob, prefix: prefix,
		simple: len(prefix) == len(glob)-1 && glob[len(glob)-1] == '*'})
	p3 := prefix3(prefix)
	c.m.pindex[p3] = append(c.m.pindex[p3], int32(len(c.m.pats)-1))
	h := bloomHash(p3)
	c.m.pbloom[h>>6] |= 1 << (h & 63)
	return id
}

// prefix3 packs the first 3 bytes of b; the parser guarantees a wildcard
// has at least 3 characters before it.
func prefix3[S string | []byte](b S) uint32 {
	return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
}

func bloomHash(p3 uint32) uint32 { return (p3 * 0x9E3779B1) >> 16 }

// key returns a key node for a literal or a pattern.
func (c *compiler) key(k string, mask uint8) *node {
	if query.Wild(k) {
		return &node{kind: kKey, key: c.pattern(k), mask: mask}
	}
	return &node{kind: kKey, key: c.literal(k), mask: mask}
}

func (c *compiler) compile(n query.Node) *node {
	switch n := n.(type) {
	case *query.And:
		out := &node{kind: kAnd}
		for _, x := range n.X {
			out.kids = append(out.kids, c.compile(x))
		}
		return out
	case *query.Or:
		out := &node{kind: kOr}
		for _, x := range n.X {
			out.kids = append(out.kids, c.compile(x))
		}
		return out
	case *query.Not:
		return &node{kind: kNot, kids: []*node{c.compile(n.X)}}
	case *query.Near:
		return &node{kind: kNear, kids: []*node{c.compile(n.X), c.compile(n.Y)},
			dist: int32(n.Dist), ordered: n.Ordered}
	case *query.Term:
		return c.term(n)
	}
	panic(fmt.Sprintf("topics: unknown query node %T", n))
}

func (c *compiler) term(t *query.Term) *node {
	switch t.Kind {
	case query.TermValue:
		kind := map[query.Field]nodeKind{query.FieldSite: kSite, query.FieldLang: kLang, query.FieldPlatform: kPlatform}[t.Field]
		return &node{kind: kind, val: t.Value}
	case query.TermHashtag:
		return c.key("#"+t.Value, fieldMask(t.Field, mTitle|mText|mMeta))
	case query.TermCashtag:
		return c.key("$"+t.Value, fieldMask(t.Field, mTitle|mText|mMeta))
	case query.TermMention:
		return c.key("@"+t.Value, fieldMask(t.Field, mTitle|mText|mHandle|mMeta))
	}
	mask := fieldMask(t.Field, mTitle|mText)
	var words *node
	if len(t.Tokens) == 1 {
		words = c.key(t.Tokens[0], mask)
	} else {
		words = &node{kind: kPhrase, mask: mask}
		best := -1.0
		for i, w := range t.Tokens {
			if query.Wild(w) {
				words.elems = append(words.elems, c.pattern(w))
			} else {
				words.elems = append(words.elems, c.literal(w))
			}
			if s := keyScore(w); s > best {
				best, words.anchor = s, i
			}
		}
	}
	if t.Field == query.FieldAuthor && len(t.Tokens) == 1 {
		// author:x is the handle x or the word x in the display name.
		return &node{kind: kOr, kids: []*node{words, c.key("@"+t.Tokens[0], mHandle)}}
	}
	return words
}

// fieldMask restricts the default fields of a term to its query field.
func fieldMask(f query.Field, def uint8) uint8 {
	switch f {
	case query.FieldTitle:
		return def & mTitle
	case query.FieldText:
		return def & mText
	case query.FieldAuthor:
		if def&mHandle != 0 {
			return mHandle
		}
		return mName
	}
	return def
}

// has reports whether id is a compiled topic.
func (m *Matcher) has(id string) bool {
	_, ok := slices.BinarySearchFunc(m.rules, id, func(r rule, id string) int { return strings.Compare(r.id, id) })
	return ok
}
