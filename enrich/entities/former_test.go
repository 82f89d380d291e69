package entities

// The extraction as it was before the single-pass skip over plain ASCII, the
// stop-byte table, and links repeated in a text being added once (commit
// 6d6c6ca), kept to prove the faster scan finds the same entities
// (TestScanMatchesFormer) and to measure it beside the new one
// (BenchmarkApply).

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"

	"github.com/earshot-dev/earshot/pipeline"
)

func (e *Entities) formerScan(s string) {
	prev := ' ' // the rune before i; the start of the text acts as a space
	for i := 0; i < len(s); {
		c := s[i]
		end := 0
		if c < utf8.RuneSelf {
			switch c {
			case 'h', 'H':
				if !isWordRune(prev) {
					end = e.formerLink(s, i)
				}
			case 'w', 'W':
				if !isWordRune(prev) && prev != '.' && prev != '/' && prev != '@' && prev != '-' {
					end = e.formerLink(s, i)
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
func (e *Entities) formerLink(s string, i int) int {
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
			if c <= ' ' || c == 0x7F || strings.IndexByte("<>\"`{}|\\^", c) >= 0 {
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
	u, host, ok := canonical(s[i:j])
	if !ok {
		if body > 0 {
			// Not a web link, but nothing else starts inside "https://…"
			// either: skip it whole, so "https://https://…" stays linear.
			return runEnd
		}
		return 0
	}
	e.formerAddLink(u, host)
	return j
}
func (e *Entities) formerAddLink(u, host string) {
	e.Links = addUnique(e.Links, u)
	e.Domains = addUnique(e.Domains, formerDomain(host))
}
func formerDomain(host string) string {
	host = strings.TrimPrefix(host, "www.")
	if strings.HasPrefix(host, "[") {
		return host
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return host
	}
	if isASCII(host) {
		if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
			return d
		}
		return host
	}
	a, err := idna.Lookup.ToASCII(host)
	if err != nil {
		return host
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(a)
	if err != nil {
		return host
	}
	if u, err := idna.Display.ToUnicode(d); err == nil {
		return u
	}
	return d
}
func formerApply(m *pipeline.Mention) {
	en := &m.Enrichment
	e := Entities{
		Hashtags: en.Hashtags,
		Mentions: en.Mentions,
		Cashtags: en.Cashtags,
		Emoji:    en.Emoji,
	}
	// Links given by the connector are canonicalised; their domains are
	// recomputed, and domains given without a link are kept.
	if m.Kind == pipeline.KindArticle && m.URL != "" {
		if u, host, ok := canonical(m.URL); ok {
			e.formerAddLink(u, host)
		}
	}
	for _, l := range en.Links {
		if u, host, ok := canonical(l); ok {
			e.formerAddLink(u, host)
		}
	}
	for _, d := range en.Domains {
		e.Domains = addUnique(e.Domains, d)
	}
	e.formerScan(m.Title)
	e.formerScan(m.Text)
	en.Hashtags = e.Hashtags
	en.Mentions = e.Mentions
	en.Cashtags = e.Cashtags
	en.Links = e.Links
	en.Domains = e.Domains
	en.Emoji = e.Emoji
	m.SetVersion(Name, Version)
}
