package rss

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"
	"github.com/mmcdole/gofeed/atom"
	jsonfeed "github.com/mmcdole/gofeed/json"
	"github.com/mmcdole/gofeed/rss"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/earshot-dev/earshot/pipeline"
)

// ErrParse is returned for a response that is not a feed gofeed can read.
var ErrParse = errors.New("malformed feed")

// rssTranslator skips gofeed's per-item HTML parse that looks for an image
// (mentions carry none): about 15% of the parse time.
var rssTranslator = &gofeed.DefaultRSSTranslator{DisableContentImageScan: true}

// parsedFeed is a feed with what the universal gofeed.Feed loses.
type parsedFeed struct {
	*gofeed.Feed
	plain []bool // per item: the content is plain text (JSON Feed content_text or summary)
	lang  []string
	nulls int // JSON Feed null items skipped
}

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// parseFeed parses an RSS, Atom or JSON feed body. contentType is the HTTP
// Content-Type, used for the charset when the document declares none.
// Invalid UTF-8 is repaired instead of failing the feed, JSON Feed null items
// are skipped (and counted), and a gofeed panic is returned as ErrParse.
func parseFeed(body []byte, contentType string) (pf *parsedFeed, err error) {
	defer func() {
		if r := recover(); r != nil {
			pf, err = nil, fmt.Errorf("%w: parser panic: %v", ErrParse, r)
		}
	}()
	switch {
	case bytes.HasPrefix(body, bomUTF16LE) || bytes.HasPrefix(body, bomUTF16BE):
		body, err = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder().Bytes(body)
		if err != nil {
			return nil, fmt.Errorf("%w: utf-16: %w", ErrParse, err)
		}
		contentType = "" // the BOM wins over any declared charset
		body = setXMLEncodingUTF8(body)
	case bytes.HasPrefix(body, bomUTF8):
		body = body[len(bomUTF8):]
		contentType = ""
		body = setXMLEncodingUTF8(body)
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrParse)
	}
	if trimmed[0] == '{' {
		return parseJSONFeed(repairUTF8(body, false))
	}
	if trimmed[0] != '<' {
		return nil, fmt.Errorf("%w: neither XML nor JSON (starts with %q)", ErrParse, prefix(trimmed, 16))
	}
	body, err = toUTF8XML(body, contentType)
	if err != nil {
		return nil, err
	}
	peek := body[:min(len(body), 4096)]
	var f *gofeed.Feed
	switch gofeed.DetectFeedType(bytes.NewReader(peek)) {
	case gofeed.FeedTypeRSS:
		var rf *rss.Feed
		if rf, err = (&rss.Parser{}).Parse(bytes.NewReader(body)); err == nil {
			f, err = rssTranslator.Translate(rf)
		}
	case gofeed.FeedTypeAtom:
		var af *atom.Feed
		if af, err = (&atom.Parser{}).Parse(bytes.NewReader(body)); err == nil {
			f, err = (&gofeed.DefaultAtomTranslator{}).Translate(af)
		}
	default:
		return nil, fmt.Errorf("%w: not an RSS or Atom document (starts with %q)", ErrParse, prefix(trimmed, 40))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrParse, err)
	}
	return &parsedFeed{Feed: f}, nil
}

// parseJSONFeed parses a JSON Feed, dropping null items and authors, on
// which gofeed's translator panics.
func parseJSONFeed(body []byte) (*parsedFeed, error) {
	jf, err := (&jsonfeed.Parser{}).Parse(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: json feed: %w", ErrParse, err)
	}
	nulls := 0
	items := jf.Items[:0]
	for _, it := range jf.Items {
		if it == nil {
			nulls++
			continue
		}
		it.Authors = dropNil(it.Authors)
		items = append(items, it)
	}
	jf.Items = items
	jf.Authors = dropNil(jf.Authors)
	f, err := (&gofeed.DefaultJSONTranslator{}).Translate(jf)
	if err != nil {
		return nil, fmt.Errorf("%w: json feed: %w", ErrParse, err)
	}
	pf := &parsedFeed{Feed: f, nulls: nulls, plain: make([]bool, len(items)), lang: make([]string, len(items))}
	for i, it := range items {
		pf.plain[i] = it.ContentHTML == "" // content_text and summary are plain text
		pf.lang[i] = it.Language
	}
	return pf, nil
}

func dropNil[T any](s []*T) []*T {
	if s == nil {
		return nil
	}
	out := s[:0]
	for _, v := range s {
		if v != nil {
			out = append(out, v)
		}
	}
	return out
}

func prefix(b []byte, n int) string { return string(b[:min(len(b), n)]) }

// xmlDeclRE matches the encoding pseudo-attribute of an XML declaration.
var (
	xmlDeclRE = regexp.MustCompile(`^\s*<\?xml\s[^>]*?\?>`)
	xmlEncRE  = regexp.MustCompile(`(encoding\s*=\s*)("[^"]*"|'[^']*')`)
)

// xmlDeclEncoding returns the encoding label of body's XML declaration, or "".
func xmlDeclEncoding(body []byte) string {
	decl := xmlDeclRE.Find(body[:min(len(body), 512)])
	if decl == nil {
		return ""
	}
	m := xmlEncRE.FindSubmatch(decl)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(string(m[2][1 : len(m[2])-1]))
}

// setXMLEncodingUTF8 rewrites the declared encoding of an XML document that
// is now UTF-8, so encoding/xml does not convert it a second time.
func setXMLEncodingUTF8(body []byte) []byte {
	loc := xmlDeclRE.FindIndex(body[:min(len(body), 512)])
	if loc == nil {
		return body
	}
	decl := body[loc[0]:loc[1]]
	m := xmlEncRE.FindSubmatchIndex(decl)
	if m == nil || strings.EqualFold(string(decl[m[4]+1:m[5]-1]), "utf-8") {
		return body
	}
	out := make([]byte, 0, len(body)+8)
	out = append(out, body[:loc[0]+m[4]]...)
	out = append(out, `"UTF-8"`...)
	out = append(out, body[loc[0]+m[5]:]...)
	return out
}

// toUTF8XML returns an XML feed as valid UTF-8 declared as UTF-8. The
// charset is the XML declaration's, else the Content-Type's, else UTF-8 (the
// declaration wins because a server's default text/xml charset is wrong far
// more often than the document). Known charsets are decoded (decoders
// replace what they cannot map with U+FFFD); an unknown label is treated as
// UTF-8. Then invalid UTF-8 is repaired, so one bad byte costs one
// character, not the feed.
func toUTF8XML(body []byte, contentType string) ([]byte, error) {
	label := xmlDeclEncoding(body)
	if label == "" && contentType != "" {
		if _, params, err := mime.ParseMediaType(contentType); err == nil {
			label = params["charset"]
		}
	}
	if label != "" {
		if enc, name := charset.Lookup(label); enc != nil && name != "utf-8" {
			dec, err := enc.NewDecoder().Bytes(body)
			if err != nil {
				return nil, fmt.Errorf("%w: decode %s: %w", ErrParse, name, err)
			}
			body = dec
		}
		body = setXMLEncodingUTF8(body)
	}
	return repairUTF8(body, true), nil
}

// repairUTF8 returns b with every invalid UTF-8 sequence replaced. A lone
// byte is read as Windows-1252 (the usual cause: Latin-1 or Word text pasted
// into a UTF-8 document, "caf\xe9" -> "café", "\x92" -> "’"); a truncated
// multi-byte sequence becomes one U+FFFD. For XML, the noncharacters U+FFFE
// and U+FFFF, which encoding/xml rejects, become U+FFFD as well. b is
// returned unchanged when it is already valid.
func repairUTF8(b []byte, xml bool) []byte {
	if utf8.Valid(b) && (!xml || (!bytes.Contains(b, []byte("\uFFFE")) && !bytes.Contains(b, []byte("\uFFFF")))) {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/8)
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			if xml && (r == '\uFFFE' || r == '\uFFFF') {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, b[i:i+size]...)
			}
			i += size
			continue
		}
		if n := truncatedSeq(b[i:]); n > 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
			i += n
			continue
		}
		out = utf8.AppendRune(out, charmap.Windows1252.DecodeByte(c))
		i++
	}
	return out
}

// truncatedSeq returns the length of an incomplete UTF-8 sequence at the
// start of b (a lead byte followed by fewer continuation bytes than it
// needs), or 0 when b[0] is not followed by any continuation byte.
func truncatedSeq(b []byte) int {
	need := 0
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c >= 0xE0 && c <= 0xEF:
		need = 2
	case c >= 0xF0 && c <= 0xF4:
		need = 3
	default:
		return 0
	}
	n := 1
	for n <= need && n < len(b) && b[n]&0xC0 == 0x80 {
		n++
	}
	if n == 1 {
		return 0
	}
	return n
}

// item is one mapped feed item and its key in the seen set.
type item struct {
	m   *pipeline.Mention
	key uint64 // first 8 bytes of the id hash
}

// mapper turns feed items into mentions for one feed.
type mapper struct {
	platform string
	kind     string
	source   string // env.Name + "/" + feed key
	feed     string // feed key: the feed URL without user info
	base     *url.URL
	now      time.Time
}

// itemID returns the mention id and seen key of an item. The key is the
// item's GUID, else its link, else its title and date, else its text.
//
// A GUID that is an absolute URI (a permalink, urn:, tag:) and a link name
// the item itself, wherever it is syndicated: the id is then the same in
// every feed, so a post that two search feeds both return is one mention.
// Other keys (a GUID like "42", a title) are only unique within their feed,
// so the feed URL is hashed in.
func (mp *mapper) itemID(guid, link, title, date, text string) (string, uint64, bool) {
	var k string
	global := false
	switch {
	case guid != "":
		k, global = "guid\x00"+guid, isAbsoluteURI(guid)
	case link != "":
		k, global = "link\x00"+link, isAbsoluteURI(link)
	case title != "" || date != "":
		k = "title\x00" + title + "\x00" + date
	case text != "":
		k = "text\x00" + text
	default:
		return "", 0, false
	}
	h := sha256.New()
	if !global {
		h.Write([]byte(mp.feed))
	}
	h.Write([]byte{0})
	h.Write([]byte(k))
	sum := h.Sum(nil)[:16]
	return mp.platform + ":" + hex.EncodeToString(sum), binary.BigEndian.Uint64(sum), true
}

// isAbsoluteURI reports whether s names a resource globally: an http(s)
// URL with a host, or a urn: or tag: URI.
func isAbsoluteURI(s string) bool {
	if strings.HasPrefix(s, "urn:") || strings.HasPrefix(s, "tag:") {
		return true
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// mapFeed maps up to max items of pf in document order. Items with nothing
// to identify them (no GUID, link, title, date or text) are counted in empty.
func (mp *mapper) mapFeed(pf *parsedFeed, max int) (items []item, empty int) {
	base := mp.base
	if pf.Link != "" {
		if u, err := base.Parse(strings.TrimSpace(pf.Link)); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			base = u
		}
	}
	lang := strings.ToLower(strings.TrimSpace(pf.Language))
	var feedAuthor *gofeed.Person
	if len(pf.Authors) > 0 {
		feedAuthor = pf.Authors[0]
	}
	n := min(len(pf.Items), max)
	items = make([]item, 0, n)
	for i, it := range pf.Items[:n] {
		if it == nil {
			empty++
			continue
		}
		plain := i < len(pf.plain) && pf.plain[i]
		m := &pipeline.Mention{
			Platform:    mp.platform,
			Source:      mp.source,
			Kind:        mp.kind,
			Title:       HTMLText(it.Title),
			URL:         resolveLink(base, it.Link),
			Lang:        lang,
			CollectedAt: mp.now,
		}
		if i < len(pf.lang) && pf.lang[i] != "" {
			m.Lang = strings.ToLower(pf.lang[i])
		}
		body := it.Content
		if strings.TrimSpace(body) == "" {
			body = it.Description
		}
		if plain {
			m.Text = PlainText(body)
		} else {
			m.Text = HTMLText(body)
		}
		m.Author = author(it, feedAuthor)
		date := it.Published
		switch {
		case it.PublishedParsed != nil:
			m.CreatedAt = *it.PublishedParsed
		case it.UpdatedParsed != nil:
			m.CreatedAt = *it.UpdatedParsed
			date = it.Updated
		default:
			m.CreatedAt = mp.now // first seen
		}
		if m.CreatedAt.After(mp.now.Add(time.Hour)) {
			m.CreatedAt = mp.now // a date in the future is a broken clock or a typo
		}
		m.CreatedAt = m.CreatedAt.UTC()
		id, key, ok := mp.itemID(strings.TrimSpace(it.GUID), m.URL, m.Title, strings.TrimSpace(date), m.Text)
		if !ok {
			empty++
			continue
		}
		m.ID = id
		items = append(items, item{m: m, key: key})
	}
	return items, empty
}

// resolveLink returns link as an absolute http(s) URL resolved against base,
// or "" when it is not one.
func resolveLink(base *url.URL, link string) string {
	link = strings.TrimSpace(link)
	if link == "" {
		return ""
	}
	u, err := base.Parse(link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.String()
}

// author maps the item's first author (RSS author, dc:creator, Atom or JSON
// author), falling back to the feed's. E-mail addresses are not kept. Names
// that are handles (@user, @user@host, /u/name, u/name) also fill Handle.
func author(it *gofeed.Item, feedAuthor *gofeed.Person) pipeline.Author {
	var name string
	if len(it.Authors) > 0 && it.Authors[0] != nil {
		name = it.Authors[0].Name
	} else if it.Author != nil {
		name = it.Author.Name
	}
	if strings.TrimSpace(name) == "" && it.DublinCoreExt != nil {
		// gofeed reads "@user@host" as a malformed e-mail and drops it.
		for _, v := range append(it.DublinCoreExt.Creator, it.DublinCoreExt.Author...) {
			if v = strings.TrimSpace(v); isHandle(v) {
				name = v
				break
			}
		}
	}
	if strings.TrimSpace(name) == "" && feedAuthor != nil {
		name = feedAuthor.Name
	}
	a := pipeline.Author{Name: PlainText(name)}
	for _, pre := range []string{"/u/", "u/", "@"} {
		if h, ok := strings.CutPrefix(a.Name, pre); ok && h != "" && !strings.ContainsAny(h, " \t\n/") {
			a.Handle = h
			break
		}
	}
	return a
}

// isHandle reports whether s is a fediverse handle, @user or @user@host.
func isHandle(s string) bool {
	return len(s) > 1 && s[0] == '@' && !strings.ContainsAny(s, " \t\n")
}
