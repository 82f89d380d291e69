package query

// The tokenizer as it was before asciiWord copied words whole and the rune
// classes came from a table (commit 6d6c6ca), kept to prove the new one
// gives the same tokens (TestTokenizeMatchesFormer) and to measure it beside
// the new one (BenchmarkTokenizeFormer).

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// formerTokenizer splits text into folded tokens. Text and query terms go through
// the same tokenizer, so a query matches exactly what it would match if it
// were itself a post.
//
// Words are maximal runs of letters and digits (combining marks continue a
// word); every other character separates words. Han ideographs, kana and
// symbols such as emoji are one token each, so a CJK phrase matches as a run
// of consecutive characters wherever it appears, without a dictionary.
// Scripts written without spaces other than CJK (Thai, Lao, Khmer, Burmese)
// are not segmented: a word there matches only a whole space-delimited run.
//
// Folding: compatibility decomposition (NFKD: fullwidth letters and
// ligatures become plain letters), combining marks removed (é → e, İ → i),
// lower case, and a few letters that do not decompose mapped to their
// unaccented spelling (ß → ss, ı → i, ø → o, ł → l, đ/ð → d, æ → ae, œ → oe,
// þ → th, final ς → σ).
//
// A formerTokenizer is not safe for concurrent use; reuse one per goroutine.
type formerTokenizer struct {
	Buf    []byte  // folded forms of all tokens since Reset
	Tokens []Token // word tokens since Reset
	Sigils []Token // hashtag, mention and cashtag tokens since Reset

	// Wildcards keeps '*' and '?' inside words (query mode).
	Wildcards bool
	// NoSigils disables hashtag, mention and cashtag tokens.
	NoSigils bool

	tmp []byte
}

// Reset forgets all tokens, keeping the allocated memory.
func (t *formerTokenizer) Reset() {
	t.Buf = t.Buf[:0]
	t.Tokens = t.Tokens[:0]
	t.Sigils = t.Sigils[:0]
}

// Folded returns the folded form of tok.
func (t *formerTokenizer) Folded(tok Token) []byte { return t.Buf[tok.FStart:tok.FEnd] }

// formerWordRune reports whether r can start or continue a word.
func formerWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Nl, r)
}

// formerMarkRune reports whether r continues a word without starting one.
func formerMarkRune(r rune) bool {
	return r >= 0x300 && unicode.IsMark(r)
}

// formerSoloRune reports whether r is a token on its own: ideographs, kana and
// symbols (emoji). Skin-tone modifiers, variation selectors and joiners are
// not tokens at all, so 👍🏽 is the token 👍.
func formerSoloRune(r rune) bool {
	if r < 0x2E80 {
		return r >= 0x2100 && unicode.Is(unicode.So, r)
	}
	switch {
	case r == 0x30FC || r == 0xFF70: // prolonged sound mark
		return true
	case r >= 0x1F3FB && r <= 0x1F3FF: // skin tones
		return false
	}
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.So)
}

func formerWild(r rune) bool { return r == '*' || r == '?' }

// formerAsciiFold maps ASCII letters and digits to their folded form, and every
// other ASCII byte to 0.
var formerAsciiFold = func() (t [utf8.RuneSelf]byte) {
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c
	}
	for c := byte('a'); c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = c, c
	}
	return t
}()

// Tokenize appends the tokens of s. Word positions count from 0 within s.
func (t *formerTokenizer) Tokenize(s string) {
	var words int32
	n := len(s)
	prev := rune(' ')
	for i := 0; i < n; {
		if c := s[i]; c < utf8.RuneSelf && !t.Wildcards {
			// Fast path for ASCII, most of most posts.
			if formerAsciiFold[c] != 0 {
				i = t.asciiWord(s, i, words)
				words++
				prev = 'a'
				continue
			}
			if (c == '#' || c == '@' || c == '$') && !t.NoSigils && prev != 'a' && prev != '&' && prev != '.' && !formerWordRune(prev) {
				if end := formerSigilEnd(s, i+1, rune(c)); end > i+1 {
					t.addSigil(s, i, end, rune(c), words)
				}
			}
			prev = rune(c)
			i++
			continue
		}
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		switch {
		case formerSoloRune(r):
			start := len(t.Buf)
			t.Buf = t.fold(t.Buf, s[i:i+size])
			if len(t.Buf) == start { // a symbol that folds to nothing stands for itself
				t.Buf = append(t.Buf, s[i:i+size]...)
			}
			t.Tokens = append(t.Tokens, Token{Start: int32(i), End: int32(i + size),
				FStart: int32(start), FEnd: int32(len(t.Buf)), Kind: Word, Word: words, Words: 1})
			words++
		case formerWordRune(r) || t.Wildcards && formerWild(r):
			end := t.wordEnd(s, i+size)
			t.addWord(s, i, end, words)
			words++
			i = end
			prev = 'a'
			continue
		case (r == '#' || r == '@' || r == '$') && !t.NoSigils && !formerWordRune(prev) && prev != '&' && prev != '.':
			if end := formerSigilEnd(s, i+1, r); end > i+1 {
				t.addSigil(s, i, end, r, words)
			}
		}
		prev = r
		i += size
	}
}

// asciiWord appends the word starting at s[i], an ASCII letter or digit,
// and returns its end.
func (t *formerTokenizer) asciiWord(s string, i int, words int32) int {
	start := len(t.Buf)
	j := i
	for ; j < len(s); j++ {
		c := s[j]
		if c >= utf8.RuneSelf || formerAsciiFold[c] == 0 {
			break
		}
		t.Buf = append(t.Buf, formerAsciiFold[c])
	}
	if j < len(s) && s[j] >= utf8.RuneSelf {
		if r, _ := utf8.DecodeRuneInString(s[j:]); !formerSoloRune(r) && (formerWordRune(r) || formerMarkRune(r)) {
			// The word goes on in another script or with an accent.
			t.Buf = t.Buf[:start]
			end := t.wordEnd(s, j)
			t.addWord(s, i, end, words)
			return end
		}
	}
	t.Tokens = append(t.Tokens, Token{Start: int32(i), End: int32(j), FStart: int32(start),
		FEnd: int32(len(t.Buf)), Kind: Word, Word: words, Words: 1})
	return j
}

// wordEnd returns the end of the word that continues at i.
func (t *formerTokenizer) wordEnd(s string, i int) int {
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if formerWordRune(rune(c)) || t.Wildcards && formerWild(rune(c)) {
				i++
				continue
			}
			return i
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if formerSoloRune(r) || !formerWordRune(r) && !formerMarkRune(r) {
			return i
		}
		i += size
	}
	return i
}

// formerSigilEnd returns the end of the body of a hashtag, mention or cashtag
// whose body starts at i, or i when there is none.
func formerSigilEnd(s string, i int, sigil rune) int {
	start := i
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '_' || formerWordRune(r) || i > start && formerMarkRune(r) {
			if i == start && sigil == '$' && !unicode.IsLetter(r) {
				return start // $5 is money, not a ticker
			}
			i += size
			continue
		}
		break
	}
	return i
}

// addSigil appends a sigil token for s[i:end] and the word tokens of its body.
func (t *formerTokenizer) addSigil(s string, i, end int, sigil rune, words int32) {
	idx := len(t.Sigils)
	fstart := len(t.Buf)
	t.Buf = append(t.Buf, byte(sigil))
	t.Buf = t.fold(t.Buf, s[i+1:end])
	kind := Hashtag
	switch sigil {
	case '@':
		kind = Mention
	case '$':
		kind = Cashtag
	}
	t.Sigils = append(t.Sigils, Token{Start: int32(i), End: int32(end), FStart: int32(fstart),
		FEnd: int32(len(t.Buf)), Kind: kind, Word: words})
	before := len(t.Tokens)
	// The body's words are tokenized by the main loop after the sigil; count
	// them here so the sigil token knows its word range.
	for j := i + 1; j < end; {
		r, size := utf8.DecodeRuneInString(s[j:])
		switch {
		case formerSoloRune(r):
			before++
		case formerWordRune(r):
			j = t.wordEnd(s, j+size)
			before++
			continue
		}
		j += size
	}
	t.Sigils[idx].Words = int32(before - len(t.Tokens))
}

// addWord appends the word token s[i:end].
func (t *formerTokenizer) addWord(s string, i, end int, words int32) {
	start := len(t.Buf)
	t.Buf = t.fold(t.Buf, s[i:end])
	if len(t.Buf) == start { // letters that fold to nothing stand for themselves
		t.Buf = append(t.Buf, s[i:end]...)
	}
	t.Tokens = append(t.Tokens, Token{Start: int32(i), End: int32(end), FStart: int32(start),
		FEnd: int32(len(t.Buf)), Kind: Word, Word: words, Words: 1})
}

// fold appends the folded form of w to dst.
func (t *formerTokenizer) fold(dst []byte, w string) []byte {
	ascii := true
	for i := 0; i < len(w); i++ {
		if w[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		for i := 0; i < len(w); i++ {
			c := w[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if formerWordRune(rune(c)) || t.Wildcards && formerWild(rune(c)) {
				dst = append(dst, c)
			}
		}
		return dst
	}
	if out, ok := t.foldTable(dst, w); ok {
		return out
	}
	return t.foldGeneral(dst, w)
}

// foldGeneral is fold for any text: NFKD, then rune by rune.
func (t *formerTokenizer) foldGeneral(dst []byte, w string) []byte {
	t.tmp = norm.NFKD.AppendString(t.tmp[:0], w)
	start, jamo := len(dst), false
	for _, r := range string(t.tmp) {
		jamo = jamo || r >= 0x1100 && r <= 0x11FF
		dst = t.foldRune(dst, r)
	}
	if jamo { // recompose Hangul syllables, which NFKD split into letters
		t.tmp = append(t.tmp[:0], dst[start:]...)
		dst = norm.NFC.Append(dst[:start], t.tmp...)
	}
	return dst
}

// foldRune appends the folded form of r, one rune of a decomposed (NFKD)
// word: marks dropped, lower case, the extra mappings.
func (t *formerTokenizer) foldRune(dst []byte, r rune) []byte {
	if unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) {
		return dst
	}
	r = unicode.ToLower(r)
	switch r {
	case 'ß':
		return append(dst, "ss"...)
	case 'æ':
		return append(dst, "ae"...)
	case 'œ':
		return append(dst, "oe"...)
	case 'þ':
		return append(dst, "th"...)
	case 'ı':
		r = 'i'
	case 'ø':
		r = 'o'
	case 'ł':
		r = 'l'
	case 'đ', 'ð':
		r = 'd'
	case 'ħ':
		r = 'h'
	case 'ς':
		r = 'σ'
	}
	if formerWordRune(r) || unicode.Is(unicode.Mc, r) || formerSoloRune(r) || t.Wildcards && formerWild(r) {
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// AppendFold appends the folded form of s, read as one word, to dst:
// characters other than letters and digits are dropped ("Nike_Support" →
// "nikesupport").
func (t *formerTokenizer) AppendFold(dst []byte, s string) []byte { return t.fold(dst, s) }

// formerFold returns the folded form of s as one string: the folded words of s
// joined by single spaces. formerFold("Café  CRÈME") == "cafe creme".
func formerFold(s string) string {
	var t formerTokenizer
	t.NoSigils = true
	t.Tokenize(s)
	out := make([]byte, 0, len(t.Buf)+len(t.Tokens))
	for i, tok := range t.Tokens {
		if i > 0 {
			out = append(out, ' ')
		}
		out = append(out, t.Folded(tok)...)
	}
	return string(out)
}

// formerTableFoldEnd bounds the runes folded by table: Latin-1, Latin
// Extended-A/B, IPA, Greek, Cyrillic, Armenian, Hebrew and Arabic, the
// letters of most non-ASCII words in posts.
const formerTableFoldEnd = 0x800

// formerRuneFold[r] is the folded form of the rune r < formerTableFoldEnd, as the
// general path (NFKD, marks dropped, lower case, the extra mappings) folds
// it alone; formerNoTableFold marks a rune that must take the general path (a
// combining mark, or one whose decomposition starts with one, which NFKD
// may reorder with its neighbours).
var formerRuneFold = func() (t [formerTableFoldEnd]string) {
	var tok formerTokenizer
	for r := rune(utf8.RuneSelf); r < formerTableFoldEnd; r++ {
		s := string(r)
		d := norm.NFKD.String(s)
		first, _ := utf8.DecodeRuneInString(d)
		if norm.NFD.PropertiesString(s).CCC() != 0 || norm.NFD.PropertiesString(string(first)).CCC() != 0 {
			t[r] = formerNoTableFold
			continue
		}
		t[r] = string(tok.foldGeneral(nil, s))
	}
	return t
}()

// formerNoTableFold is not a folded form: folds never contain 0xff.
const formerNoTableFold = "\xff"

// foldTable appends the folded form of w to dst when every rune of w folds
// alone: it is below formerTableFoldEnd and not marked formerNoTableFold, or it is a
// starter NFKD does not change (and not Hangul). Then NFKD decomposes each
// rune on its own and reorders nothing across runes, so folding rune by
// rune gives what foldGeneral gives for the whole word. ok is false (and
// dst unchanged) otherwise.
func (t *formerTokenizer) foldTable(dst []byte, w string) (_ []byte, ok bool) {
	start := len(dst)
	for i := 0; i < len(w); {
		c := w[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if formerWordRune(rune(c)) || t.Wildcards && formerWild(rune(c)) {
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(w[i:])
		switch {
		case r == utf8.RuneError:
			return dst[:start], false
		case r < formerTableFoldEnd:
			f := formerRuneFold[r]
			if f == formerNoTableFold {
				return dst[:start], false
			}
			dst = append(dst, f...)
		case r >= 0x4E00 && r <= 0x9FFF || r >= 0xAC00 && r <= 0xD7A3:
			// CJK ideographs fold to themselves; so do Hangul syllables
			// (NFKD splits them into letters and foldGeneral puts them
			// back; a syllable's last letter never joins the first of the
			// next, which is a leading consonant).
			dst = append(dst, w[i:i+size]...)
		case formerHangul(r):
			// NFKD splits syllables into letters that foldGeneral
			// recomposes across runes.
			return dst[:start], false
		default:
			// A starter NFKD leaves alone (a Han ideograph, kana, an
			// emoji, Devanagari letters) folds alone.
			p := norm.NFKD.PropertiesString(w[i : i+size])
			if p.CCC() != 0 || len(p.Decomposition()) != 0 {
				return dst[:start], false
			}
			dst = t.foldRune(dst, r)
		}
		i += size
	}
	return dst, true
}

// formerHangul reports whether r is a Hangul syllable or conjoining letter (jamo).
func formerHangul(r rune) bool {
	return r >= 0x1100 && r <= 0x11FF || r >= 0xA960 && r <= 0xA97F || r >= 0xAC00 && r <= 0xD7FF
}
