package entities

import (
	"net/netip"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// CanonicalURL returns the canonical form of an http(s) URL or of a bare
// "www." link, and false when raw is not a web link with a dotted host.
//
// Canonical form:
//   - scheme and host lower-cased; a bare "www." link gets https (every
//     browser upgrades it, and most sites redirect there);
//   - user info, default ports (:80 for http, :443 for https) and the
//     fragment are dropped; an empty path becomes "/";
//   - tracking parameters are removed (see isTracking) and the remaining
//     query parameters sorted by name, keeping the order of repeated names;
//     "&amp;" left over from HTML-escaped post text is read as "&";
//   - hosts are kept in Unicode: "xn--" labels are decoded, so
//     https://www.bücher.de/ and https://www.xn--bcher-kva.de/ are one link.
//     Unicode reads better in a dashboard; Domain converts to punycode only
//     to look up the public suffix.
//
// Path and query are kept as written (no re-escaping): two spellings of one
// path are rare and re-escaping costs more than it finds.
func CanonicalURL(raw string) (string, bool) {
	u, _, ok := canonical(raw)
	return u, ok
}

// canonical returns the canonical URL and its host.
func canonical(raw string) (u, host string, ok bool) {
	var scheme, rest string
	switch {
	case hasPrefixFold(raw, "https://"):
		scheme, rest = "https", raw[len("https://"):]
	case hasPrefixFold(raw, "http://"):
		scheme, rest = "http", raw[len("http://"):]
	case hasPrefixFold(raw, "www."):
		scheme, rest = "https", raw
	default:
		return "", "", false
	}
	authEnd := 0 // strings.IndexAny(rest, "/?#") without building its set each time
	for authEnd < len(rest) && rest[authEnd] != '/' && rest[authEnd] != '?' && rest[authEnd] != '#' {
		authEnd++
	}
	auth := rest[:authEnd]
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		auth = auth[at+1:]
	}
	host, port := auth, ""
	if c := strings.LastIndexByte(auth, ':'); c >= 0 && !strings.Contains(auth[c:], "]") {
		host, port = auth[:c], auth[c+1:]
		for i := 0; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return "", "", false
			}
		}
		if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
			port = ""
		}
	}
	host = strings.TrimSuffix(host, ".")
	host, ok = canonicalHost(host)
	if !ok {
		return "", "", false
	}

	rest = rest[authEnd:]
	if h := strings.IndexByte(rest, '#'); h >= 0 {
		rest = rest[:h]
	}
	path, query, _ := strings.Cut(rest, "?")
	if path == "" {
		path = "/"
	}
	query = cleanQuery(query, host)

	n := len(scheme) + 3 + len(host) + len(path)
	if port != "" {
		n += 1 + len(port)
	}
	if query != "" {
		n += 1 + len(query)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(host)
	if port != "" {
		b.WriteByte(':')
		b.WriteString(port)
	}
	b.WriteString(path)
	if query != "" {
		b.WriteByte('?')
		b.WriteString(query)
	}
	return b.String(), host, true
}

// canonicalHost lower-cases and checks a host: a dotted name of letters,
// digits and hyphens (any script), or a bracketed IPv6 address.
func canonicalHost(host string) (string, bool) {
	if strings.HasPrefix(host, "[") {
		if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err != nil {
			return "", false
		}
		return strings.ToLower(host), true
	}
	if len(host) < 3 || !strings.Contains(host, ".") || strings.Contains(host, "..") ||
		host[0] == '.' || host[0] == '-' {
		return "", false
	}
	ascii := true
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case c >= utf8.RuneSelf:
			ascii = false
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		default:
			return "", false
		}
	}
	if ascii && !strings.Contains(host, "xn--") && !strings.Contains(host, "XN--") {
		return lowerASCII(host), true
	}
	for _, r := range host {
		if r >= utf8.RuneSelf && !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
			return "", false
		}
	}
	if u, err := idna.Display.ToUnicode(host); err == nil {
		// The mapping drops ignorable code points (U+FE0F in "0.\uFE0F"):
		// check what is left again, so the canonical form is a fixed point.
		if u = strings.TrimSuffix(u, "."); u != host {
			if again, ok := canonicalHost(u); ok && again == u {
				return u, true
			}
			return "", false
		}
		return u, true
	}
	return strings.ToLower(host), true
}

// Domain returns the registrable domain of a canonical host: its eTLD+1 by
// the public suffix list ("news.bbc.co.uk" → "bbc.co.uk", "alice.github.io"
// stays, since github.io is a public suffix). IP addresses and hosts that
// are themselves public suffixes are returned as they are, without "www.".
func Domain(host string) string {
	host = strings.TrimPrefix(host, "www.")
	if strings.HasPrefix(host, "[") {
		return host
	}
	if mayBeIP(host) {
		if _, err := netip.ParseAddr(host); err == nil {
			return host
		}
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

// cleanQuery drops tracking parameters and sorts the rest by name.
func cleanQuery(q, host string) string {
	if q == "" {
		return ""
	}
	if strings.Contains(q, "&amp;") {
		q = strings.ReplaceAll(q, "&amp;", "&")
	}
	var buf [16]string
	params := buf[:0]
	changed := false
	for p := range strings.SplitSeq(q, "&") {
		key, _, _ := strings.Cut(p, "=")
		if p == "" || isTracking(key, host) {
			changed = true
			continue
		}
		params = append(params, p)
	}
	sorted := slices.IsSortedFunc(params, cmpParam)
	if !changed && sorted {
		return q
	}
	if !sorted {
		slices.SortStableFunc(params, cmpParam)
	}
	return strings.Join(params, "&")
}

func cmpParam(a, b string) int {
	ka, _, _ := strings.Cut(a, "=")
	kb, _, _ := strings.Cut(b, "=")
	return strings.Compare(ka, kb)
}

// isTracking reports whether a query parameter only tracks where a click
// came from. Host-specific ones are removed only on their hosts, since the
// same names mean something elsewhere (YouTube's t is a timestamp,
// GitHub's ref a branch).
func isTracking(key, host string) bool {
	k := lowerASCII(key)
	if strings.HasPrefix(k, "utm_") {
		return true
	}
	switch k {
	case "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
		"ttclid", "li_fat_id", "igshid", "igsh", "mc_cid", "mc_eid", "ref_src", "ref_url",
		"_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id",
		"wickedid", "rb_clickid", "s_cid", "ncid", "cmpid", "sr_share":
		return true
	case "ref":
		return !hostIs(host, "github.com", "gitlab.com", "bitbucket.org")
	case "si":
		return hostIs(host, "spotify.com", "youtube.com", "youtu.be")
	case "feature", "pp":
		return hostIs(host, "youtube.com", "youtu.be")
	case "s", "t":
		return hostIs(host, "twitter.com", "x.com")
	}
	return false
}

// hostIs reports whether host is one of the domains or a subdomain of one.
func hostIs(host string, domains ...string) bool {
	for _, d := range domains {
		if host == d || (len(host) > len(d) && strings.HasSuffix(host, d) && host[len(host)-len(d)-1] == '.') {
			return true
		}
	}
	return false
}

// mayBeIP is false for a host netip.ParseAddr cannot accept: without ':' it
// could only be IPv4, which ends in a digit.
func mayBeIP(host string) bool {
	return host != "" && (host[len(host)-1] >= '0' && host[len(host)-1] <= '9' || strings.IndexByte(host, ':') >= 0)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// lowerASCII lower-cases ASCII letters, allocating only when s has any
// upper-case letter.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
