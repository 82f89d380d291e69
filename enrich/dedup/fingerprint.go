package dedup

import (
	"math/bits"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/text/unicode/norm"
)

// maxWords bounds the words fingerprinted per text: the first 256 words of
// an article decide whether it is a copy, and a 64 KiB post costs no more
// than a long tweet.
const maxWords = 256

// token kinds.
const (
	tokWord    = iota
	tokHashtag // a word written as #word
	tokSep     // " - ", " | ", " — ", ": " … where a source name or a "BREAKING:" may hang
)

type token struct {
	h    uint64
	kind uint8
	// lowered ASCII prefix, to recognise a few words ("rt", "via", "breaking")
	word [12]byte
	n    uint8
}

func (t *token) is(w string) bool { return int(t.n) == len(w) && string(t.word[:t.n]) == w }

// words is the normalised word sequence of one text.
type words struct {
	toks [maxWords + 64]token
	n    int
}

// Fingerprint returns the 64-bit SimHash of text after normalisation, and
// false when the text has fewer than minWords words (then it has no
// near-duplicate fingerprint: "thanks!" is not a story).
//
// Normalisation: links, @handles and a leading "RT" are dropped; hashtag
// runs at the start and end are dropped and '#' removed inside a sentence
// ("new #AcmePhone" = "new AcmePhone"); a trailing "via", a syndication
// suffix of up to four words after " - ", " | ", " — " or " – " ("… - Reuters")
// and a leading "BREAKING:" style prefix are dropped; words are lower-cased
// with accents folded, and punctuation, emoji and extra white space do not
// count. CJK ideographs and kana count one word each, since those scripts
// are written without spaces.
//
// Features are the words and adjacent word pairs, hashed with xxhash, so
// the fingerprint is the same on every replica and release with the same
// Version.
func Fingerprint(text string, minWords int) (uint64, bool) {
	var w words
	w.tokenize(text)
	return w.simhash(minWords)
}

// tokenize splits s into tokens, dropping links and handles.
func (w *words) tokenize(s string) {
	var buf [64]byte
	prev := ' '
	hashtag := false
	for i := 0; i < len(s) && w.n < len(w.toks)-1; {
		c := s[i]
		boundary := !isWordRune(prev)
		switch {
		case boundary && (c == 'h' || c == 'H') && (hasPrefixFold(s[i:], "https://") || hasPrefixFold(s[i:], "http://")),
			boundary && (c == 'w' || c == 'W') && hasPrefixFold(s[i:], "www."):
			i = skipNonSpace(s, i)
			prev = ' '
			continue
		case boundary && c == '@':
			j := i + 1
			for j < len(s) && (isASCIIWord(s[j]) || ((s[j] == '.' || s[j] == '@' || s[j] == '-') && j+1 < len(s) && isASCIIWord(s[j+1]))) {
				j++
			}
			if j > i+1 {
				i = j
				prev = 'x'
				continue
			}
		case c == '#' && boundary:
			hashtag = true
			i++
			prev = ' '
			continue
		case (c == '-' || c == '|' || c == ':') && i > 0 && i+1 < len(s) && s[i+1] == ' ' && (c == ':' || s[i-1] == ' '):
			w.add(token{kind: tokSep})
			i++
			prev = ' '
			continue
		case c == 0xE2 && i > 0 && s[i-1] == ' ' && (strings.HasPrefix(s[i:], "— ") || strings.HasPrefix(s[i:], "– ")):
			w.add(token{kind: tokSep})
			i += 3
			prev = ' '
			continue
		}

		if c < utf8.RuneSelf {
			if !isASCIIWord(c) || c == '_' {
				if c != '\'' || !isWordRune(prev) { // "hasn't" is one word
					hashtag = false
				}
				prev = rune(c)
				i++
				continue
			}
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == '’' && isWordRune(prev) {
				prev = r
				i += size
				continue
			}
			if !isWordRune(r) {
				hashtag = false
				prev = r
				i += size
				continue
			}
			if isIdeograph(r) { // one word per ideograph or kana
				n := fold(buf[:0], r)
				w.addWord(n, hashtag)
				hashtag = false
				prev = ' '
				i += size
				continue
			}
		}
		// A word: letters, digits and marks, apostrophes inside it dropped.
		b := buf[:0]
		j := i
		for j < len(s) {
			c := s[j]
			if c < utf8.RuneSelf {
				if isASCIIWord(c) && c != '_' {
					if len(b) < cap(b) {
						b = append(b, c|asciiLowerBit(c))
					}
					j++
					continue
				}
				// "hasn't" and "line-up" are one word: "hasnt", "lineup".
				if (c == '\'' || c == '-') && j+1 < len(s) && isASCIIWord(s[j+1]) && j > i {
					j++
					continue
				}
				break
			}
			r, size := utf8.DecodeRuneInString(s[j:])
			if r == '’' && j+size < len(s) && isASCIIWord(s[j+size]) {
				j += size
				continue
			}
			if !isWordRune(r) || isIdeograph(r) {
				break
			}
			if len(b) < cap(b)-4 {
				b = fold(b, r)
			}
			j += size
		}
		if len(b) > 0 {
			w.addWord(b, hashtag)
		}
		hashtag = false
		prev = 'x'
		i = j
	}
}

func asciiLowerBit(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return 0x20
	}
	return 0
}

func (w *words) addWord(b []byte, hashtag bool) {
	t := token{h: xxhash.Sum64(b), kind: tokWord}
	if hashtag {
		t.kind = tokHashtag
	}
	t.n = uint8(copy(t.word[:], b))
	if len(b) > len(t.word) {
		t.n = 0 // too long to be one of the recognised words
	}
	w.add(t)
}

func (w *words) add(t token) {
	if w.n < len(w.toks) {
		w.toks[w.n] = t
		w.n++
	}
}

// prefixes dropped before a leading separator: "BREAKING: …", "Just in - …".
var prefixes = map[string]bool{
	"breaking": true, "breaking news": true, "just in": true, "update": true, "updated": true,
	"developing": true, "exclusive": true, "watch": true, "read": true, "new": true, "live": true,
	"opinion": true, "analysis": true, "video": true, "photos": true, "urgent": true, "ultima hora": true,
	"ultimahora": true, "eilmeldung": true, "urgente": true, "alerte": true,
}

// trim drops the parts that differ between copies of one story and returns
// the words left, separators removed.
func (w *words) trim() []token {
	t := w.toks[:w.n]
	// Leading "RT" (handles are already gone).
	if len(t) > 0 && t[0].kind == tokWord && t[0].is("rt") {
		t = t[1:]
	}
	for len(t) > 0 && t[0].kind == tokSep {
		t = t[1:]
	}
	// Leading prefix of one or two words before a separator.
	for k := 1; k <= 2 && k < len(t); k++ {
		if t[k].kind != tokSep {
			continue
		}
		p := string(t[0].word[:t[0].n])
		if k == 2 {
			p += " " + string(t[1].word[:t[1].n])
		}
		if prefixes[p] {
			t = t[k+1:]
		}
		break
	}
	// Hashtag runs at either end, a trailing "via", trailing separators.
	for {
		n := len(t)
		for len(t) > 0 && (t[0].kind == tokHashtag || t[0].kind == tokSep) {
			t = t[1:]
		}
		for len(t) > 0 && (t[len(t)-1].kind == tokHashtag || t[len(t)-1].kind == tokSep ||
			(t[len(t)-1].kind == tokWord && t[len(t)-1].is("via"))) {
			t = t[:len(t)-1]
		}
		if len(t) == n {
			break
		}
	}
	// Syndication suffix: at most four words after the last separator, when
	// at least five come before it.
	for k := len(t) - 1; k >= 0 && k >= len(t)-5; k-- {
		if t[k].kind == tokSep {
			if countWords(t[:k]) >= 5 {
				t = t[:k]
			}
			break
		}
	}
	// Drop the remaining separators in place.
	out := t[:0]
	for _, x := range t {
		if x.kind != tokSep {
			out = append(out, x)
		}
	}
	if len(out) > maxWords {
		out = out[:maxWords]
	}
	return out
}

func countWords(t []token) int {
	n := 0
	for _, x := range t {
		if x.kind != tokSep {
			n++
		}
	}
	return n
}

// simhash computes the SimHash over words and word pairs.
//
// Features are every word except stopwords, and every pair of adjacent
// words. On 25k real review and Reddit snippets, words plus pairs kept
// unrelated texts as far apart as 3-word shingles did, while a copy with one
// word added or cut moved about half as many bits; leaving stopwords out
// as single features removed the bias that crowded the index's buckets.
func (w *words) simhash(minWords int) (uint64, bool) {
	t := w.trim()
	if len(t) < minWords || len(t) < 3 {
		return 0, false
	}
	var acc simhashAcc
	for i := range t {
		if !stopwords.has(t[i].h) {
			acc.add(unigram(t[i].h))
		}
		if i+1 < len(t) {
			acc.add(bigram(t[i].h, t[i+1].h))
		}
	}
	return acc.sum(), true
}

// simhashAcc counts, per bit, how many features have it set. Counters are
// packed eight to a uint64 (one byte each) so a feature costs eight adds,
// and flushed before a byte could overflow.
type simhashAcc struct {
	packed [8]uint64 // packed[k] byte i counts bit 8k+i
	counts [64]int32
	n      int32 // features added
	since  int   // features since the last flush
}

// spread[v] has byte i set to bit i of v.
var spread = func() (t [256]uint64) {
	for v := range 256 {
		for i := range 8 {
			t[v] |= uint64(v>>i&1) << (8 * i)
		}
	}
	return t
}()

func (a *simhashAcc) add(f uint64) {
	for k := range 8 {
		a.packed[k] += spread[byte(f>>(8*k))]
	}
	a.n++
	if a.since++; a.since == 255 {
		a.flush()
	}
}

func (a *simhashAcc) flush() {
	for k := range 8 {
		p := a.packed[k]
		for i := range 8 {
			a.counts[8*k+i] += int32(p >> (8 * i) & 0xFF)
		}
		a.packed[k] = 0
	}
	a.since = 0
}

func (a *simhashAcc) sum() uint64 {
	a.flush()
	var sig uint64
	for b := range 64 {
		if 2*a.counts[b] > a.n {
			sig |= 1 << b
		}
	}
	return sig
}

func unigram(h uint64) uint64 { return fmix(h ^ 0x9E3779B97F4A7C15) }

// bigram combines two word hashes, order-sensitively.
func bigram(a, b uint64) uint64 {
	return fmix(bits.RotateLeft64(a*0x9E3779B185EBCA87, 31) ^ b*0xC2B2AE3D27D4EB4F)
}

// fmix is the murmur3 64-bit finaliser.
func fmix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xFF51AFD7ED558CCD
	h ^= h >> 33
	h *= 0xC4CEB9FE1A85EC53
	h ^= h >> 33
	return h
}

// stopwords are the most frequent words of the languages earshot sees most,
// by their hash. They count in word pairs but not alone: as single features
// they would pull every fingerprint the same way, crowding the index's band
// lists (and they say nothing about which story a text tells).
var stopwords = func() hashSet {
	var m []uint64
	for w := range strings.FieldsSeq(`a an and are as at be but by for from has have he her his i if in
		is it its me my no not of on or our she so that the their them they this to was we were what
		when which who will with you your do does did just can about all also been more than then
		there out up one would could into only very its im dont get got like
		el la los las de del y en un una que es por con para se al lo su no como mas pero
		le les des et est pour pas une dans qui sur au ce il je ne avec
		der die das und ist nicht ein eine zu den mit von auf sich dem des ich es im
		o os um uma do da dos das em para com nao e`) {
		m = append(m, xxhash.Sum64String(w))
	}
	return newHashSet(m)
}()

// foldLatin maps U+00C0–U+024F to lower-case ASCII without accents ("é" → "e",
// "ß" → "ss"); empty entries fall back to unicode.ToLower.
var foldLatin [0x250 - 0xC0]string

func init() {
	special := map[rune]string{'ß': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'ø': "o", 'Ø': "o",
		'đ': "d", 'Đ': "d", 'ł': "l", 'Ł': "l", 'þ': "th", 'Þ': "th", 'ð': "d", 'Ð': "d", 'ı': "i", 'ħ': "h", 'Ħ': "h"}
	for r := rune(0xC0); r < 0x250; r++ {
		if s, ok := special[r]; ok {
			foldLatin[r-0xC0] = s
			continue
		}
		d := norm.NFD.String(string(r))
		if base, _ := utf8.DecodeRuneInString(d); base < utf8.RuneSelf && isASCIIWord(byte(base)) {
			foldLatin[r-0xC0] = string(byte(base) | asciiLowerBit(byte(base)))
		}
	}
}

// fold appends r lower-cased with accents removed; combining marks vanish.
func fold(b []byte, r rune) []byte {
	if r >= 0xC0 && r < 0x250 {
		if s := foldLatin[r-0xC0]; s != "" {
			return append(b, s...)
		}
	}
	if unicode.Is(unicode.Mn, r) {
		return b
	}
	return utf8.AppendRune(b, unicode.ToLower(r))
}

// isIdeograph reports whether r is a CJK ideograph or kana, written without
// spaces between words.
func isIdeograph(r rune) bool {
	return (r >= 0x3040 && r <= 0x30FF) || (r >= 0x3400 && r <= 0x9FFF) || (r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x20000 && r <= 0x2FFFF)
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return isASCIIWord(byte(r))
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

func isASCIIWord(c byte) bool {
	return (c|0x20 >= 'a' && c|0x20 <= 'z') || (c >= '0' && c <= '9') || c == '_'
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// skipNonSpace returns the index of the first white space at or after i.
func skipNonSpace(s string, i int) int {
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == ' ' || c == '\n' || c == '\t' || c == '\r' {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) || isIdeograph(r) {
			return i
		}
		i += n
	}
	return i
}

// hashSet is a set of word hashes: open addressing over a table at most a
// quarter full, probed once or twice per lookup, which is cheaper than a
// Go map for this read-only use.
type hashSet struct {
	slots []uint64 // 0: empty
	shift uint
	zero  bool // whether 0 is in the set
}

func newHashSet(keys []uint64) hashSet {
	size, shift := 1, uint(64)
	for size < 4*len(keys) {
		size <<= 1
		shift--
	}
	h := hashSet{slots: make([]uint64, size), shift: shift}
	mask := uint64(size - 1)
	for _, k := range keys {
		if k == 0 {
			h.zero = true
			continue
		}
		for i := (k * 0x9E3779B97F4A7C15) >> h.shift; ; i = (i + 1) & mask {
			if h.slots[i] == 0 || h.slots[i] == k {
				h.slots[i] = k
				break
			}
		}
	}
	return h
}

func (h *hashSet) has(k uint64) bool {
	if k == 0 {
		return h.zero
	}
	mask := uint64(len(h.slots) - 1)
	for i := (k * 0x9E3779B97F4A7C15) >> h.shift; ; i = (i + 1) & mask {
		switch h.slots[i] {
		case k:
			return true
		case 0:
			return false
		}
	}
}
