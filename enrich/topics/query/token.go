package query

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Kind says what a Token is.
type Kind uint8

// Token kinds. A hashtag, mention or cashtag is reported as a sigil token in
// addition to the word tokens of its body, so "#apple" matches both the
// query word apple and the query hashtag #apple.
const (
	Word    Kind = iota // a run of letters and digits, or one ideograph or emoji
	Hashtag             // #tag
	Mention             // @handle
	Cashtag             // $TICKER
)

// Token is one token of a text: its byte range in the source and its folded
// form, which is Tokenizer.Buf[FStart:FEnd]. The folded form of a sigil token
// starts with its sigil ('#', '@' or '$').
type Token struct {
	Start, End   int32 // byte offsets into the tokenized string
	FStart, FEnd int32 // folded form in Tokenizer.Buf
	Kind         Kind
	// Word is the position of a word token among the words of its string; for
	// a sigil token, the position of the first word of its body, and Words is
	// how many words the body has.
	Word, Words int32
}

// Tokenizer splits text into folded tokens. Text and query terms go through
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
// A Tokenizer is not safe for concurrent use; reuse one per goroutine.
type Tokenizer struct {
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
func (t *Tokenizer) Reset() {
	t.Buf = t.Buf[:0]
	t.Tokens = t.Tokens[:0]
	t.Sigils = t.Sigils[:0]
}

// Folded returns the folded form of tok.
func (t *Tokenizer) Folded(tok Token) []byte { return t.Buf[tok.FStart:tok.FEnd] }

// wordRune reports whether r can start or continue a word.
func wordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	if c, ok := classOf(r); ok {
		return c&cWord != 0
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Nl, r)
}

// markRune reports whether r continues a word without starting one.
func markRune(r rune) bool {
	if c, ok := classOf(r); ok {
		return c&cMark != 0
	}
	return r >= 0x300 && unicode.IsMark(r)
}

// soloRune reports whether r is a token on its own: ideographs, kana and
// symbols (emoji). Skin-tone modifiers, variation selectors and joiners are
// not tokens at all, so 👍🏽 is the token 👍.
func soloRune(r rune) bool {
	if c, ok := classOf(r); ok {
		return c&cSolo != 0
	}
	if r >= 0x1F3FB && r <= 0x1F3FF { // skin tones
		return false
	}
	return r == 0xFF70 || unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.So)
}

// classEnd bounds the runes whose classes runeClass holds: every alphabet
// of the Basic Multilingual Plane, symbols, kana and the CJK ideographs.
// emojiClass holds those of the emoji blocks, emojiLo to emojiHi.
const (
	classEnd = 0xA000
	emojiLo  = 0x1F000
	emojiHi  = 0x1FC00
)

// Rune classes.
const (
	cWord  = 1 << iota // letter, digit (Nd) or letter number (Nl)
	cMark              // combining mark at or above U+0300
	cSolo              // ideograph, kana or other symbol (So) at or above U+2100
	cDrop              // nonspacing or enclosing mark (Mn, Me), which folding drops
	cMc                // spacing mark, which folding keeps
	cUpper             // unicode.ToLower changes it
)

// runeClass and emojiClass are the classes of the runes they cover, read
// from the same Unicode tables the functions use elsewhere
// (TestRuneClassAgrees compares the two for every code point).
var runeClass, emojiClass = func() (t *[classEnd]uint8, e *[emojiHi - emojiLo]uint8) {
	t, e = new([classEnd]uint8), new([emojiHi - emojiLo]uint8)
	mark := func(r rune, c uint8) {
		switch {
		case r < classEnd:
			t[r] |= c
		case r >= emojiLo && r < emojiHi:
			e[r-emojiLo] |= c
		}
	}
	set := func(tab *unicode.RangeTable, from rune, c uint8) {
		for _, g := range tab.R16 {
			for r := rune(g.Lo); r <= rune(g.Hi); r += rune(g.Stride) {
				if r >= from {
					mark(r, c)
				}
			}
		}
		for _, g := range tab.R32 {
			for r := rune(g.Lo); r <= rune(g.Hi) && r < emojiHi; r += rune(g.Stride) {
				if r >= from {
					mark(r, c)
				}
			}
		}
	}
	set(unicode.Letter, utf8.RuneSelf, cWord)
	set(unicode.Digit, utf8.RuneSelf, cWord)
	set(unicode.Nl, utf8.RuneSelf, cWord)
	set(unicode.Mark, 0x300, cMark)
	set(unicode.Mn, 0, cDrop)
	set(unicode.Me, 0, cDrop)
	set(unicode.Mc, 0, cMc)
	set(unicode.So, 0x2100, cSolo)
	for _, tab := range []*unicode.RangeTable{unicode.Han, unicode.Hiragana, unicode.Katakana} {
		set(tab, 0x2E80, cSolo)
	}
	mark(0x30FC, cSolo) // prolonged sound mark
	// ToLower changes no rune outside CaseRanges.
	for _, g := range unicode.CaseRanges {
		for r := rune(g.Lo); r <= rune(g.Hi); r++ {
			if unicode.ToLower(r) != r {
				mark(r, cUpper)
			}
		}
	}
	for r := rune(0x1F3FB); r <= 0x1F3FF; r++ { // skin tones are no token
		e[r-emojiLo] &^= cSolo
	}
	return t, e
}()

// classOf returns the classes of r, if a table holds them.
func classOf(r rune) (uint8, bool) {
	if uint32(r) < classEnd {
		return runeClass[r], true
	}
	if r >= emojiLo && r < emojiHi {
		return emojiClass[r-emojiLo], true
	}
	return 0, false
}

func wild(r rune) bool { return r == '*' || r == '?' }

// asciiFold maps ASCII letters and digits to their folded form, and every
// other ASCII byte to 0.
var asciiFold = func() (t [utf8.RuneSelf]byte) {
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c
	}
	for c := byte('a'); c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = c, c
	}
	return t
}()

// Tokenize appends the tokens of s. Word positions count from 0 within s.
func (t *Tokenizer) Tokenize(s string) {
	var words int32
	n := len(s)
	prev := rune(' ')
	for i := 0; i < n; {
		if c := s[i]; c < utf8.RuneSelf && !t.Wildcards {
			// Fast path for ASCII, most of most posts.
			if asciiFold[c] != 0 {
				i = t.asciiWord(s, i, words)
				words++
				prev = 'a'
				continue
			}
			if (c == '#' || c == '@' || c == '$') && !t.NoSigils && prev != 'a' && prev != '&' && prev != '.' && !wordRune(prev) {
				if end := sigilEnd(s, i+1, rune(c)); end > i+1 {
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
		case soloRune(r):
			start := len(t.Buf)
			t.Buf = t.fold(t.Buf, s[i:i+size])
			if len(t.Buf) == start { // a symbol that folds to nothing stands for itself
				t.Buf = append(t.Buf, s[i:i+size]...)
			}
			t.Tokens = append(t.Tokens, Token{Start: int32(i), End: int32(i + size),
				FStart: int32(start), FEnd: int32(len(t.Buf)), Kind: Word, Word: words, Words: 1})
			words++
		case wordRune(r) || t.Wildcards && wild(r):
			end := t.wordEnd(s, i+size)
			t.addWord(s, i, end, words)
			words++
			i = end
			prev = 'a'
			continue
		case (r == '#' || r == '@' || r == '$') && !t.NoSigils && !wordRune(prev) && prev != '&' && prev != '.':
			if end := sigilEnd(s, i+1, r); end > i+1 {
				t.addSigil(s, i, end, r, words)
			}
		}
		prev = r
		i += size
	}
}

// asciiWord appends the word starting at s[i], an ASCII letter or digit,
// and returns its end.
func (t *Tokenizer) asciiWord(s string, i int, words int32) int {
	j := i + 1
	upper := s[i] <= 'Z'
	for ; j < len(s); j++ {
		c := s[j]
		if c >= utf8.RuneSelf || asciiFold[c] == 0 {
			break
		}
		upper = upper || c <= 'Z'
	}
	if j < len(s) && s[j] >= utf8.RuneSelf {
		if r, _ := utf8.DecodeRuneInString(s[j:]); !soloRune(r) && (wordRune(r) || markRune(r)) {
			// The word goes on in another script or with an accent.
			end := t.wordEnd(s, j)
			t.addWord(s, i, end, words)
			return end
		}
	}
	start := len(t.Buf)
	t.Buf = append(t.Buf, s[i:j]...)
	if upper { // digits too, which fold to themselves
		for k, c := range t.Buf[start:] {
			t.Buf[start+k] = asciiFold[c]
		}
	}
	t.Tokens = append(t.Tokens, Token{Start: int32(i), End: int32(j), FStart: int32(start),
		FEnd: int32(len(t.Buf)), Kind: Word, Word: words, Words: 1})
	return j
}

// wordEnd returns the end of the word that continues at i.
func (t *Tokenizer) wordEnd(s string, i int) int {
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if wordRune(rune(c)) || t.Wildcards && wild(rune(c)) {
				i++
				continue
			}
			return i
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if soloRune(r) || !wordRune(r) && !markRune(r) {
			return i
		}
		i += size
	}
	return i
}

// sigilEnd returns the end of the body of a hashtag, mention or cashtag
// whose body starts at i, or i when there is none.
func sigilEnd(s string, i int, sigil rune) int {
	start := i
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '_' || wordRune(r) || i > start && markRune(r) {
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
func (t *Tokenizer) addSigil(s string, i, end int, sigil rune, words int32) {
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
		case soloRune(r):
			before++
		case wordRune(r):
			j = t.wordEnd(s, j+size)
			before++
			continue
		}
		j += size
	}
	t.Sigils[idx].Words = int32(before - len(t.Tokens))
}

// addWord appends the word token s[i:end].
func (t *Tokenizer) addWord(s string, i, end int, words int32) {
	start := len(t.Buf)
	t.Buf = t.fold(t.Buf, s[i:end])
	if len(t.Buf) == start { // letters that fold to nothing stand for themselves
		t.Buf = append(t.Buf, s[i:end]...)
	}
	t.Tokens = append(t.Tokens, Token{Start: int32(i), End: int32(end), FStart: int32(start),
		FEnd: int32(len(t.Buf)), Kind: Word, Word: words, Words: 1})
}

// fold appends the folded form of w to dst.
func (t *Tokenizer) fold(dst []byte, w string) []byte {
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
			if wordRune(rune(c)) || t.Wildcards && wild(rune(c)) {
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
func (t *Tokenizer) foldGeneral(dst []byte, w string) []byte {
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
func (t *Tokenizer) foldRune(dst []byte, r rune) []byte {
	if c, ok := classOf(r); ok && r >= tableFoldEnd && c&cUpper == 0 {
		// Most runes past the folding table: CJK, kana, emoji. Lower case
		// and the extra mappings leave them alone.
		switch {
		case c&cDrop != 0:
		case c&(cWord|cMc|cSolo) != 0:
			dst = utf8.AppendRune(dst, r)
		}
		return dst
	}
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
	if wordRune(r) || unicode.Is(unicode.Mc, r) || soloRune(r) || t.Wildcards && wild(r) {
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// AppendFold appends the folded form of s, read as one word, to dst:
// characters other than letters and digits are dropped ("Nike_Support" →
// "nikesupport").
func (t *Tokenizer) AppendFold(dst []byte, s string) []byte { return t.fold(dst, s) }

// Fold returns the folded form of s as one string: the folded words of s
// joined by single spaces. Fold("Café  CRÈME") == "cafe creme".
func Fold(s string) string {
	var t Tokenizer
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
