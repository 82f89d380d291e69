// Package words splits mention text into the content words that trend
// tagging and alert explanations count: lower-cased, without links,
// @handles, #hashtags (counted separately), numbers, very short words and
// common function words.
package words

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what Terms returns.
const (
	MinRunes = 3  // shorter words are dropped
	MaxRunes = 32 // longer tokens are noise (hashes, base64)
	MaxTerms = 32 // at most this many distinct terms per text
)

// Terms appends to dst the distinct content words of the texts, in order of
// first occurrence, at most MaxTerms in all.
func Terms(dst []string, texts ...string) []string { return TermsN(dst, MaxTerms, texts...) }

// TermsN is Terms with at most n (at most MaxTerms) terms: the first n of
// Terms, found without reading the texts further.
func TermsN(dst []string, n int, texts ...string) []string {
	n = min(n, MaxTerms)
	start := len(dst)
	for _, text := range texts {
		for chunk := range strings.FieldsSeq(text) {
			if len(dst)-start >= n {
				return dst
			}
			if skipChunk(chunk) {
				continue
			}
			dst = appendTokens(dst, start, n, chunk)
		}
	}
	return dst
}

// skipChunk reports whitespace-separated chunks that are not prose: links,
// handles and hashtags.
func skipChunk(c string) bool {
	switch c[0] {
	case '@', '#', '$':
		return true
	}
	return strings.Contains(c, "://") || strings.HasPrefix(c, "www.")
}

func appendTokens(dst []string, start, limit int, chunk string) []string {
	i := 0
	for i < len(chunk) {
		// Skip to the next letter or digit.
		if c := chunk[i]; c < utf8.RuneSelf {
			if !isASCIIWord(c) {
				i++
				continue
			}
		} else if r, n := utf8.DecodeRuneInString(chunk[i:]); !isWord(r) {
			i += n
			continue
		}
		// ASCII runes take the fast path; upper and apos say whether the
		// token needs lower-casing and apostrophe handling at all.
		j, runes, letters := i, 0, 0
		upper, apos := false, false
	scan:
		for j < len(chunk) {
			if c := chunk[j]; c < utf8.RuneSelf {
				switch {
				case 'a' <= c && c <= 'z':
					letters++
				case 'A' <= c && c <= 'Z':
					letters++
					upper = true
				case '0' <= c && c <= '9':
				case c == '\'':
					apos = true
					j++
					continue
				default:
					break scan
				}
				runes++
				j++
				continue
			}
			r, n := utf8.DecodeRuneInString(chunk[j:])
			switch {
			case r == '’':
				apos = true
			case isWord(r):
				runes++
				if unicode.IsLetter(r) {
					letters++
				}
				upper = true // let ToLower decide
			default:
				break scan
			}
			j += n
		}
		tok := chunk[i:j]
		i = j
		if runes < MinRunes || runes > MaxRunes || letters == 0 {
			continue
		}
		if apos {
			tok = strings.TrimRight(tok, "'’")
		}
		if upper {
			tok = strings.ToLower(tok)
		}
		if apos {
			if stop[strings.ReplaceAll(tok, "’", "'")] {
				continue
			}
			if k := strings.IndexAny(tok, "'’"); k > 0 {
				// "acme's" counts as "acme"; "don't" is a stopword either way.
				tok = tok[:k]
				if utf8.RuneCountInString(tok) < MinRunes {
					continue
				}
			}
		}
		if stop[tok] || containsFrom(dst, start, tok) {
			continue
		}
		dst = append(dst, tok)
		if len(dst)-start >= limit {
			return dst
		}
	}
	return dst
}

func isASCIIWord(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isWord(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

func containsFrom(xs []string, start int, x string) bool {
	for _, v := range xs[start:] {
		if v == x {
			return true
		}
	}
	return false
}

// stop holds function words of English, Spanish, French, German and
// Portuguese that are at least MinRunes long; they say nothing about what
// moved.
var stop = func() map[string]bool {
	m := map[string]bool{}
	for _, list := range []string{
		// English
		`the and for are but not you all any can had her was one our out has him his how its may new now old see two who boy did get let put say she too use
		that with have this will your from they been were said each which their what there when them than then these some would make like into time more
		very just also only over such here most even much well back after other many those where while about could should because being does doing done
		don't can't won't isn't aren't wasn't didn't doesn't i'm i've it's you're we're they're let's what's there's
		him her hers his its our ours their theirs yours myself yourself itself ourselves themselves
		am is be an as at by if in it of on or so to up us we me my no do go he oh ok
		via amp rt lol get got gets going went come came really still yet ever never always again today yesterday tomorrow`,
		// Spanish
		`que los las del por con una para como más pero sus les muy sin sobre este esta entre cuando todo también hasta desde
		donde quien porque está están ser fue son hay era tiene mis tus nos ese eso esa`,
		// French
		`les des une est pas pour qui que dans par sur avec plus tout mais ont sont ces son ses aux été être fait comme nous vous
		elle ils leur cette très sans aussi`,
		// German
		`der die und den das dem des ein eine einer eines ist nicht sich mit auf für von auch als wie bei nach aus noch wird sind
		hat haben oder aber wenn nur vor zum zur über sie ihr ich wir`,
		// Portuguese
		`não uma com para por mais dos das como mas foi ele ela seu sua ou quando muito nos já está também só pelo pela até isso
		entre depois sem mesmo aos seus quem nas esse essa`,
	} {
		for w := range strings.FieldsSeq(list) {
			if utf8.RuneCountInString(w) >= MinRunes {
				m[w] = true
			}
		}
	}
	return m
}()
