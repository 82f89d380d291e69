package lang

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clean appends to dst the part of text that carries language: @handles,
// #hashtags, URLs, emoji, digits and symbols are dropped,
// letters are lower-cased and each run of anything else becomes one space.
// It never allocates when dst has room.
func Clean(dst []byte, text string) []byte {
	space := true // suppress leading space
	for i := 0; i < len(text); {
		c := text[i]
		// Skip whole tokens that are not prose.
		if (c == '@' || c == '#') && (i == 0 || isBreak(text[i-1])) {
			i = skipToken(text, i)
			continue
		}
		if (c == 'h' || c == 'H' || c == 'w' || c == 'W') && (i == 0 || isBreak(text[i-1])) && isURLAt(text[i:]) {
			i = skipToken(text, i)
			continue
		}
		r, n := rune(c), 1
		if c >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(text[i:])
		}
		switch {
		case c >= 'a' && c <= 'z':
			dst = append(dst, c)
			space = false
		case c >= 'A' && c <= 'Z':
			dst = append(dst, c+('a'-'A'))
			space = false
		case c == '\'' || r == '’':
			// Apostrophes belong to words in fr/it/nl/en ("l'app", "don't").
			if !space && i+n < len(text) && isLetterAt(text[i+n:]) {
				dst = append(dst, '\'')
			}
		case r >= utf8.RuneSelf && unicode.IsLetter(r):
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
			space = false
		case r >= utf8.RuneSelf && unicode.IsMark(r):
			if !space {
				dst = utf8.AppendRune(dst, r)
			}
		default:
			if !space {
				dst = append(dst, ' ')
				space = true
			}
		}
		i += n
	}
	if len(dst) > 0 && dst[len(dst)-1] == ' ' {
		dst = dst[:len(dst)-1]
	}
	return dst
}

func isBreak(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == '"' || c == '.' || c == ','
}

// skipToken returns the index after the whitespace-delimited token at i.
func skipToken(text string, i int) int {
	for i < len(text) && text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r' {
		i++
	}
	return i
}

func isURLAt(s string) bool {
	if len(s) < 8 {
		return false
	}
	return strings.EqualFold(s[:7], "http://") || strings.EqualFold(s[:8], "https://") || strings.EqualFold(s[:4], "www.")
}

func isLetterAt(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsLetter(r)
}
