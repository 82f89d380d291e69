// Package sentiment is earshot's sentiment stage: a score in [-1, 1] and a
// label for each mention, from VADER's rules and lexicon (Hutto & Gilbert
// 2014) re-implemented without allocation and with earshot's changes for
// social-media text (see README.md). Mentions in a language the scorer does
// not cover are labelled unknown.
package sentiment

import (
	"math"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/earshot-dev/earshot/pipeline"
)

// Sentiment is a score in [-1, 1] and its label (pipeline.SentimentPositive,
// …Neutral, …Negative or …Unknown).
type Sentiment struct {
	Score float64
	Label string
}

// Scorer scores English text. It is safe for concurrent use and allocates
// nothing per call once warm.
type Scorer struct {
	lx   *lexicon
	p    params
	pool sync.Pool
	// splitTags: Signals reads camel-case hashtags as words (SignalScorer).
	splitTags bool
	// emoShapes has, per first byte, a bit per length of the lexicon's
	// valenced entries that are not only letters and digits (":)", "<3",
	// "d:"): a run whose shape is not there is no emoticon.
	emoShapes [256]uint16
	// idiomShapes has, per first byte, a bit per length (the last bit: 63
	// bytes or more) of the multi-word expressions: a phrase whose shape
	// is not there is not one.
	idiomShapes [256]uint64
}

// params are the scorer's knobs; defaultParams holds the shipped values.
type params struct {
	posThreshold float64 // label positive at or above
	negThreshold float64 // label negative at or below
	negScope     int     // words after a negator that it reaches, within its clause
	negScalePos  float64 // a negated positive valence is multiplied by this
	negScaleNeg  float64 // a negated negative valence ("not bad") is multiplied by this
	elongIncr    float64 // added to a valenced word written elongated ("gooood")
	butBefore    float64
	butAfter     float64
	concede      bool    // "although X, Y": weight X down and Y up
	boosterLex   bool    // a booster that boosts nothing keeps its own valence ("incredible movie")
	noDet        float64 // valence of "no" before a word without valence ("no picture")
	stems        bool    // look up unknown words by their stem ("beautifully" -> "beautiful")
	minAbs       float64 // lexicon valences weaker than this are ignored
	alpha        float64 // normalisation: x / sqrt(x² + alpha)
	negWeight    float64 // negative valences are multiplied by this before summing
}

func defaultParams() params {
	return params{
		posThreshold: 0.05,
		negThreshold: -0.05,
		negScope:     3,
		negScalePos:  negScalar,
		negScaleNeg:  negScalar,
		elongIncr:    boostIncr,
		butBefore:    butBefore,
		butAfter:     butAfter,
		concede:      true,
		boosterLex:   true,
		noDet:        -1.2,
		stems:        true,
		minAbs:       0.6,
		alpha:        alpha,
		negWeight:    1.2,
	}
}

// token kinds.
const (
	kWord uint8 = iota
	kEmo        // emoticon or emoji: valence only, never negated or boosted
	kPunct
)

type token struct {
	lo, hi int32 // lower-case form in scratch.buf
	kind   uint8
	punct  byte
	caps   bool // a word in ALL CAPS (two letters or more)
	elong  bool // a letter repeated three times or more ("sooo")
	dead   bool // consumed by an idiom
	e      entry
}

type scratch struct {
	buf  []byte
	toks []token
	vals []float64
	// recent: lookupRecent's answers for recent words, allocated on first use.
	recent []recentSlot
}

var (
	defaultOnce   sync.Once
	defaultScorer *Scorer
	defaultErr    error
)

// Default returns the shared scorer with the shipped lexicon and settings.
// It panics only if the lexicon compiled into the binary cannot be read.
func Default() *Scorer {
	defaultOnce.Do(func() {
		defaultScorer, defaultErr = NewScorer()
	})
	if defaultErr != nil {
		panic("sentiment: " + defaultErr.Error())
	}
	return defaultScorer
}

// Score scores text with the default scorer.
func Score(text string) Sentiment { return Default().Score(text) }

// NewScorer builds a scorer from the VADER lexicon plus earshot's additions.
func NewScorer() (*Scorer, error) {
	lx, err := buildLexicon()
	if err != nil {
		return nil, err
	}
	return newScorer(lx, defaultParams()), nil
}

func newScorer(lx *lexicon, p params) *Scorer {
	s := &Scorer{lx: lx, p: p}
	for w, e := range lx.words {
		if e.flags&fLex != 0 && len(w) >= 2 && len(w) <= 12 && !isAlnum(w) {
			s.emoShapes[w[0]] |= 1 << len(w)
		}
	}
	for p := range lx.idioms {
		if len(p) > 0 {
			s.idiomShapes[p[0]] |= 1 << min(len(p), 63)
		}
	}
	s.pool.New = func() any {
		return &scratch{buf: make([]byte, 0, 512), toks: make([]token, 0, 64), vals: make([]float64, 0, 64)}
	}
	return s
}

// Score returns the sentiment of text; empty or sentiment-free text is
// neutral with score 0.
func (s *Scorer) Score(text string) Sentiment {
	v := s.Compound(text)
	return Sentiment{Score: v, Label: s.label(v)}
}

func (s *Scorer) label(v float64) string {
	switch {
	case v >= s.p.posThreshold:
		return pipeline.SentimentPositive
	case v <= s.p.negThreshold:
		return pipeline.SentimentNegative
	}
	return pipeline.SentimentNeutral
}

// Compound returns the score in [-1, 1] without a label.
func (s *Scorer) Compound(text string) float64 {
	sc := s.pool.Get().(*scratch)
	v := s.compound(sc, text)
	if cap(sc.buf) <= 64<<10 {
		s.pool.Put(sc)
	}
	return v
}

func (s *Scorer) compound(sc *scratch, text string) float64 {
	exclaims, questions := s.tokenize(sc, text)
	sum := s.sum(sc)
	if sum == 0 {
		return 0
	}
	emph := float64(min(exclaims, maxExclaims)) * exclaimIncr
	switch {
	case questions > 3:
		emph += questionMax
	case questions > 1:
		emph += float64(questions) * questionIncr
	}
	if sum > 0 {
		sum += emph
	} else {
		sum -= emph
	}
	return sum / math.Sqrt(sum*sum+s.p.alpha)
}

func (sc *scratch) word(t *token) []byte { return sc.buf[t.lo:t.hi] }

// tokenize splits text into words, emoticons, emoji and punctuation, with
// lower-case forms in sc.buf. Handles and URLs are skipped. It returns the
// counts of '!' and '?' in the text.
func (s *Scorer) tokenize(sc *scratch, text string) (exclaims, questions int) {
	sc.buf = sc.buf[:0]
	sc.toks = sc.toks[:0]
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		if isSpace(r) {
			i += n
			continue
		}
		// One run of non-space runes; '!' and '?' are counted on the way
		// (a byte of a multi-byte rune is never ASCII).
		j := i
		for j < len(text) {
			c := text[j]
			if c < utf8.RuneSelf {
				if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
					break
				}
				if c == '!' {
					exclaims++
				} else if c == '?' {
					questions++
				}
				j++
				continue
			}
			r2, n2 := utf8.DecodeRuneInString(text[j:])
			if isSpace(r2) {
				break
			}
			j += n2
		}
		run := text[i:j]
		i = j
		if run[0] == '@' || hasURLPrefix(run) {
			continue
		}
		if s.emoticon(sc, run) {
			continue
		}
		s.scanRun(sc, run)
	}
	s.resolve(sc)
	return exclaims, questions
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || (r > 127 && unicode.IsSpace(r))
}

func hasURLPrefix(s string) bool {
	return len(s) > 7 && (strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "www."))
}

// emoticon recognises a whitespace-delimited emoticon (":)", ":-D", "<3"),
// possibly followed by sentence punctuation.
func (s *Scorer) emoticon(sc *scratch, run string) bool {
	if len(run) < 2 || len(run) > 12 {
		return false
	}
	// Both cores looked up below start with run[0].
	if s.emoShapes[run[0]] == 0 || isAlnum(run) {
		return false
	}
	core := run
	for range 2 {
		// A run whose shape no emoticon has is not looked up.
		if s.emoShapes[core[0]]&(1<<len(core)) != 0 {
			if e, ok := s.lx.words[core]; ok && e.flags&fLex != 0 {
				lo := int32(len(sc.buf))
				sc.buf = append(sc.buf, core...)
				sc.toks = append(sc.toks, token{lo: lo, hi: int32(len(sc.buf)), kind: kEmo, e: entry{val: e.val, flags: fLex}})
				for k := len(core); k < len(run); k++ {
					sc.toks = append(sc.toks, token{kind: kPunct, punct: run[k]})
				}
				return true
			}
		}
		// Lower-case emoticons (":d") and a trailing full stop or bang.
		if core == run {
			for len(core) > 0 && (core[len(core)-1] == '.' || core[len(core)-1] == ',' || core[len(core)-1] == '!' || core[len(core)-1] == '?') {
				core = core[:len(core)-1]
			}
			if core == run || len(core) < 2 || isAlnum(core) {
				return false
			}
		}
	}
	return false
}

// isAlnum reports whether s is only ASCII letters and digits.
func isAlnum(s string) bool {
	for k := 0; k < len(s); k++ {
		c := s[k]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// scanRun splits a non-space run into words, emoji and punctuation. ASCII
// letters and digits take a short path that does what the general one
// does for them; the buffers are kept in locals and stored at the end.
func (s *Scorer) scanRun(sc *scratch, run string) {
	buf, toks := sc.buf, sc.toks
	inWord := false
	var cur token
	var upper, lower int
	var last rune
	repeat := 0
	for k := 0; k < len(run); {
		if c := run[k]; c < utf8.RuneSelf {
			lc := c
			switch {
			case c >= 'a' && c <= 'z':
				lower++
			case c >= 'A' && c <= 'Z':
				lc = c + ('a' - 'A')
				upper++
			case c >= '0' && c <= '9':
			default:
				goto general
			}
			if !inWord {
				inWord = true
				cur = token{lo: int32(len(buf)), kind: kWord}
				upper, lower, last, repeat = 0, 0, 0, 0
				if lc != c {
					upper = 1
				} else if c >= 'a' {
					lower = 1
				}
			}
			if rune(lc) == last && lc >= 'a' { // a repeated letter
				repeat++
				if repeat >= 2 {
					cur.elong = true
				}
			} else {
				repeat = 0
			}
			last = rune(lc)
			buf = append(buf, lc)
			cur.hi = int32(len(buf))
			k++
			continue
		}
	general:
		r, n := utf8.DecodeRuneInString(run[k:])
		k += n
		switch {
		case r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)):
			if !inWord {
				inWord = true
				cur = token{lo: int32(len(buf)), kind: kWord}
				upper, lower, last, repeat = 0, 0, 0, 0
			}
			lr := r
			if unicode.IsUpper(r) {
				upper++
				lr = unicode.ToLower(r)
			} else if unicode.IsLower(r) {
				lower++
			}
			if lr == last && unicode.IsLetter(lr) {
				repeat++
				if repeat >= 2 {
					cur.elong = true
				}
			} else {
				repeat = 0
			}
			last = lr
			buf = utf8.AppendRune(buf, lr)
			cur.hi = int32(len(buf))
		case inWord && (r == '\'' || r == '’' || r == '‘' || r == '-'):
			if r != '-' {
				r = '\''
			}
			buf = append(buf, byte(r))
			last, repeat = 0, 0
		case r == '.' || r == '!' || r == '?' || r == ',' || r == ';' || r == ':' || r == '…':
			if inWord {
				buf, toks = endWord(buf, toks, cur, upper >= 2 && lower == 0)
				inWord = false
			}
			p := byte(r)
			if r == '…' {
				p = '.'
			}
			toks = append(toks, token{kind: kPunct, punct: p})
		default:
			if inWord {
				buf, toks = endWord(buf, toks, cur, upper >= 2 && lower == 0)
				inWord = false
			}
			if v, ok := s.lx.emoji[r]; ok {
				toks = append(toks, token{kind: kEmo, e: entry{val: v, flags: fLex}})
			}
			// Skin tones, joiners, '#', '&' and other symbols carry nothing.
		}
	}
	if inWord {
		buf, toks = endWord(buf, toks, cur, upper >= 2 && lower == 0)
	}
	sc.buf, sc.toks = buf, toks
}

// endWord ends the word cur (its bytes end buf): a trailing apostrophe or
// hyphen is dropped, and a word left empty gives no token.
func endWord(buf []byte, toks []token, cur token, caps bool) ([]byte, []token) {
	for cur.hi > cur.lo && (buf[cur.hi-1] == '\'' || buf[cur.hi-1] == '-') {
		cur.hi--
	}
	buf = buf[:cur.hi]
	if cur.hi > cur.lo {
		cur.caps = caps
		toks = append(toks, cur)
	}
	return buf, toks
}

// resolve looks up every word, undoing elongation when the elongated form is
// unknown, and marks idioms.
func (s *Scorer) resolve(sc *scratch) {
	toks := sc.toks
	for i := range toks {
		t := &toks[i]
		if t.kind != kWord {
			continue
		}
		if e, ok := s.lookupRecent(sc, sc.word(t), t.elong); ok {
			t.e = e
		}
	}
	// Idioms: two to four consecutive words.
	for i := range toks {
		t := &toks[i]
		if t.kind != kWord || t.e.flags&fIdiom == 0 {
			continue
		}
		mark := len(sc.buf)
		sc.buf = append(sc.buf, sc.word(t)...)
		for k := i + 1; k < len(toks) && k < i+4 && toks[k].kind == kWord; k++ {
			sc.buf = append(sc.buf, ' ')
			sc.buf = append(sc.buf, sc.word(&toks[k])...)
			p := sc.buf[mark:]
			if s.idiomShapes[p[0]]&(1<<min(len(p), 63)) == 0 {
				continue
			}
			if v, ok := s.lx.idioms[string(p)]; ok {
				for d := i; d < k; d++ {
					toks[d].dead = true
					toks[d].e = entry{}
				}
				toks[k].e = entry{val: v, flags: fLex}
			}
		}
		sc.buf = sc.buf[:mark]
	}
	// "kind of" / "sort of" dampen what follows.
	for i := 0; i+1 < len(toks); i++ {
		w := sc.word(&toks[i])
		if toks[i].kind == kWord && toks[i+1].kind == kWord && (string(w) == "kind" || string(w) == "sort") &&
			string(sc.word(&toks[i+1])) == "of" {
			toks[i].e = entry{}
			toks[i+1].e = entry{boost: -boostIncr, flags: fBooster}
		}
	}
}

// lookup finds a word's entry: the word itself, else (when elong) the word
// with its elongations undone, else its stem, else a "-n't" negator.
func (s *Scorer) lookup(sc *scratch, w []byte, elong bool) (entry, bool) {
	e, ok := s.lx.words[string(w)]
	if !ok && elong {
		e, ok = s.unelongate(sc, w)
	}
	if !ok && s.p.stems && len(w) > 4 {
		e, ok = s.stem(sc, w)
	}
	if !ok && len(w) > 3 && (strings.HasSuffix(string(w), "n't")) {
		e, ok = entry{flags: fNegator}, true
	}
	return e, ok
}

// Words repeat, within a text and from one text to the next: a scratch
// keeps the answers of lookup for the last words of up to recentWordMax
// bytes it saw, one per slot of a direct-mapped table indexed by a hash of
// the word (the lexicon map is large, and a lookup of it misses the cache).
const (
	recentSlots   = 1024
	recentWordMax = 16
)

type recentSlot struct {
	n     uint8 // bytes of the word; 0: empty
	elong bool
	ok    bool
	word  [recentWordMax]byte
	e     entry
}

// lookupRecent is lookup, answered from sc's recent words when it can.
func (s *Scorer) lookupRecent(sc *scratch, w []byte, elong bool) (entry, bool) {
	if len(w) == 0 || len(w) > recentWordMax {
		return s.lookup(sc, w, elong)
	}
	if sc.recent == nil {
		sc.recent = make([]recentSlot, recentSlots)
	}
	h := uint32(2166136261) // FNV-1a
	for _, c := range w {
		h = (h ^ uint32(c)) * 16777619
	}
	h ^= h >> 15
	var key [recentWordMax]byte
	copy(key[:], w)
	sl := &sc.recent[h%recentSlots]
	if int(sl.n) == len(w) && sl.elong == elong && sl.word == key {
		return sl.e, sl.ok
	}
	e, ok := s.lookup(sc, w, elong)
	*sl = recentSlot{n: uint8(len(w)), elong: elong, ok: ok, word: key, e: e}
	return e, ok
}

// suffixes tried, in order, on a word the lexicon lacks, with what replaces
// them ("happily" -> "happy", "disappointingly" -> "disappointing").
var suffixes = [...]struct{ cut, add string }{
	{"ily", "y"}, {"ly", ""}, {"iness", "y"}, {"ness", ""}, {"iest", "y"}, {"ier", "y"}, {"est", ""},
}

// noStem are words whose stem means something else ("likely" is not "like").
var noStem = map[string]bool{"likely": true, "unlikely": true, "likeliest": true, "lately": true,
	"hardly": true, "shortly": true, "barely": true, "merely": true, "highly": true}

// stem looks w up without a common suffix. Only lexicon valences are taken,
// so a stem never turns a word into a negator or booster.
func (s *Scorer) stem(sc *scratch, w []byte) (entry, bool) {
	if noStem[string(w)] {
		return entry{}, false
	}
	for _, sf := range suffixes {
		if len(w) < len(sf.cut)+3 || string(w[len(w)-len(sf.cut):]) != sf.cut {
			continue
		}
		mark := len(sc.buf)
		sc.buf = append(sc.buf, w[:len(w)-len(sf.cut)]...)
		sc.buf = append(sc.buf, sf.add...)
		e, ok := s.lx.words[string(sc.buf[mark:])]
		sc.buf = sc.buf[:mark]
		if ok && e.flags&fLex != 0 {
			return entry{val: e.val, flags: fLex}, true
		}
	}
	return entry{}, false
}

// unelongate looks w up with runs of three or more letters cut to two, then
// to one ("goooood" -> "good", "sooo" -> "so").
func (s *Scorer) unelongate(sc *scratch, w []byte) (entry, bool) {
	for _, keep := range [2]int{2, 1} {
		mark := len(sc.buf)
		for k := 0; k < len(w); {
			j := k + 1
			for j < len(w) && w[j] == w[k] {
				j++
			}
			n := j - k
			if n >= 3 {
				n = keep
			}
			for range n {
				sc.buf = append(sc.buf, w[k])
			}
			k = j
		}
		e, ok := s.lx.words[string(sc.buf[mark:])]
		sc.buf = sc.buf[:mark]
		if ok {
			return e, true
		}
	}
	return entry{}, false
}

func sentenceEnd(p byte) bool { return p == '.' || p == '!' || p == '?' }
func clauseBreak(p byte) bool { return p == ',' || p == ';' || p == ':' }
func sign(v float64) float64 {
	if v < 0 {
		return -1
	}
	return 1
}

// sum is VADER's valence sum with earshot's changes: per-sentence contrast,
// negation scoped to its clause, elongation emphasis, and boosters that keep
// their own valence when they boost nothing.
func (s *Scorer) sum(sc *scratch) float64 {
	toks := sc.toks
	if cap(sc.vals) < len(toks) {
		sc.vals = make([]float64, len(toks), 2*len(toks))
	}
	sc.vals = sc.vals[:len(toks)]
	vals := sc.vals
	clear(vals)
	words, caps := 0, 0
	for i := range toks {
		if toks[i].kind == kWord {
			words++
			if toks[i].caps {
				caps++
			}
		}
	}
	capDiff := caps > 0 && caps < words

	for i := range toks {
		t := &toks[i]
		if t.e.flags&fLex == 0 || t.dead {
			continue
		}
		v := t.e.val
		if v < s.p.minAbs && v > -s.p.minAbs {
			continue
		}
		if t.kind == kEmo {
			vals[i] = v
			continue
		}
		if t.e.flags&fBooster != 0 {
			// A booster boosts the next valenced word; one that boosts
			// nothing ("an incredible cast") keeps its own valence.
			if !s.p.boosterLex || s.nextValenced(sc, i) {
				continue
			}
		}
		if string(sc.word(t)) == "no" && i+1 < len(toks) && toks[i+1].kind == kWord {
			if toks[i+1].e.flags&fLex != 0 {
				continue // "no good": a negator here, see negate
			}
			v = s.p.noDet
			if v == 0 {
				continue
			}
		} else if string(sc.word(t)) == "no" && i+1 < len(toks) && toks[i+1].kind == kPunct {
			continue // "No, …" / "No. 1": an answer or an abbreviation
		}
		if t.caps && capDiff {
			v += sign(v) * capsIncr
		}
		if t.elong {
			v += sign(v) * s.p.elongIncr
		}
		// Boosters among the three words before, within the sentence.
		back := 0
		for j := i - 1; j >= 0 && back < 3; j-- {
			b := &toks[j]
			if b.kind == kPunct {
				if sentenceEnd(b.punct) {
					break
				}
				continue
			}
			if b.kind != kWord {
				continue
			}
			back++
			if b.e.flags&fBooster == 0 || b.dead {
				continue
			}
			inc := b.e.boost
			if v < 0 {
				inc = -inc
			}
			if b.caps && capDiff {
				inc += sign(v) * capsIncr
			}
			switch back {
			case 2:
				inc *= booster2Scale
			case 3:
				inc *= booster3Scale
			}
			v += inc
		}
		// "good af"
		if i+1 < len(toks) && toks[i+1].kind == kWord && toks[i+1].e.flags&fPostBoost != 0 {
			v += sign(v) * toks[i+1].e.boost
		}
		v = s.negate(sc, i, v)
		vals[i] = v
	}
	s.contrast(sc, vals)
	var sum float64
	for _, v := range vals {
		if v < 0 {
			v *= s.p.negWeight
		}
		sum += v
	}
	return sum
}

// nextValenced reports whether one of the two words after i, in its clause,
// carries valence.
func (s *Scorer) nextValenced(sc *scratch, i int) bool {
	toks := sc.toks
	seen := 0
	for k := i + 1; k < len(toks) && seen < 2; k++ {
		t := &toks[k]
		if t.kind == kPunct {
			return false
		}
		if t.kind != kWord {
			continue
		}
		seen++
		if t.e.flags&fLex != 0 && t.e.flags&fBooster == 0 && !t.dead {
			return true
		}
	}
	return false
}

// negate applies a negator within negScope words before i in the same clause.
func (s *Scorer) negate(sc *scratch, i int, v float64) float64 {
	toks := sc.toks
	back := 0
	for j := i - 1; j >= 0 && back < s.p.negScope; j-- {
		b := &toks[j]
		if b.kind == kPunct {
			if sentenceEnd(b.punct) || clauseBreak(b.punct) {
				break
			}
			continue
		}
		if b.kind != kWord {
			continue
		}
		back++
		if b.dead {
			continue
		}
		w := string(sc.word(b))
		if b.e.flags&fContrast != 0 {
			break
		}
		if w == "least" {
			if j > 0 && toks[j-1].kind == kWord {
				p := string(sc.word(&toks[j-1]))
				if p == "at" || p == "very" {
					continue
				}
			}
			return v * negScalar
		}
		if w == "no" || b.e.flags&fNegator != 0 {
			if w == "not" && s.wordAt(sc, j+1, "only") {
				continue // "not only good but great"
			}
			// "without a doubt" is not a negation; "never so good" is emphasis.
			if w == "without" && i-j <= 3 && s.wordAt(sc, j+1, "doubt") {
				continue
			}
			if w == "never" && (s.wordAt(sc, j+1, "so") || s.wordAt(sc, j+1, "this")) {
				return v * neverScale
			}
			if v > 0 {
				return v * s.p.negScalePos
			}
			return v * s.p.negScaleNeg
		}
	}
	return v
}

func (s *Scorer) wordAt(sc *scratch, i int, w string) bool {
	return i < len(sc.toks) && sc.toks[i].kind == kWord && string(sc.word(&sc.toks[i])) == w
}

// contrast weights each sentence around its first contrastive word: what
// comes before "but" counts half, what follows one and a half times. A
// concessive clause ("although it looks good, …") counts half and the rest of
// its sentence one and a half times.
func (s *Scorer) contrast(sc *scratch, vals []float64) {
	toks := sc.toks
	start := 0
	for i := 0; i <= len(toks); i++ {
		if i < len(toks) && !(toks[i].kind == kPunct && sentenceEnd(toks[i].punct)) {
			continue
		}
		s.contrastSentence(sc, vals, start, i)
		start = i + 1
	}
}

func (s *Scorer) contrastSentence(sc *scratch, vals []float64, from, to int) {
	toks := sc.toks
	for i := from; i < to; i++ {
		t := &toks[i]
		if t.kind != kWord || t.dead {
			continue
		}
		if t.e.flags&fContrast != 0 {
			for k := from; k < i; k++ {
				vals[k] *= s.p.butBefore
			}
			for k := i + 1; k < to; k++ {
				vals[k] *= s.p.butAfter
			}
			return
		}
		if s.p.concede && t.e.flags&fConcede != 0 {
			end := i + 1
			for end < to && !(toks[end].kind == kPunct && clauseBreak(toks[end].punct)) {
				end++
			}
			if end >= to {
				return // nothing outside the clause to weigh against
			}
			for k := from; k < to; k++ {
				if k >= i && k < end {
					vals[k] *= s.p.butBefore
				} else {
					vals[k] *= s.p.butAfter
				}
			}
			return
		}
	}
}

// Signals returns the lexicon's evidence for text: the compound score and
// the sums of the positive and of the negative valences after negation,
// boosters and contrast (VADER's -4 … 4 scale; neg is ≤ 0). The learned
// model uses them as features.
func (s *Scorer) Signals(text string) (compound, pos, neg float64) {
	if s.splitTags {
		text = splitHashtags(text)
	}
	sc := s.pool.Get().(*scratch)
	compound = s.compound(sc, text)
	for _, v := range sc.vals {
		if v > 0 {
			pos += v
		} else {
			neg += v
		}
	}
	if cap(sc.buf) <= 64<<10 {
		s.pool.Put(sc)
	}
	return compound, pos, neg
}

// SentenceSignals is Signals with, besides, the compound of the text's
// most negative and most positive sentence and of its last sentence
// (sentences end at '.', '!', '?' or ';'; the valences are those of the
// whole text, after negation, boosters and contrast). A post that tells a
// story (a fault, then its fix, then praise) shows it in these.
func (s *Scorer) SentenceSignals(text string) (compound, pos, neg, minSent, maxSent, lastSent float64) {
	if s.splitTags {
		text = splitHashtags(text)
	}
	sc := s.pool.Get().(*scratch)
	compound = s.compound(sc, text)
	var cur float64
	seen := false
	norm := func(x float64) float64 { return x / math.Sqrt(x*x+s.p.alpha) }
	end := func() {
		c := norm(cur)
		if !seen {
			minSent, maxSent = c, c
			seen = true
		}
		minSent, maxSent, lastSent = min(minSent, c), max(maxSent, c), c
		cur = 0
	}
	words := 0
	for i, v := range sc.vals {
		if v > 0 {
			pos += v
		} else {
			neg += v
		}
		t := &sc.toks[i]
		cur += v
		if t.kind != kPunct {
			words++
		} else if sentenceEnd(t.punct) || t.punct == ';' {
			if words > 0 {
				end()
			}
			words = 0
		}
	}
	if words > 0 {
		end()
	}
	if cap(sc.buf) <= 64<<10 {
		s.pool.Put(sc)
	}
	return compound, pos, neg, minSent, maxSent, lastSent
}
