package dedup

// The fingerprint code as it was before its fast paths (session 6), kept as
// the reference that Fingerprint must agree with on every text.

import (
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/text/unicode/norm"

	"github.com/earshot-dev/earshot/enrich/internal/sample"
	"github.com/earshot-dev/earshot/enrich/internal/stagetest"
)

// refMaxWords bounds the words fingerprinted per text: the first 256 words of
// an article decide whether it is a copy, and a 64 KiB post costs no more
// than a long tweet.
const refMaxWords = 256

// token kinds.
const (
	refTokWord    = iota
	refTokHashtag // a word written as #word
	refTokSep     // " - ", " | ", " — ", ": " … where a source name or a "BREAKING:" may hang
)

type refToken struct {
	h    uint64
	kind uint8
	// lowered ASCII prefix, to recognise a few words ("rt", "via", "breaking")
	word [12]byte
	n    uint8
}

func (t *refToken) is(w string) bool { return int(t.n) == len(w) && string(t.word[:t.n]) == w }

// words is the normalised word sequence of one text.
type refWords struct {
	toks [refMaxWords + 64]refToken
	n    int
}

// refFingerprint returns the 64-bit SimHash of text after normalisation, and
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
func refFingerprint(text string, minWords int) (uint64, bool) {
	var w refWords
	w.tokenize(text)
	return w.simhash(minWords)
}

// tokenize splits s into tokens, dropping links and handles.
func (w *refWords) tokenize(s string) {
	var buf [64]byte
	prev := ' '
	hashtag := false
	for i := 0; i < len(s) && w.n < len(w.toks)-1; {
		c := s[i]
		boundary := !refIsWordRune(prev)
		switch {
		case boundary && (c == 'h' || c == 'H') && (refHasPrefixFold(s[i:], "https://") || refHasPrefixFold(s[i:], "http://")),
			boundary && (c == 'w' || c == 'W') && refHasPrefixFold(s[i:], "www."):
			i = refSkipNonSpace(s, i)
			prev = ' '
			continue
		case boundary && c == '@':
			j := i + 1
			for j < len(s) && (refIsASCIIWord(s[j]) || ((s[j] == '.' || s[j] == '@' || s[j] == '-') && j+1 < len(s) && refIsASCIIWord(s[j+1]))) {
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
			w.add(refToken{kind: refTokSep})
			i++
			prev = ' '
			continue
		case c == 0xE2 && i > 0 && s[i-1] == ' ' && (strings.HasPrefix(s[i:], "— ") || strings.HasPrefix(s[i:], "– ")):
			w.add(refToken{kind: refTokSep})
			i += 3
			prev = ' '
			continue
		}

		if c < utf8.RuneSelf {
			if !refIsASCIIWord(c) || c == '_' {
				if c != '\'' || !refIsWordRune(prev) { // "hasn't" is one word
					hashtag = false
				}
				prev = rune(c)
				i++
				continue
			}
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == '’' && refIsWordRune(prev) {
				prev = r
				i += size
				continue
			}
			if !refIsWordRune(r) {
				hashtag = false
				prev = r
				i += size
				continue
			}
			if refIsIdeograph(r) { // one word per ideograph or kana
				n := refFold(buf[:0], r)
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
				if refIsASCIIWord(c) && c != '_' {
					if len(b) < cap(b) {
						b = append(b, c|refAsciiLowerBit(c))
					}
					j++
					continue
				}
				// "hasn't" and "line-up" are one word: "hasnt", "lineup".
				if (c == '\'' || c == '-') && j+1 < len(s) && refIsASCIIWord(s[j+1]) && j > i {
					j++
					continue
				}
				break
			}
			r, size := utf8.DecodeRuneInString(s[j:])
			if r == '’' && j+size < len(s) && refIsASCIIWord(s[j+size]) {
				j += size
				continue
			}
			if !refIsWordRune(r) || refIsIdeograph(r) {
				break
			}
			if len(b) < cap(b)-4 {
				b = refFold(b, r)
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

func refAsciiLowerBit(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return 0x20
	}
	return 0
}

func (w *refWords) addWord(b []byte, hashtag bool) {
	t := refToken{h: xxhash.Sum64(b), kind: refTokWord}
	if hashtag {
		t.kind = refTokHashtag
	}
	t.n = uint8(copy(t.word[:], b))
	if len(b) > len(t.word) {
		t.n = 0 // too long to be one of the recognised words
	}
	w.add(t)
}

func (w *refWords) add(t refToken) {
	if w.n < len(w.toks) {
		w.toks[w.n] = t
		w.n++
	}
}

// prefixes dropped before a leading separator: "BREAKING: …", "Just in - …".
var refPrefixes = map[string]bool{
	"breaking": true, "breaking news": true, "just in": true, "update": true, "updated": true,
	"developing": true, "exclusive": true, "watch": true, "read": true, "new": true, "live": true,
	"opinion": true, "analysis": true, "video": true, "photos": true, "urgent": true, "ultima hora": true,
	"ultimahora": true, "eilmeldung": true, "urgente": true, "alerte": true,
}

// trim drops the parts that differ between copies of one story and returns
// the words left, separators removed.
func (w *refWords) trim() []refToken {
	t := w.toks[:w.n]
	// Leading "RT" (handles are already gone).
	if len(t) > 0 && t[0].kind == refTokWord && t[0].is("rt") {
		t = t[1:]
	}
	for len(t) > 0 && t[0].kind == refTokSep {
		t = t[1:]
	}
	// Leading prefix of one or two words before a separator.
	for k := 1; k <= 2 && k < len(t); k++ {
		if t[k].kind != refTokSep {
			continue
		}
		p := string(t[0].word[:t[0].n])
		if k == 2 {
			p += " " + string(t[1].word[:t[1].n])
		}
		if refPrefixes[p] {
			t = t[k+1:]
		}
		break
	}
	// Hashtag runs at either end, a trailing "via", trailing separators.
	for {
		n := len(t)
		for len(t) > 0 && (t[0].kind == refTokHashtag || t[0].kind == refTokSep) {
			t = t[1:]
		}
		for len(t) > 0 && (t[len(t)-1].kind == refTokHashtag || t[len(t)-1].kind == refTokSep ||
			(t[len(t)-1].kind == refTokWord && t[len(t)-1].is("via"))) {
			t = t[:len(t)-1]
		}
		if len(t) == n {
			break
		}
	}
	// Syndication suffix: at most four words after the last separator, when
	// at least five come before it.
	for k := len(t) - 1; k >= 0 && k >= len(t)-5; k-- {
		if t[k].kind == refTokSep {
			if refCountWords(t[:k]) >= 5 {
				t = t[:k]
			}
			break
		}
	}
	// Drop the remaining separators in place.
	out := t[:0]
	for _, x := range t {
		if x.kind != refTokSep {
			out = append(out, x)
		}
	}
	if len(out) > refMaxWords {
		out = out[:refMaxWords]
	}
	return out
}

func refCountWords(t []refToken) int {
	n := 0
	for _, x := range t {
		if x.kind != refTokSep {
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
func (w *refWords) simhash(minWords int) (uint64, bool) {
	t := w.trim()
	if len(t) < minWords || len(t) < 3 {
		return 0, false
	}
	var acc refSimhashAcc
	for i := range t {
		if !refStopwords[t[i].h] {
			acc.add(refUnigram(t[i].h))
		}
		if i+1 < len(t) {
			acc.add(refBigram(t[i].h, t[i+1].h))
		}
	}
	return acc.sum(), true
}

// refSimhashAcc counts, per bit, how many features have it set. Counters are
// packed eight to a uint64 (one byte each) so a feature costs eight adds,
// and flushed before a byte could overflow.
type refSimhashAcc struct {
	packed [8]uint64 // packed[k] byte i counts bit 8k+i
	counts [64]int32
	n      int32 // features added
	since  int   // features since the last flush
}

// refSpread[v] has byte i set to bit i of v.
var refSpread = func() (t [256]uint64) {
	for v := range 256 {
		for i := range 8 {
			t[v] |= uint64(v>>i&1) << (8 * i)
		}
	}
	return t
}()

func (a *refSimhashAcc) add(f uint64) {
	for k := range 8 {
		a.packed[k] += refSpread[byte(f>>(8*k))]
	}
	a.n++
	if a.since++; a.since == 255 {
		a.flush()
	}
}

func (a *refSimhashAcc) flush() {
	for k := range 8 {
		p := a.packed[k]
		for i := range 8 {
			a.counts[8*k+i] += int32(p >> (8 * i) & 0xFF)
		}
		a.packed[k] = 0
	}
	a.since = 0
}

func (a *refSimhashAcc) sum() uint64 {
	a.flush()
	var sig uint64
	for b := range 64 {
		if 2*a.counts[b] > a.n {
			sig |= 1 << b
		}
	}
	return sig
}

func refUnigram(h uint64) uint64 { return refFmix(h ^ 0x9E3779B97F4A7C15) }

// refBigram combines two word hashes, order-sensitively.
func refBigram(a, b uint64) uint64 {
	return refFmix(bits.RotateLeft64(a*0x9E3779B185EBCA87, 31) ^ b*0xC2B2AE3D27D4EB4F)
}

// refFmix is the murmur3 64-bit finaliser.
func refFmix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xFF51AFD7ED558CCD
	h ^= h >> 33
	h *= 0xC4CEB9FE1A85EC53
	h ^= h >> 33
	return h
}

// refFoldLatin maps U+00C0–U+024F to lower-case ASCII without accents ("é" → "e",
// "ß" → "ss"); empty entries fall back to unicode.ToLower.
var refFoldLatin [0x250 - 0xC0]string

func init() {
	special := map[rune]string{'ß': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'ø': "o", 'Ø': "o",
		'đ': "d", 'Đ': "d", 'ł': "l", 'Ł': "l", 'þ': "th", 'Þ': "th", 'ð': "d", 'Ð': "d", 'ı': "i", 'ħ': "h", 'Ħ': "h"}
	for r := rune(0xC0); r < 0x250; r++ {
		if s, ok := special[r]; ok {
			refFoldLatin[r-0xC0] = s
			continue
		}
		d := norm.NFD.String(string(r))
		if base, _ := utf8.DecodeRuneInString(d); base < utf8.RuneSelf && refIsASCIIWord(byte(base)) {
			refFoldLatin[r-0xC0] = string(byte(base) | refAsciiLowerBit(byte(base)))
		}
	}
}

// refFold appends r lower-cased with accents removed; combining marks vanish.
func refFold(b []byte, r rune) []byte {
	if r >= 0xC0 && r < 0x250 {
		if s := refFoldLatin[r-0xC0]; s != "" {
			return append(b, s...)
		}
	}
	if unicode.Is(unicode.Mn, r) {
		return b
	}
	return utf8.AppendRune(b, unicode.ToLower(r))
}

// refIsIdeograph reports whether r is a CJK ideograph or kana, written without
// spaces between words.
func refIsIdeograph(r rune) bool {
	return (r >= 0x3040 && r <= 0x30FF) || (r >= 0x3400 && r <= 0x9FFF) || (r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x20000 && r <= 0x2FFFF)
}

func refIsWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return refIsASCIIWord(byte(r))
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

func refIsASCIIWord(c byte) bool {
	return (c|0x20 >= 'a' && c|0x20 <= 'z') || (c >= '0' && c <= '9') || c == '_'
}

func refHasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// refSkipNonSpace returns the index of the first white space at or after i.
func refSkipNonSpace(s string, i int) int {
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
		if unicode.IsSpace(r) || refIsIdeograph(r) {
			return i
		}
		i += n
	}
	return i
}

var refStopwords = func() map[uint64]bool {
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
	s := map[uint64]bool{}
	for _, h := range m {
		s[h] = true
	}
	return s
}()

// articleTexts builds ~1 KB article texts from the sample posts as
// enrich/all's chain benchmark does: the posts of one language joined in
// file order until the text passes 1,000 bytes.
func articleTexts() []string {
	byLang := map[string][]string{}
	var langs []string
	for _, m := range sample.Mentions() {
		if _, ok := byLang[m.Lang]; !ok {
			langs = append(langs, m.Lang)
		}
		byLang[m.Lang] = append(byLang[m.Lang], m.Text)
	}
	var out []string
	for _, l := range langs {
		posts := byLang[l]
		for start := range posts {
			var b strings.Builder
			for i := start; b.Len() < 1000; i++ {
				b.WriteString(posts[i%len(posts)])
				b.WriteString(" ")
			}
			out = append(out, strings.TrimSpace(b.String()))
		}
	}
	return out
}

// refTexts are the texts the differential tests compare on: the sample
// posts and titles, the articles, the real snippets of shared/data, and
// each of those upper-cased and lower-cased.
func refTexts(t *testing.T) []string {
	var texts []string
	for _, m := range sample.Mentions() {
		texts = append(texts, m.Text, m.Title)
	}
	texts = append(texts, articleTexts()...)
	texts = append(texts, corpus(t)...)
	for _, s := range texts[:len(texts):len(texts)] {
		texts = append(texts, strings.ToUpper(s), strings.ToLower(s))
	}
	return texts
}

func TestFingerprintAgreesWithReference(t *testing.T) {
	texts := refTexts(t)
	for _, s := range texts {
		for _, minWords := range []int{3, 5} {
			got, gotOK := Fingerprint(s, minWords)
			want, wantOK := refFingerprint(s, minWords)
			if got != want || gotOK != wantOK {
				t.Fatalf("Fingerprint(%q, %d) = %x, %v; want the reference's %x, %v", s, minWords, got, gotOK, want, wantOK)
			}
		}
	}
	t.Logf("%d texts agree", len(texts))
}

func FuzzFingerprintAgreesWithReference(f *testing.F) {
	for _, s := range sample.Texts() {
		f.Add(s)
	}
	f.Add("RT @x: BREAKING: Straße ÆRØ naïve e\u0301clair 東京タワー hasn’t line-up #a #b via - Reuters")
	f.Fuzz(func(t *testing.T, s string) {
		got, gotOK := Fingerprint(s, 5)
		want, wantOK := refFingerprint(s, 5)
		if got != want || gotOK != wantOK {
			t.Errorf("Fingerprint(%q) = %x, %v; want the reference's %x, %v", s, got, gotOK, want, wantOK)
		}
	})
}

// BenchmarkFingerprintVsReference times Fingerprint and the reference on
// the same texts (posts: the sample posts; articles: the ~1 KB articles),
// in blocks of 16 texts, alternately and each first every other block, and
// reports the medians over blocks: a pause of the process (a busy machine)
// lands in one block of one side and moves no median.
//
//	go test -run '^$' -bench FingerprintVsReference -benchtime 40000x -count 3 ./enrich/dedup/
func BenchmarkFingerprintVsReference(b *testing.B) {
	for _, c := range []struct {
		name  string
		texts []string
	}{{"posts", sample.Texts()}, {"articles", articleTexts()}} {
		b.Run(c.name, func(b *testing.B) {
			cur := func(k int) { Fingerprint(c.texts[k], 5) }
			ref := func(k int) { refFingerprint(c.texts[k], 5) }
			stagetest.BenchPair(b, len(c.texts), cur, ref, "ref")
		})
	}
}

// TestRuneTables: the tables behind isWordRune and fold answer as the
// reference's calls into package unicode do, for every rune.
func TestRuneTables(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if got, want := isWordRune(r), refIsWordRune(r); got != want {
			t.Fatalf("isWordRune(%U) = %v; want %v", r, got, want)
		}
		if !refIsWordRune(r) || r < utf8.RuneSelf {
			continue
		}
		if got, want := string(fold(nil, r)), string(refFold(nil, r)); got != want {
			t.Fatalf("fold(%U) = %q; want %q", r, got, want)
		}
	}
}

// TestSum64: sum64 is xxhash.Sum64 for every length a word can have.
func TestSum64(t *testing.T) {
	b := []byte("the quick brown fox jumps over the lazy dog, ünïcödé 東京 and more bytes")
	for n := 0; n <= len(b); n++ {
		for off := 0; off+n <= len(b) && off < 9; off++ {
			if got, want := sum64(b[off:off+n]), xxhash.Sum64(b[off:off+n]); got != want {
				t.Fatalf("sum64(%q) = %x; want %x", b[off:off+n], got, want)
			}
		}
	}
}

// TestSimhashAcc: the bit-sliced counters give the bits set in more than
// half the features, for every feature count a text can have (0 to 511),
// with features biased towards some bits as real ones are.
func TestSimhashAcc(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := range 512 {
		var acc simhashAcc
		var counts [64]int
		bias := rng.Uint64()
		for range n {
			f := rng.Uint64()
			if rng.IntN(2) == 0 {
				f |= bias
			}
			acc.add(f)
			for b := range 64 {
				counts[b] += int(f >> b & 1)
			}
		}
		var want uint64
		for b := range 64 {
			if 2*counts[b] > n {
				want |= 1 << b
			}
		}
		if got := acc.sum(); got != want {
			t.Fatalf("%d features: sum() = %x; want %x", n, got, want)
		}
	}
}
