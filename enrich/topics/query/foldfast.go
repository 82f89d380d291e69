package query

import (
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// tableFoldEnd bounds the runes folded by table: Latin-1, Latin
// Extended-A/B, IPA, Greek, Cyrillic, Armenian, Hebrew and Arabic, the
// letters of most non-ASCII words in posts.
const tableFoldEnd = 0x800

// runeFold[r] is the folded form of the rune r < tableFoldEnd, as the
// general path (NFKD, marks dropped, lower case, the extra mappings) folds
// it alone; noTableFold marks a rune that must take the general path (a
// combining mark, or one whose decomposition starts with one, which NFKD
// may reorder with its neighbours).
var runeFold = func() (t [tableFoldEnd]string) {
	var tok Tokenizer
	for r := rune(utf8.RuneSelf); r < tableFoldEnd; r++ {
		s := string(r)
		d := norm.NFKD.String(s)
		first, _ := utf8.DecodeRuneInString(d)
		if norm.NFD.PropertiesString(s).CCC() != 0 || norm.NFD.PropertiesString(string(first)).CCC() != 0 {
			t[r] = noTableFold
			continue
		}
		t[r] = string(tok.foldGeneral(nil, s))
	}
	return t
}()

// noTableFold is not a folded form: folds never contain 0xff.
const noTableFold = "\xff"

// foldTable appends the folded form of w to dst when every rune of w folds
// alone: it is below tableFoldEnd and not marked noTableFold, or it is a
// starter NFKD does not change (and not Hangul). Then NFKD decomposes each
// rune on its own and reorders nothing across runes, so folding rune by
// rune gives what foldGeneral gives for the whole word. ok is false (and
// dst unchanged) otherwise.
func (t *Tokenizer) foldTable(dst []byte, w string) (_ []byte, ok bool) {
	start := len(dst)
	for i := 0; i < len(w); {
		c := w[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if wordRune(rune(c)) || t.Wildcards && wild(rune(c)) {
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(w[i:])
		switch {
		case r == utf8.RuneError:
			return dst[:start], false
		case r < tableFoldEnd:
			f := runeFold[r]
			if f == noTableFold {
				return dst[:start], false
			}
			dst = append(dst, f...)
		case r >= 0x4E00 && r <= 0x9FFF || r >= 0xAC00 && r <= 0xD7A3:
			// CJK ideographs fold to themselves; so do Hangul syllables
			// (NFKD splits them into letters and foldGeneral puts them
			// back; a syllable's last letter never joins the first of the
			// next, which is a leading consonant).
			dst = append(dst, w[i:i+size]...)
		case hangul(r):
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

// hangul reports whether r is a Hangul syllable or conjoining letter (jamo).
func hangul(r rune) bool {
	return r >= 0x1100 && r <= 0x11FF || r >= 0xA960 && r <= 0xA97F || r >= 0xAC00 && r <= 0xD7FF
}
