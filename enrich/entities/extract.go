package entities

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"
)

// Entities are the hashtags, handles, cashtags, links and emoji of a text,
// each unique and in order of first appearance.
type Entities struct {
	Hashtags []string // lower-cased, without '#'
	Mentions []string // lower-cased, without '@'; "user@instance.social" for Mastodon
	Cashtags []string // upper-cased, without '$'
	Links    []string // canonical URLs (see CanonicalURL)
	Domains  []string // registrable domains of Links (see Domain)
	Emoji    []string // whole emoji sequences, without variation selectors
}

// Extract finds the entities of a text in one pass, without regular
// expressions.
//
// Rules:
//   - hashtag: '#' (or '＃') not preceded by a letter, digit, '_' or '&', then
//     letters, marks, digits, '_' or ZWNJ of any script, with at least one
//     letter: "C#", "issue#12", "#1" and "&#39;" are not hashtags;
//   - mention: '@' (or '＠') not preceded by a word character, then 1–30 of
//     [A-Za-z0-9_]; "@user@instance.social" (Mastodon) and domain handles
//     "@alice.bsky.social" (Bluesky) are kept whole when the domain ends in
//     an ICANN public suffix; e-mail addresses are not mentions;
//   - cashtag: '$' then 1–6 ASCII letters, optionally ".X" or "_X" (one or
//     two letters, "$BRK.B"), not followed by a word character: "$5" is not;
//   - link: http(s):// or a bare "www." not inside a word, up to white space
//     or a character that cannot be in a URL; trailing ".,;:!?'*" and an
//     unbalanced ")" or "]" are not part of it; CJK characters end it, since
//     they follow links without a space;
//   - emoji: a whole emoji sequence (ZWJ sequences, skin tones, flags,
//     keycaps, subdivision flags) counts once.
//
// Text inside a link (a "#fragment", an "@" in a path) is not scanned for
// other entities.
func Extract(text string) Entities {
	var e Entities
	e.scan(text)
	return e
}

// scan adds the entities of s.
func (e *Entities) scan(s string) {
	var seen seenLinks
	prev := ' ' // the rune before i; the start of the text acts as a space
	for i := 0; i < len(s); {
		c := s[i]
		end := 0
		if c < utf8.RuneSelf {
			if !mayStart[c] {
				// Skip a run of ASCII that starts no entity.
				j := i + 1
				for j < len(s) && s[j] < utf8.RuneSelf && !mayStart[s[j]] {
					j++
				}
				prev = rune(s[j-1])
				i = j
				continue
			}
			switch c {
			case 'h', 'H':
				if !isWordRune(prev) {
					end = e.link(s, i, &seen)
				}
			case 'w', 'W':
				if !isWordRune(prev) && prev != '.' && prev != '/' && prev != '@' && prev != '-' {
					end = e.link(s, i, &seen)
				}
			case '#':
				if end = e.keycap(s, i); end == 0 && hashtagMayFollow(prev) {
					end = e.hashtag(s, i, 1)
				}
			case '@':
				if mentionMayFollow(prev) {
					end = e.mention(s, i+1)
				}
			case '$':
				if !isWordRune(prev) && prev != '$' {
					end = e.cashtag(s, i+1)
				}
			case '*', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
				end = e.keycap(s, i)
			}
			if end == 0 {
				prev = rune(c)
				i++
				continue
			}
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == fullHash:
				if hashtagMayFollow(prev) {
					end = e.hashtag(s, i, size)
				}
			case r == fullAt:
				if mentionMayFollow(prev) {
					end = e.mention(s, i+size)
				}
			case r >= 0xA9 && (isRegional(r) || isPictographic(r)):
				j, ok, hasVS := scanEmoji(s, i, r, size)
				if ok {
					em := s[i:j]
					if hasVS {
						em = stripVS(em)
					}
					e.Emoji = addUnique(e.Emoji, em)
				}
				end = j
			}
			if end == 0 {
				prev = r
				i += size
				continue
			}
		}
		prev, _ = utf8.DecodeLastRuneInString(s[:end])
		i = end
	}
}

// mayStart marks the ASCII bytes an entity can start with: links (h, w),
// tags, handles, cashtags and keycaps (#, *, digits).
var mayStart = func() (t [utf8.RuneSelf]bool) {
	for _, c := range "hHwW#@$*0123456789" {
		t[c] = true
	}
	return t
}()

// maxSeenLinks bounds the links of one text whose spelling scan remembers.
const maxSeenLinks = 16

// seenLinks are the links of one text already added, as written, so a link
// repeated in a text is neither canonicalised nor looked up again.
type seenLinks struct {
	raw [maxSeenLinks]string
	n   int
}

func (l *seenLinks) has(raw string) bool { return slices.Contains(l.raw[:l.n], raw) }

func (l *seenLinks) add(raw string) {
	if l.n < maxSeenLinks {
		l.raw[l.n] = raw
		l.n++
	}
}

func hashtagMayFollow(prev rune) bool {
	return !isWordRune(prev) && prev != '&' && prev != '#' && prev != fullHash
}

func mentionMayFollow(prev rune) bool {
	return !isWordRune(prev) && prev != '@' && prev != fullAt
}

// isWordRune reports whether r is a letter, digit, mark or '_'.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || (r|0x20 >= 'a' && r|0x20 <= 'z') || (r >= '0' && r <= '9')
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isASCIIWord(c byte) bool {
	return isASCIILetter(c) || (c >= '0' && c <= '9') || c == '_'
}

// wordRuneAt reports whether a word character starts at s[j].
func wordRuneAt(s string, j int) bool {
	if j >= len(s) {
		return false
	}
	if s[j] < utf8.RuneSelf {
		return isASCIIWord(s[j])
	}
	r, _ := utf8.DecodeRuneInString(s[j:])
	return isWordRune(r)
}

// maxHashtagBytes bounds one hashtag; longer runs are not hashtags.
const maxHashtagBytes = 280

// hashtag reads a hashtag whose marker of size ms is at s[i]; it returns the
// end of the hashtag or 0.
func (e *Entities) hashtag(s string, i, ms int) int {
	start := i + ms
	j := start
	letter := false
	for j < len(s) {
		c := s[j]
		if c < utf8.RuneSelf {
			if !isASCIIWord(c) {
				break
			}
			letter = letter || isASCIILetter(c)
			j++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[j:])
		if unicode.IsLetter(r) {
			letter = true
		} else if !unicode.IsMark(r) && !unicode.IsDigit(r) && r != 0x200C {
			break
		}
		j += n
	}
	if !letter || j-start > maxHashtagBytes {
		return 0
	}
	e.Hashtags = addUnique(e.Hashtags, strings.ToLower(s[start:j]))
	return j
}

// mention reads a handle starting at s[start] (after the '@'); it returns
// the end of the mention or 0.
func (e *Entities) mention(s string, start int) int {
	j := start
	for j < len(s) && isASCIIWord(s[j]) {
		j++
	}
	if j == start {
		return 0
	}
	if j < len(s) {
		switch s[j] {
		case '@': // Mastodon: @user@instance.social
			if d := domainEnd(s, j+1); d > 0 && j-start <= 30 {
				e.Mentions = addUnique(e.Mentions, lowerASCII(s[start:d]))
				return d
			}
		case '.': // domain handle: @alice.bsky.social
			if d := domainEnd(s, start); d > 0 {
				e.Mentions = addUnique(e.Mentions, lowerASCII(s[start:d]))
				return d
			}
		}
	}
	if j-start > 30 || wordRuneAt(s, j) {
		return 0
	}
	e.Mentions = addUnique(e.Mentions, lowerASCII(s[start:j]))
	return j
}

// domainEnd reads a dotted domain name at s[start] and returns its end, or 0
// unless it has at least two labels and ends in an ICANN public suffix (so
// "@john.smith" is the handle "john" followed by ".smith").
func domainEnd(s string, start int) int {
	j, labels, lastLabel := start, 0, start
	for {
		k := j
		for k < len(s) && (isASCIIWord(s[k]) || s[k] == '-') {
			k++
		}
		if k == j {
			break
		}
		labels++
		lastLabel = j
		j = k
		if j+1 < len(s) && s[j] == '.' && (isASCIIWord(s[j+1])) {
			j++
			continue
		}
		break
	}
	if labels < 2 || j-start > 253 || wordRuneAt(s, j) {
		return 0
	}
	tld := s[lastLabel:j]
	if len(tld) < 2 {
		return 0
	}
	for i := 0; i < len(tld); i++ {
		if !isASCIILetter(tld[i]) {
			return 0
		}
	}
	if _, icann := publicsuffix.PublicSuffix(lowerASCII(s[start:j])); !icann {
		return 0
	}
	return j
}

// cashtag reads a cashtag starting at s[start] (after the '$'); it returns
// its end or 0.
func (e *Entities) cashtag(s string, start int) int {
	j := start
	for j < len(s) && j-start < 7 && isASCIILetter(s[j]) {
		j++
	}
	n := j - start
	if n == 0 || n > 6 {
		return 0
	}
	if j+1 < len(s) && (s[j] == '.' || s[j] == '_') && isASCIILetter(s[j+1]) {
		k := j + 1
		for k < len(s) && k-j <= 3 && isASCIILetter(s[k]) {
			k++
		}
		if k-j-1 <= 2 && !wordRuneAt(s, k) {
			j = k
		}
	}
	if wordRuneAt(s, j) {
		return 0
	}
	e.Cashtags = addUnique(e.Cashtags, strings.ToUpper(s[start:j]))
	return j
}

// keycap adds a keycap emoji based at s[i] and returns its end, or 0.
func (e *Entities) keycap(s string, i int) int {
	if i+3 >= len(s) || (s[i+1] != 0xEF && s[i+1] != 0xE2) {
		return 0
	}
	end, ok := keycapAt(s, i)
	if !ok {
		return 0
	}
	e.Emoji = addUnique(e.Emoji, stripVS(s[i:end]))
	return end
}

// link reads a URL at s[i] and adds its canonical form; it returns the end
// of the URL as written, or 0 when no link starts at i.
// A link already in seen is not added again: the same spelling has the same
// canonical form, which is already in Links (or was dropped for MaxPerKind)
// with its domain.
func (e *Entities) link(s string, i int, seen *seenLinks) int {
	rest := s[i:]
	var body int // where the host starts
	switch {
	case hasPrefixFold(rest, "https://"):
		body = len("https://")
	case hasPrefixFold(rest, "http://"):
		body = len("http://")
	case hasPrefixFold(rest, "www.") && len(rest) > 4 && wordRuneAt(rest, 4):
		body = 0
	default:
		return 0
	}
	j := i + body
	for j < len(s) {
		c := s[j]
		if c < utf8.RuneSelf {
			if urlStop[c] {
				break
			}
			j++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[j:])
		if !urlRune(r) {
			break
		}
		j += n
	}
	runEnd := j
	j = trimURLEnd(s, i+body, j)
	if j <= i+body {
		return 0
	}
	raw := s[i:j]
	if seen.has(raw) {
		return j
	}
	u, host, ok := canonical(raw)
	if !ok {
		if body > 0 {
			// Not a web link, but nothing else starts inside "https://…"
			// either: skip it whole, so "https://https://…" stays linear.
			return runEnd
		}
		return 0
	}
	e.addLink(u, host)
	seen.add(raw)
	return j
}

// addLink adds a canonical link and its domain.
func (e *Entities) addLink(u, host string) {
	if slices.Contains(e.Links, u) {
		// Its domain was added with it: the host is part of u.
		return
	}
	e.Links = addUnique(e.Links, u)
	e.Domains = addUnique(e.Domains, Domain(host))
}

// urlStop marks the ASCII bytes that end a URL: controls, space, DEL and
// <>"`{}|\^.
var urlStop = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = c <= ' ' || c == 0x7F || strings.IndexByte("<>\"`{}|\\^", byte(c)) >= 0
	}
	return t
}()

// urlRune reports whether a non-ASCII rune can continue a URL: letters,
// digits and marks, except CJK, which follows links without a space.
func urlRune(r rune) bool {
	if (r >= 0x2E80 && r <= 0xD7FF) || (r >= 0xF900 && r <= 0xFAFF) || (r >= 0xFF00 && r <= 0xFFEF) {
		return false
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// trimURLEnd drops the punctuation that ends a sentence rather than a URL.
// Parentheses are counted once, so a hostile run of ")))" stays linear.
func trimURLEnd(s string, start, j int) int {
	parens, brackets := 0, 0 // opened minus closed in s[start:j]
	for k := start; k < j; k++ {
		switch s[k] {
		case '(':
			parens++
		case ')':
			parens--
		case '[':
			brackets++
		case ']':
			brackets--
		}
	}
	for j > start {
		switch s[j-1] {
		case '.', ',', ';', ':', '!', '?', '\'', '*':
			j--
			continue
		case ')':
			if parens < 0 {
				parens++
				j--
				continue
			}
		case ']':
			if brackets < 0 {
				brackets++
				j--
				continue
			}
		}
		return j
	}
	return j
}

// MaxPerKind bounds each list of a mention's entities; a post with more
// distinct hashtags (or links, …) than this is spam, and the first ones are
// kept. It also keeps addUnique's linear search cheap.
const MaxPerKind = 100

func addUnique(list []string, v string) []string {
	if len(list) >= MaxPerKind {
		return list
	}
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}
