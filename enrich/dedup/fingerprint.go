package dedup

import (
	"encoding/binary"
	"math/bits"
	"slices"
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

// maxTokens bounds the tokens read per text: the words fingerprinted and
// room for the separators, hashtags and suffix trimmed around them.
const maxTokens = maxWords + 64

// words is the normalised token sequence of one text, one token per index:
// its word's hash, its kind, and which of the few recognised words
// (specialWords) it is, if any.
type words struct {
	h    [maxTokens]uint64
	kind [maxTokens]uint8
	id   [maxTokens]uint8 // 1 + index in specialWords; 0: none
	n    int
}

// is reports whether token i is the recognised word id (idRT, idVia).
func (w *words) is(i int, id uint8) bool { return w.id[i] == id }

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
	return w.fingerprint(text, minWords)
}

// fingerprint is Fingerprint with w's arrays (3 KB) as scratch, so a stage
// clears them once per batch rather than once per text.
func (w *words) fingerprint(text string, minWords int) (uint64, bool) {
	w.n = 0 // tokenize writes every index below n before it is read
	w.tokenize(text)
	return w.simhash(minWords)
}

// tokenize splits s into tokens, dropping links and handles.
func (w *words) tokenize(s string) {
	var buf [64]byte
	prev := ' '
	hashtag := false
	for i := 0; i < len(s) && w.n < maxTokens-1; {
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
			w.addSep()
			i++
			prev = ' '
			continue
		case c == 0xE2 && i > 0 && s[i-1] == ' ' && (strings.HasPrefix(s[i:], "— ") || strings.HasPrefix(s[i:], "– ")):
			w.addSep()
			i += 3
			prev = ' '
			continue
		}

		if c < utf8.RuneSelf {
			if asciiLower[c] == 0 {
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
				if l := asciiLower[c]; l != 0 {
					if len(b) < cap(b) {
						b = append(b, l)
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

// asciiLower maps the ASCII letters and digits to themselves lower-cased,
// and every other byte (the '_' of isASCIIWord included) to 0.
var asciiLower = func() (t [256]byte) {
	for c := range 128 {
		if isASCIIWord(byte(c)) && c != '_' {
			t[c] = byte(c) | asciiLowerBit(byte(c))
		}
	}
	return t
}()

func asciiLowerBit(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return 0x20
	}
	return 0
}

func (w *words) addWord(b []byte, hashtag bool) {
	if w.n >= maxTokens {
		return
	}
	h := sum64(b)
	w.h[w.n] = h
	w.kind[w.n] = tokWord
	if hashtag {
		w.kind[w.n] = tokHashtag
	}
	w.id[w.n] = specialID(h, b)
	w.n++
}

func (w *words) addSep() {
	if w.n >= maxTokens {
		return
	}
	w.h[w.n], w.kind[w.n], w.id[w.n] = 0, tokSep, 0
	w.n++
}

// prefixes dropped before a leading separator: "BREAKING: …", "Just in - …".
var prefixes = map[string]bool{
	"breaking": true, "breaking news": true, "just in": true, "update": true, "updated": true,
	"developing": true, "exclusive": true, "watch": true, "read": true, "new": true, "live": true,
	"opinion": true, "analysis": true, "video": true, "photos": true, "urgent": true, "ultima hora": true,
	"ultimahora": true, "eilmeldung": true, "urgente": true, "alerte": true,
}

// specialWords are the words trim recognises: "rt", "via" and the words of
// prefixes. A token carries its index + 1 (idRT, idVia, …), found by its
// hash in specialTable and confirmed by its bytes.
var specialWords = func() []string {
	out := []string{"rt", "via"}
	for p := range prefixes {
		for w := range strings.FieldsSeq(p) {
			if !slices.Contains(out, w) {
				out = append(out, w)
			}
		}
	}
	slices.Sort(out[2:])
	return out
}()

const (
	idRT  = 1
	idVia = 2
)

// specialTable is an open-addressing table of the specialWords' ids by
// the top byte of their hash, a tenth full: a word that is none of them
// costs one probe. specialHash holds each one's hash.
var specialHash = func() []uint64 {
	hs := make([]uint64, len(specialWords)+1)
	for k, w := range specialWords {
		hs[k+1] = xxhash.Sum64String(w)
	}
	return hs
}()

var specialTable = func() (t [256]uint8) {
	for id := 1; id < len(specialHash); id++ {
		i := specialHash[id] >> 56
		for t[i] != 0 {
			i = (i + 1) & 255
		}
		t[i] = uint8(id)
	}
	return t
}()

// specialID returns 1 + the index of b (whose hash is h) in specialWords,
// or 0.
func specialID(h uint64, b []byte) uint8 {
	for i := h >> 56; ; i = (i + 1) & 255 {
		id := specialTable[i]
		if id == 0 {
			return 0
		}
		if specialHash[id] == h && string(b) == specialWords[id-1] {
			return id
		}
	}
}

// trim drops the parts that differ between copies of one story and returns
// the range of tokens left, in which separators are to be skipped.
func (w *words) trim() (lo, hi int) {
	lo, hi = 0, w.n
	kind := w.kind[:w.n]
	// Leading "RT" (handles are already gone).
	if lo < hi && kind[lo] == tokWord && w.is(lo, idRT) {
		lo++
	}
	for lo < hi && kind[lo] == tokSep {
		lo++
	}
	// Leading prefix of one or two words before a separator.
	for k := 1; k <= 2 && k < hi-lo; k++ {
		if kind[lo+k] != tokSep {
			continue
		}
		if a := w.id[lo]; a != 0 {
			p := specialWords[a-1]
			if k == 2 {
				if b := w.id[lo+1]; b != 0 {
					p += " " + specialWords[b-1]
				} else {
					p = "" // no prefix has an unrecognised word
				}
			}
			if prefixes[p] {
				lo += k + 1
			}
		}
		break
	}
	// Hashtag runs at either end, a trailing "via", trailing separators.
	for {
		n := hi - lo
		for lo < hi && (kind[lo] == tokHashtag || kind[lo] == tokSep) {
			lo++
		}
		for lo < hi && (kind[hi-1] == tokHashtag || kind[hi-1] == tokSep ||
			(kind[hi-1] == tokWord && w.is(hi-1, idVia))) {
			hi--
		}
		if hi-lo == n {
			break
		}
	}
	// Syndication suffix: at most four words after the last separator, when
	// at least five come before it.
	for k := hi - 1; k >= lo && k >= hi-5; k-- {
		if kind[k] == tokSep {
			if countWords(kind[lo:k]) >= 5 {
				hi = k
			}
			break
		}
	}
	return lo, hi
}

func countWords(kind []uint8) int {
	n := 0
	for _, k := range kind {
		if k != tokSep {
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
	lo, hi := w.trim()
	n := min(countWords(w.kind[lo:hi]), maxWords) // separators do not count
	if n < minWords || n < 3 {
		return 0, false
	}
	// Each word's unigram and its pair with the word before: the same
	// features as each word's with the word after, and a SimHash does not
	// depend on the order features are added in.
	var acc simhashAcc
	var prev uint64
	for i, k := lo, 0; k < n; i++ {
		if w.kind[i] == tokSep {
			continue
		}
		h := w.h[i]
		if !stopwords.has(h) {
			acc.add(unigram(h))
		}
		if k > 0 {
			acc.add(bigram(prev, h))
		}
		prev = h
		k++
	}
	return acc.sum(), true
}

// simhashAcc counts, per bit, how many features have it set, bit-sliced:
// bit b of plane k is bit k of bit b's count, so adding a feature is a
// ripple-carry add across the 64 counters at once. Nine planes hold counts
// up to 511, the most features a text has (maxWords words and the pairs
// between them).
type simhashAcc struct {
	p0, p1, p2, p3, p4, p5, p6, p7, p8 uint64
	n                                  uint32 // features added
}

func (a *simhashAcc) add(f uint64) {
	c := f
	c, a.p0 = a.p0&c, a.p0^c
	c, a.p1 = a.p1&c, a.p1^c
	c, a.p2 = a.p2&c, a.p2^c
	c, a.p3 = a.p3&c, a.p3^c
	c, a.p4 = a.p4&c, a.p4^c
	c, a.p5 = a.p5&c, a.p5^c
	c, a.p6 = a.p6&c, a.p6^c
	c, a.p7 = a.p7&c, a.p7^c
	a.p8 ^= c
	a.n++
}

// sum sets bit b when more than half the features have it: when bit b's
// count is at least n/2+1, compared for all 64 counters at once from the
// top plane down.
func (a *simhashAcc) sum() uint64 {
	t := a.n/2 + 1
	planes := [9]uint64{a.p0, a.p1, a.p2, a.p3, a.p4, a.p5, a.p6, a.p7, a.p8}
	gt, eq := uint64(0), ^uint64(0)
	for k := 8; k >= 0; k-- {
		if t>>k&1 == 1 {
			eq &= planes[k]
		} else {
			gt |= eq & planes[k]
			eq &^= planes[k]
		}
	}
	return gt | eq
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
	if r < rune(len(foldBMP)) {
		if l := foldBMP[r]; l != 0xFFFF {
			if l == 0 {
				return b // a mark
			}
			return utf8.AppendRune(b, rune(l))
		}
	}
	if r >= 0xAC00 && r <= 0xD7A3 { // Hangul syllables: letters without case
		return utf8.AppendRune(b, r)
	}
	if unicode.Is(unicode.Mn, r) {
		return b
	}
	return utf8.AppendRune(b, unicode.ToLower(r))
}

// foldBMP[r] is unicode.ToLower(r) for the runes below U+1000 (Greek,
// Cyrillic, Hebrew, Arabic, Indic scripts), 0 for a combining mark (Mn),
// and 0xFFFF where fold must ask package unicode.
var foldBMP = func() (t [0x1000]uint16) {
	for r := range rune(len(t)) {
		switch l := unicode.ToLower(r); {
		case unicode.Is(unicode.Mn, r):
			t[r] = 0
		case l > 0 && l < 0xFFFF:
			t[r] = uint16(l)
		default:
			t[r] = 0xFFFF
		}
	}
	return t
}()

// isIdeograph reports whether r is a CJK ideograph or kana, written without
// spaces between words.
func isIdeograph(r rune) bool {
	return (r >= 0x3040 && r <= 0x30FF) || (r >= 0x3400 && r <= 0x9FFF) || (r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x20000 && r <= 0x2FFFF)
}

func isWordRune(r rune) bool {
	if uint32(r) < uint32(len(wordRunes)*64) {
		return wordRunes[r>>6]&(1<<(r&63)) != 0
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// wordRunes has bit r set for the letters, digits and marks below U+20000
// (emoji included, which are none of them), and for '_'.
var wordRunes = func() (t [0x20000 / 64]uint64) {
	set := func(r rune) {
		if int(r>>6) < len(t) {
			t[r>>6] |= 1 << (r & 63)
		}
	}
	for _, tab := range []*unicode.RangeTable{unicode.Letter, unicode.Digit, unicode.Mark} {
		for _, g := range tab.R16 {
			for r := rune(g.Lo); r <= rune(g.Hi); r += rune(g.Stride) {
				set(r)
			}
		}
		for _, g := range tab.R32 {
			for r := rune(g.Lo); r <= rune(g.Hi) && int(r>>6) < len(t); r += rune(g.Stride) {
				set(r)
			}
		}
	}
	set('_')
	return t
}()

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

// xxh64 constants.
const (
	prime1 uint64 = 11400714785074694791
	prime2 uint64 = 14029467366897019727
	prime3 uint64 = 1609587929392839161
	prime4 uint64 = 9650029242287828579
	prime5 uint64 = 2870177450012600261
)

// sum64 is xxhash.Sum64(b), written out for words shorter than 32 bytes
// (all but a few), which saves the call into the assembly version.
func sum64(b []byte) uint64 {
	if len(b) >= 32 {
		return xxhash.Sum64(b)
	}
	h := prime5 + uint64(len(b))
	for ; len(b) >= 8; b = b[8:] {
		k := binary.LittleEndian.Uint64(b) * prime2
		k = bits.RotateLeft64(k, 31) * prime1
		h ^= k
		h = bits.RotateLeft64(h, 27)*prime1 + prime4
	}
	if len(b) >= 4 {
		h ^= uint64(binary.LittleEndian.Uint32(b)) * prime1
		h = bits.RotateLeft64(h, 23)*prime2 + prime3
		b = b[4:]
	}
	for _, c := range b {
		h ^= uint64(c) * prime5
		h = bits.RotateLeft64(h, 11) * prime1
	}
	h ^= h >> 33
	h *= prime2
	h ^= h >> 29
	h *= prime3
	h ^= h >> 32
	return h
}
