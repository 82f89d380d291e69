// Package words splits mention text into the content words that trend
// tagging and alert explanations count: lower-cased, without links,
// @handles, #hashtags (counted separately), numbers, very short words and
// common function words.
package words

import (
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"
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
//
// The texts are split into chunks at white space as strings.Fields does,
// and the terms found are kept in a small hash set, so a repeated word
// costs one probe, not a comparison with every term so far.
func TermsN(dst []string, n int, texts ...string) []string {
	n = min(n, MaxTerms)
	start := len(dst)
	var seen termSet
	for _, text := range texts {
		for i := 0; i < len(text); {
			// Skip white space, then find the chunk's end.
			c := text[i]
			if c < utf8.RuneSelf {
				if asciiSpace[c] {
					i++
					continue
				}
			} else if r, size := utf8.DecodeRuneInString(text[i:]); isSpace(r) {
				i += size
				continue
			}
			j, marks := i, uint8(0) // chunkColon if a ':' was seen
			for j < len(text) {
				c := text[j]
				if c < utf8.RuneSelf {
					k := chunkByte[c]
					if k == chunkSpace {
						break
					}
					marks |= k
					j++
					continue
				}
				r, size := utf8.DecodeRuneInString(text[j:])
				if isSpace(r) {
					break
				}
				j += size
			}
			chunk := text[i:j]
			i = j
			if len(dst)-start >= n {
				return dst
			}
			if skipChunk(chunk, marks == chunkColon) {
				continue
			}
			dst = appendTokens(dst, start, n, chunk, &seen)
		}
	}
	return dst
}

// asciiSpace is strings.Fields' ASCII white space.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// chunkByte marks the ASCII white space and ':', for splitting chunks.
const (
	chunkSpace = 1
	chunkColon = 2
)

var chunkByte = func() (t [utf8.RuneSelf]uint8) {
	for c, sp := range asciiSpace {
		if sp {
			t[c] = chunkSpace
		}
	}
	t[':'] = chunkColon
	return t
}()

// isSpace is unicode.IsSpace for a rune past ASCII.
func isSpace(r rune) bool {
	switch {
	case r < 0x85:
		return false
	case r == 0x85 || r == 0xA0 || r == 0x1680:
		return true
	case r < 0x2000:
		return false
	case r <= 0x200A || r == 0x2028 || r == 0x2029 || r == 0x202F || r == 0x205F || r == 0x3000:
		return true
	}
	return false
}

// skipChunk reports whitespace-separated chunks that are not prose: links,
// handles and hashtags. colon says whether the chunk holds a ':'.
func skipChunk(c string, colon bool) bool {
	switch c[0] {
	case '@', '#', '$':
		return true
	}
	return colon && strings.Contains(c, "://") || strings.HasPrefix(c, "www.")
}

// termSet holds the terms a TermsN call found (at most MaxTerms), by hash:
// slot holds 1 + the term's index after start, hash its hash.
type termSet struct {
	slot [4 * MaxTerms]uint8
	hash [MaxTerms]uint64
	buf  [64]byte // appendTokens' lower-cased token
}

// index returns where key (whose hash is h) is or would go, and whether
// it is there.
func (t *termSet) index(h uint64, key string, terms []string) (int, bool) {
	i := int(h & (uint64(len(t.slot)) - 1))
	for {
		k := t.slot[i]
		if k == 0 {
			return i, false
		}
		if t.hash[k-1] == h && terms[k-1] == key {
			return i, true
		}
		i = (i + 1) & (len(t.slot) - 1)
	}
}

func appendTokens(dst []string, start, limit int, chunk string, seen *termSet) []string {
	buf := &seen.buf
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
		// token needs lower-casing and apostrophe handling at all, ascii
		// whether it can be lower-cased byte by byte.
		j, runes, letters := i, 0, 0
		upper, apos, ascii := false, false, true
	scan:
		for j < len(chunk) {
			if c := chunk[j]; c < utf8.RuneSelf {
				k := asciiClass[c]
				if k&classWord == 0 {
					if c != '\'' {
						break scan
					}
					apos = true
					j++
					continue
				}
				runes++
				letters += int(k >> 1 & 1) // classLetter
				upper = upper || k&classCased != 0
				j++
				continue
			}
			r, n := utf8.DecodeRuneInString(chunk[j:])
			switch {
			case r == '’':
				apos = true
			case isWord(r):
				runes++
				cl := class(r)
				if cl&classLetter != 0 {
					letters++
				}
				if cl&classCased != 0 {
					upper = true // let ToLower decide
				}
			default:
				break scan
			}
			ascii = false
			j += n
		}
		tok := chunk[i:j]
		i = j
		if runes < MinRunes || runes > MaxRunes || letters == 0 {
			continue
		}
		// key is the term as it will be kept; a lower-cased ASCII token is
		// built in buf, looked up there (look) and copied out only when it
		// is a new term.
		key, look, inBuf := tok, "", false
		if apos {
			tok = strings.TrimRight(tok, "'’")
			if upper {
				tok = strings.ToLower(tok)
			}
			if stop.has(strings.ReplaceAll(tok, "’", "'")) {
				continue
			}
			if k := strings.IndexAny(tok, "'’"); k > 0 {
				// "acme's" counts as "acme"; "don't" is a stopword either way.
				tok = tok[:k]
				if utf8.RuneCountInString(tok) < MinRunes {
					continue
				}
			}
			key = tok
		} else if upper {
			if ascii && len(tok) <= len(buf) {
				for k := range len(tok) {
					c := tok[k]
					if 'A' <= c && c <= 'Z' {
						c += 'a' - 'A'
					}
					buf[k] = c
				}
				look, inBuf = unsafeString(buf[:len(tok)]), true
			} else {
				key = strings.ToLower(tok)
			}
		}
		if !inBuf {
			look = key
		}
		h := hashString(look)
		if stop.hasHash(h, look) {
			continue
		}
		slot, dup := seen.index(h, look, dst[start:])
		if dup {
			continue
		}
		if inBuf {
			key = string(buf[:len(look)])
		}
		seen.hash[len(dst)-start] = h
		seen.slot[slot] = uint8(len(dst) - start + 1)
		dst = append(dst, key)
		if len(dst)-start >= limit {
			return dst
		}
	}
	return dst
}

// unsafeString views b as a string, for lookups only: it must not outlive
// b's next change.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func isASCIIWord(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isWord reports letters, digits (Nd) and non-spacing marks (Mn), from a
// table below U+20000 (emoji included).
func isWord(r rune) bool {
	if uint32(r) < uint32(len(runeClass)) {
		return runeClass[r]&classWord != 0
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// class returns the runeClass bits of r.
func class(r rune) uint8 {
	if uint32(r) < uint32(len(runeClass)) {
		return runeClass[r]
	}
	var c uint8
	if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) {
		c |= classWord
	}
	if unicode.IsLetter(r) {
		c |= classLetter
	}
	if unicode.ToLower(r) != r {
		c |= classCased
	}
	return c
}

// asciiClass is runeClass for ASCII: letters and digits are words, the
// capitals cased.
var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := range t {
		switch {
		case 'a' <= c && c <= 'z':
			t[c] = classWord | classLetter
		case 'A' <= c && c <= 'Z':
			t[c] = classWord | classLetter | classCased
		case '0' <= c && c <= '9':
			t[c] = classWord
		}
	}
	return t
}()

// runeClass bits.
const (
	classWord   = 1 << iota // isWord
	classLetter             // unicode.IsLetter
	classCased              // unicode.ToLower changes it
)

// runeClass holds the class bits of the runes below U+20000, built from
// package unicode's tables.
var runeClass = func() *[0x20000]uint8 {
	t := new([0x20000]uint8)
	each := func(tab *unicode.RangeTable, f func(r rune)) {
		for _, g := range tab.R16 {
			for r := rune(g.Lo); r <= rune(g.Hi); r += rune(g.Stride) {
				f(r)
			}
		}
		for _, g := range tab.R32 {
			for r := rune(g.Lo); r <= rune(g.Hi) && int(r) < len(t); r += rune(g.Stride) {
				f(r)
			}
		}
	}
	each(unicode.Letter, func(r rune) { t[r] |= classWord | classLetter })
	each(unicode.Digit, func(r rune) { t[r] |= classWord })
	each(unicode.Mn, func(r rune) { t[r] |= classWord })
	// unicode.ToLower leaves every rune outside CaseRanges as it is.
	for _, c := range unicode.CaseRanges {
		for r := rune(c.Lo); r <= rune(c.Hi) && int(r) < len(t); r++ {
			if unicode.ToLower(r) != r {
				t[r] |= classCased
			}
		}
	}
	return t
}()

// hashString hashes a term for stop and termSet: a word at a time,
// multiplied and folded (collisions only cost a string comparison).
func hashString(s string) uint64 {
	h := uint64(len(s)) * 0x9E3779B97F4A7C15
	for ; len(s) >= 8; s = s[8:] {
		h = mix(h ^ (uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56))
	}
	var t uint64
	for i := range len(s) {
		t |= uint64(s[i]) << (8 * i)
	}
	return mix(h ^ t)
}

func mix(x uint64) uint64 {
	x *= 0xBF58476D1CE4E5B9
	return x ^ x>>31
}

// wordSet is a set of strings: open addressing by hash over a table at
// most a quarter full, for the read-only stopword list.
type wordSet struct {
	slot  []uint16 // 1 + index in words; 0: empty
	words []string
	hash  []uint64
}

func newWordSet(ws []string) wordSet {
	size := 1
	for size < 4*len(ws) {
		size <<= 1
	}
	s := wordSet{slot: make([]uint16, size)}
	for _, w := range ws {
		if s.has(w) {
			continue
		}
		h := hashString(w)
		i := int(h & uint64(size-1))
		for s.slot[i] != 0 {
			i = (i + 1) & (size - 1)
		}
		s.words = append(s.words, w)
		s.hash = append(s.hash, h)
		s.slot[i] = uint16(len(s.words))
	}
	return s
}

func (s *wordSet) has(w string) bool { return s.hasHash(hashString(w), w) }

// hasHash reports whether w, whose hash is h, is in the set.
func (s *wordSet) hasHash(h uint64, w string) bool {
	mask := len(s.slot) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		k := s.slot[i]
		if k == 0 {
			return false
		}
		if s.hash[k-1] == h && s.words[k-1] == w {
			return true
		}
	}
}

// stop holds function words of English, Spanish, French, German and
// Portuguese that are at least MinRunes long; they say nothing about what
// moved.
var stop = func() wordSet {
	var m []string
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
				m = append(m, w)
			}
		}
	}
	return newWordSet(m)
}()
