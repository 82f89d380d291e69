// Package model is earshot's learned sentiment classifier: a linear softmax
// over hashed word, word-bigram and character n-gram features (the
// fastText-style bag of n-grams, without the embedding layer), plus a few
// dense features from the VADER lexicon score. This package holds the
// feature extraction shared by the trainer and the stage, the learner, and
// the compact weights format.
package model

import (
	"math"
	"slices"
	"unicode"
	"unicode/utf8"
)

// Classes, in the order of the model's outputs.
const (
	Negative = iota
	Neutral
	Positive
	NumClasses
)

// Feature is one hashed feature: a bucket and its value.
type Feature struct {
	Bucket uint32
	Value  float32
}

// Options are the feature extraction settings; they are stored in the
// weights file so the stage extracts exactly what the model was trained on.
type Options struct {
	Bits     uint8 // log2 of the number of buckets
	MinN     uint8 // character n-grams from MinN …
	MaxN     uint8 // … to MaxN runes, over "<word>"
	Bigrams  bool  // word bigrams
	LexBins  bool  // the VADER compound as binned indicator features
	LangBias bool  // a per-language bias feature when the language is known
	// NormPow: the text features of a post are each worth 1/n^(NormPow/10)
	// for n features (5: unit norm; smaller lets long posts say more).
	NormPow uint8
	// LangWords: each word is also a feature of its language (when known),
	// so a word can weigh differently in two languages.
	LangWords bool
	// TagParts: a camel-case #hashtag ("#AcmeFail") also gives its parts
	// as words ("acme", "fail"), so a tag says what its words say.
	TagParts bool
	// Contrast: a word after a contrast word ("but", "aber", "mais", …) in
	// the same sentence is also a feature of its own, so what follows
	// "but" can weigh more than what precedes it.
	Contrast bool
	// Sentences: the lexicon compound of the most negative, the most
	// positive and the last sentence, binned (Lex.MinSent, MaxSent,
	// LastSent).
	Sentences bool
}

// DefaultOptions are the shipped feature settings.
func DefaultOptions() Options {
	return Options{Bits: 20, MinN: 2, MaxN: 5, Bigrams: true, LexBins: true, LangBias: true, NormPow: 5, LangWords: true, TagParts: true, Contrast: true, Sentences: true}
}

// Extractor turns text into features. It is not safe for concurrent use:
// keep one per goroutine (it reuses its buffers and allocates nothing once
// warm).
type Extractor struct {
	o     Options
	mask  uint32
	word  []byte
	runes []int  // byte offsets in seq of the runes of "<word>"
	seq   []byte // "<word>"
	// The character n-grams of recent words (see addChars), allocated on
	// first use.
	gramSlots   []gramSlot
	gramBuckets []uint32
	maxGrams    int
	// negated: the words since the last negator, up to punctuation, are in
	// its scope.
	negated bool
	// contrasted: the words since a contrast word, up to the end of the
	// sentence, are in its scope.
	contrasted bool
	norm       float32 // the value the text features of the last Extract share
	lang       uint32  // hash of the language of the text being extracted, 0 if unknown
	// text holds the buckets of the text features of the last text (they
	// share the value norm), out the features returned: the text features
	// and then the dense ones (Extract), or only the dense ones (Logits).
	text []uint32
	out  []Feature
}

// NewExtractor returns an extractor for o.
func NewExtractor(o Options) *Extractor {
	return &Extractor{o: o, mask: 1<<o.Bits - 1, word: make([]byte, 0, 64), runes: make([]int, 0, 64), text: make([]uint32, 0, 512), out: make([]Feature, 0, 512)}
}

const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

func hashBytes(h uint32, b []byte) uint32 {
	for _, c := range b {
		h ^= uint32(c)
		h *= fnvPrime
	}
	return h
}

func hashString(h uint32, s string) uint32 {
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= fnvPrime
	}
	return h
}

func mix(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// Feature kinds, hashed in first so that a word and an n-gram with the same
// bytes land in different buckets.
const (
	kindWord     = 'w'
	kindBigram   = 'b'
	kindChar     = 'c'
	kindLex      = 'v'
	kindLang     = 'l'
	kindBias     = 'x'
	kindNeg      = 'n'
	kindContrast = 'k'
)

func seed(kind byte) uint32 { return (fnvOffset ^ uint32(kind)) * fnvPrime }

// Lex is the lexicon scorer's evidence for a text (see sentiment.Scorer.Signals).
type Lex struct {
	Compound float64 // in [-1, 1]
	Pos, Neg float64 // sums of positive and of negative valences (Neg ≤ 0)
	// The compounds of the most negative, the most positive and the last
	// sentence (see sentiment.Scorer.SentenceSignals).
	MinSent, MaxSent, LastSent float64
}

// Extract returns the features of text; lang is the post's ISO 639-1
// language or "" when unknown, and lex the lexicon's evidence.
// The returned slice is valid until the next call.
func (e *Extractor) Extract(text, lang string, lex Lex) []Feature {
	return e.extract(text, lang, lex, true)
}

// Logits returns m's class scores for text, as m.Logits(e.Extract(text,
// lang, lex)) does, without writing the text features' shared value into
// each of them.
func (e *Extractor) Logits(m *Model, text, lang string, lex Lex) [NumClasses]float32 {
	dense := e.extract(text, lang, lex, false)
	return m.logits(e.text, e.norm, dense)
}

// extract is Extract; unless fill, it returns only the dense features, and
// the text features are only in e.text and e.norm.
func (e *Extractor) extract(text, lang string, lex Lex, fill bool) []Feature {
	e.text = e.text[:0]
	e.out = e.out[:0]
	var prev uint32 // hash of the previous word, 0 at the start
	nwords := 0
	e.negated = false
	e.contrasted = false
	e.lang = 0
	if lang != "" {
		e.lang = hashString(seed(kindLang), lang) | 1
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			i++
			continue
		}
		// One whitespace-delimited token.
		j := i
		for j < len(text) && text[j] != ' ' && text[j] != '\t' && text[j] != '\n' && text[j] != '\r' {
			j++
		}
		tok := text[i:j]
		i = j
		switch {
		case tok[0] == '@' && len(tok) > 1:
			prev = e.addWord(prev, "@user")
			nwords++
			continue
		case hasURLPrefix(tok):
			prev = e.addWord(prev, "http")
			nwords++
			continue
		}
		if e.o.TagParts && tok[0] == '#' {
			body := tok[1:]
			for k, r := range body {
				if !isWordRune(r) {
					body = body[:k]
					break
				}
			}
			for _, part := range TagParts(body) {
				e.word = appendLower(e.word[:0], part)
				e.addWordBytes(0, e.word)
				nwords++
			}
		}
		// Split the token into words (letters, digits, marks, apostrophes
		// inside a word) and single symbols (emoji, punctuation).
		for k := 0; k < len(tok); {
			r, n := utf8.DecodeRuneInString(tok[k:])
			if isWordRune(r) {
				e.word = e.word[:0]
				var last rune
				reps := 0
			word:
				for k < len(tok) {
					if c := tok[k]; c < utf8.RuneSelf {
						// ASCII: what the general case below does, inline.
						switch {
						case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '\'':
						case c >= 'A' && c <= 'Z':
							c += 'a' - 'A'
						default:
							break word
						}
						if rune(c) == last {
							reps++
						} else {
							reps = 0
							last = rune(c)
						}
						if reps < 2 {
							e.word = append(e.word, c)
						}
						k++
						continue
					}
					r, n = utf8.DecodeRuneInString(tok[k:])
					if !isWordRune(r) && !(r == '\'' || r == '’') {
						break
					}
					if r == '’' {
						r = '\''
					}
					r = unicode.ToLower(r)
					if r == last {
						reps++
					} else {
						reps = 0
						last = r
					}
					if reps < 2 { // "sooooo" -> "soo"
						e.word = utf8.AppendRune(e.word, r)
					}
					k += n
				}
				for len(e.word) > 0 && e.word[len(e.word)-1] == '\'' {
					e.word = e.word[:len(e.word)-1]
				}
				if len(e.word) == 0 {
					continue
				}
				var mh uint32
				prev, mh = e.addWordBytes(prev, e.word)
				fl := e.addChars(e.word, mh)
				if fl&wordNegator != 0 {
					e.negated = true
				}
				if e.o.Contrast && fl&wordContrast != 0 {
					e.contrasted = true
				}
				nwords++
				continue
			}
			k += n
			if r == '#' || r == '"' || r == '(' || r == ')' || unicode.IsSpace(r) || r == utf8.RuneError ||
				r == 0xFE0F || r == 0x200D || (r >= 0x1F3FB && r <= 0x1F3FF) {
				continue // joiners, variation selectors, skin tones, quotes
			}
			// A symbol: repeated runs count once ("!!!" is one "!").
			for k < len(tok) {
				r2, n2 := utf8.DecodeRuneInString(tok[k:])
				if r2 != r {
					break
				}
				k += n2
			}
			if r == '.' || r == ',' || r == '!' || r == '?' || r == ';' || r == ':' || r == '،' || r == '۔' {
				e.negated = false // negation ends at punctuation
			}
			if r == '.' || r == '!' || r == '?' || r == ';' || r == '۔' {
				e.contrasted = false // contrast ends with the sentence
			}
			var buf [4]byte
			m := utf8.EncodeRune(buf[:], r)
			prev, _ = e.addWordBytes(prev, buf[:m])
			nwords++
		}
	}
	// Sparse features share a norm of 1 over the post.
	e.norm = 0
	if len(e.text) > 0 {
		e.norm = float32(math.Pow(float64(len(e.text)), -float64(e.o.NormPow)/10))
		if fill {
			e.out = slices.Grow(e.out, len(e.text))
			for _, b := range e.text {
				e.out = append(e.out, Feature{Bucket: b, Value: e.norm})
			}
		}
	}
	e.add(mix(seed(kindBias)), 1)
	if e.o.LexBins {
		e.add(mix(hashString(seed(kindLex), lexBin(lex.Compound))), 1)
		e.add(mix(seed(kindLex)^0x5bd1e995), float32(lex.Compound))
		e.add(mix(hashString(seed(kindLex)^1, sumBin(lex.Pos))), 1)
		e.add(mix(hashString(seed(kindLex)^2, sumBin(-lex.Neg))), 1)
		if lex.Pos > 0 && lex.Neg < 0 {
			e.add(mix(seed(kindLex)^3), 1) // mixed
		}
	}
	if e.o.Sentences {
		e.add(mix(hashString(seed(kindLex)^4, lexBin(lex.MinSent))), 1)
		e.add(mix(hashString(seed(kindLex)^5, lexBin(lex.MaxSent))), 1)
		e.add(mix(hashString(seed(kindLex)^6, lexBin(lex.LastSent))), 1)
	}
	if e.o.LangBias && lang != "" {
		e.add(mix(hashString(seed(kindLang), lang)), 1)
	}
	return e.out
}

// Empty reports whether the last text extracted had no words or symbols.
func (e *Extractor) Empty() bool { return len(e.text) == 0 }

// add adds a dense feature.
func (e *Extractor) add(h uint32, v float32) {
	e.out = append(e.out, Feature{Bucket: h & e.mask, Value: v})
}

// addText adds a text feature.
func (e *Extractor) addText(h uint32) {
	e.text = append(e.text, h&e.mask)
}

func (e *Extractor) addWord(prev uint32, w string) uint32 {
	h := hashString(seed(kindWord), w)
	e.addText(mix(h))
	if e.o.Bigrams && prev != 0 {
		e.addText(mix((prev * fnvPrime) ^ h ^ seed(kindBigram)))
	}
	return h
}

// addWordBytes adds the word features of w and returns its hash and the
// mix of it (the word feature's bucket, before the mask).
func (e *Extractor) addWordBytes(prev uint32, w []byte) (h, mh uint32) {
	h = hashBytes(seed(kindWord), w)
	if e.o.LangWords && e.lang != 0 {
		e.addText(mix(h ^ e.lang))
	}
	if e.negated {
		// A word in the scope of a negation is another feature ("not good").
		e.addText(mix(h ^ seed(kindNeg)))
	}
	if e.contrasted {
		e.addText(mix(h ^ seed(kindContrast)))
	}
	mh = mix(h)
	e.addText(mh)
	if e.o.Bigrams && prev != 0 {
		e.addText(mix((prev * fnvPrime) ^ h ^ seed(kindBigram)))
	}
	return h, mh
}

// contrasts are the words after which a sentence turns, in the eight
// languages (romanised Hindi).
var contrasts = map[string]bool{
	"but": true, "however": true, "though": true, "although": true, "yet": true,
	"aber": true, "jedoch": true, "doch": true, "mais": true, "pourtant": true, "cependant": true,
	"pero": true, "sin embargo": true, "aunque": true, "ma": true, "però": true, "tuttavia": true,
	"mas": true, "porém": true, "entretanto": true, "lekin": true, "magar": true, "par": false,
	"لكن": true, "ولكن": true, "بس": true,
}

// Character n-grams of a word depend on the word alone, and words repeat
// (within a text, and from one text to the next): an Extractor keeps the
// n-gram buckets of the last words it saw, one per slot of a direct-mapped
// table indexed by the word's hash (mixed), for words of up to gramWordMax bytes.
const (
	gramSlotBits = 10
	gramSlots    = 1 << gramSlotBits
	gramWordMax  = 16
)

type gramSlot struct {
	n    uint8 // bytes of the word; 0: empty
	m    uint8 // its n-grams, in gramBuckets[slot*maxGrams:]
	fl   uint8 // wordFlags of the word
	word [gramWordMax]byte
}

// What a word is, besides its features (see wordFlags).
const (
	wordNegator  = 1 << iota // isNegator
	wordContrast             // in contrasts
)

func wordFlags(w []byte) uint8 {
	var fl uint8
	if isNegator(w) {
		fl |= wordNegator
	}
	if maybeIn(&contrastShapes, w) && contrasts[string(w)] {
		fl |= wordContrast
	}
	return fl
}

// maxCharGrams is the number of n-grams (MinN … MaxN runes, 1 and the whole
// "<w>" left out) of a word of nbytes bytes at most.
func maxCharGrams(o Options, nbytes int) int {
	nr := nbytes + 2
	total := 0
	for n := max(int(o.MinN), 2); n <= min(int(o.MaxN), nr-1); n++ {
		total += nr - n + 1
	}
	return total
}

// addChars adds the character n-grams of w (see charGrams) and returns its
// wordFlags; mh is the mix of the word's hash (its slot is in the top
// bits). A word seen last in its slot gives its
// n-grams and flags from there.
func (e *Extractor) addChars(w []byte, mh uint32) uint8 {
	if e.o.MaxN == 0 {
		return wordFlags(w)
	}
	if len(w) > gramWordMax {
		e.charGrams(w)
		return wordFlags(w)
	}
	if e.gramSlots == nil {
		e.maxGrams = maxCharGrams(e.o, gramWordMax)
		e.gramSlots = make([]gramSlot, gramSlots)
		e.gramBuckets = make([]uint32, gramSlots*e.maxGrams)
	}
	var key [gramWordMax]byte
	copy(key[:], w)
	i := int(mh >> (32 - gramSlotBits))
	sl := &e.gramSlots[i]
	grams := e.gramBuckets[i*e.maxGrams : (i+1)*e.maxGrams]
	if int(sl.n) == len(w) && sl.word == key {
		e.text = append(e.text, grams[:sl.m]...)
		return sl.fl
	}
	base := len(e.text)
	e.charGrams(w)
	added := e.text[base:]
	sl.n, sl.m, sl.fl, sl.word = uint8(len(w)), uint8(len(added)), wordFlags(w), key
	copy(grams, added)
	return sl.fl
}

// charGrams adds the character n-grams of "<w>", n from MinN to MaxN runes,
// by n and then by position: the order the model was first built with
// (Logits sums in feature order, so the order is part of the answer). Each
// n-gram's hash is FNV-1a over its bytes, '<' and '>' included. The n-grams
// that start at one rune are hashed in one pass, each extending the one
// before by a rune, and written straight to their places in e.text.
func (e *Extractor) charGrams(w []byte) {
	if e.o.MaxN == 0 {
		return
	}
	// "<w>" as bytes, and the byte offset in it of each rune.
	e.seq = append(e.seq[:0], '<')
	e.seq = append(e.seq, w...)
	e.seq = append(e.seq, '>')
	seq := e.seq
	e.runes = e.runes[:0]
	ascii := true
	for k := 0; k < len(w); k++ {
		if w[k] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	nr := len(seq) // runes of "<w>"
	if !ascii {
		e.runes = append(e.runes, 0)
		for k := 0; k < len(w); {
			_, n := utf8.DecodeRune(w[k:])
			e.runes = append(e.runes, k+1)
			k += n
		}
		e.runes = append(e.runes, len(seq)-1, len(seq))
		nr = len(e.runes) - 1
	}
	// n = 1 is never a feature, nor n = nr (the whole "<w>" is the word's).
	minN, maxN := max(int(e.o.MinN), 2), min(int(e.o.MaxN), nr-1)
	if minN > maxN {
		return
	}
	total := 0
	for n := minN; n <= maxN; n++ {
		total += nr - n + 1
	}
	base := len(e.text)
	e.text = slices.Grow(e.text, total)[:base+total]
	out := e.text[base:]
	mask := e.mask
	for s := 0; s+minN <= nr; s++ {
		h := seed(kindChar)
		off := s // the n-gram at s of the n block
		last := min(s+maxN, nr)
		for p := s; p < last; p++ {
			if ascii {
				h = (h ^ uint32(seq[p])) * fnvPrime
			} else {
				h = hashBytes(h, seq[e.runes[p]:e.runes[p+1]])
			}
			if n := p - s + 1; n >= minN {
				out[off] = mix(h) & mask
				off += nr - n + 1
			}
		}
	}
}

func sumBin(v float64) string {
	switch {
	case v <= 0:
		return "0"
	case v < 1.5:
		return "1"
	case v < 3:
		return "2"
	case v < 5:
		return "3"
	}
	return "4"
}

// negators in the eight languages (lower case; romanised Hindi).
var negators = map[string]bool{
	"not": true, "no": true, "never": true, "nothing": true, "nobody": true, "none": true, "nor": true,
	"cannot": true, "cant": true, "dont": true, "doesnt": true, "didnt": true, "isnt": true, "wasnt": true,
	"arent": true, "wont": true, "wouldnt": true, "shouldnt": true, "couldnt": true, "aint": true, "without": true,
	"nicht": true, "kein": true, "keine": true, "keinen": true, "nie": true, "niemals": true, "nichts": true,
	"ne": true, "pas": true, "jamais": true, "rien": true, "sans": true,
	"nunca": true, "nada": true, "sin": true, "tampoco": true, "ni": true,
	"non": true, "mai": true, "niente": true, "senza": true,
	"não": true, "nao": true, "nem": true, "sem": true,
	"nahi": true, "nahin": true, "nhi": true, "mat": true, "na": true,
	"لا": true, "ليس": true, "ما": true, "لم": true, "لن": true, "مش": true,
}

// wordShapes has, for each first byte, a bit per length (1 … 31 bytes) of
// the words of a set: a word whose shape is not there is not in the set, and
// most words are ruled out without a map lookup.
type wordShapes [256]uint32

func shapesOf(set map[string]bool) *wordShapes {
	var ws wordShapes
	for w, in := range set {
		if in && len(w) > 0 && len(w) < 32 {
			ws[w[0]] |= 1 << len(w)
		}
	}
	return &ws
}

// maybeIn reports whether w may be in the set ws was built from (false:
// it is not).
func maybeIn(ws *wordShapes, w []byte) bool {
	return len(w) > 0 && len(w) < 32 && ws[w[0]]&(1<<len(w)) != 0
}

var (
	negatorShapes  = *shapesOf(negators)
	contrastShapes = *shapesOf(contrasts)
)

func isNegator(w []byte) bool {
	if maybeIn(&negatorShapes, w) && negators[string(w)] {
		return true
	}
	n := len(w)
	return n > 3 && w[n-1] == 't' && w[n-2] == '\'' && w[n-3] == 'n' // "don't", "isn't"
}

func lexBin(v float64) string {
	switch {
	case v <= -0.6:
		return "--"
	case v <= -0.2:
		return "-"
	case v < -0.02:
		return "-0"
	case v <= 0.02:
		return "0"
	case v < 0.2:
		return "+0"
	case v < 0.6:
		return "+"
	}
	return "++"
}

func isWordRune(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') ||
		r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r))
}

func hasURLPrefix(s string) bool {
	return len(s) >= 4 && (s[:4] == "http" || s[:4] == "www.")
}

// TagParts splits the words of a camel-case hashtag body ("AcmeFail" →
// "Acme", "Fail"; "iPhoneBug" → "i", "Phone", "Bug"; "USAToday" → "USA",
// "Today") at lower-to-upper and letter-to-digit changes, and before the
// last capital of a run of capitals followed by a lower-case letter. It
// returns nil for a tag of one part (all one case, "acmefail", "AI"), so
// only tags whose writer marked the words give parts.
func TagParts(tag string) []string {
	var parts []string
	start := 0
	var prev rune
	for i, r := range tag {
		if !isWordRune(r) {
			return nil // "#acme_fail" and other symbols: not a camel-case tag
		}
		if i > 0 {
			next, _ := utf8.DecodeRuneInString(tag[i+utf8.RuneLen(r):])
			cut := unicode.IsLower(prev) && unicode.IsUpper(r) ||
				unicode.IsUpper(prev) && unicode.IsUpper(r) && unicode.IsLower(next) ||
				unicode.IsLetter(prev) != unicode.IsLetter(r)
			if cut && i > start {
				parts = append(parts, tag[start:i])
				start = i
			}
		}
		prev = r
	}
	if len(parts) == 0 {
		return nil
	}
	return append(parts, tag[start:])
}

func appendLower(b []byte, s string) []byte {
	for _, r := range s {
		b = utf8.AppendRune(b, unicode.ToLower(r))
	}
	return b
}
