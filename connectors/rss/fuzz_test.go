package rss

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/earshot-dev/earshot/pipeline"
)

// hostileFeeds are seed inputs a feed server could send on purpose or by
// accident: huge items, deep nesting, invalid UTF-8, control characters,
// script in HTML, entity expansion (billion laughs), JSON Feed nulls.
func hostileFeeds() map[string]string {
	huge := strings.Repeat("acme is great &amp; cheap. ", 4000) // 108 kB, past pipeline.MaxTextBytes
	deep := strings.Repeat("<div>", 5000) + "acme" + strings.Repeat("</div>", 5000)
	laughs := `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<rss version="2.0"><channel><title>&lol9;</title><item><guid>l</guid><title>&lol9;</title><description>&lol9;</description></item></channel></rss>`
	return map[string]string{
		"huge_item.xml": `<rss version="2.0"><channel><item><guid>h</guid><description>` + huge + `</description></item></channel></rss>`,
		"deep_xml.xml":  `<rss version="2.0"><channel><item><guid>d</guid><description><![CDATA[` + deep + `]]></description></item></channel></rss>`,
		"deep_elements.xml": `<rss version="2.0"><channel><item><guid>e</guid>` + strings.Repeat("<x>", 5000) +
			strings.Repeat("</x>", 5000) + `</item></channel></rss>`,
		"deep_json.json":   `{"version":"https://jsonfeed.org/version/1.1","items":[{"id":"1","content_text":"a","_x":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}]}`,
		"laughs.xml":       laughs,
		"invalid_utf8.xml": "<rss version=\"2.0\"><channel><item><guid>u</guid><title>caf\xe9 \xff\xfe \xc3</title><description>it\x92s \xed\xa0\x80</description></item></channel></rss>",
		"control.xml":      "<rss version=\"2.0\"><channel><item><guid>c</guid><title>a&#x1;b&#0;c</title><description>x\x01y\x1bz&#x7f;</description></item></channel></rss>",
		"script.xml": `<rss version="2.0"><channel><item><guid>s</guid><description>&lt;script&gt;alert(1)&lt;/script&gt;&lt;p onclick="x()"&gt;hi&lt;/p&gt;` +
			`&lt;style&gt;p{}&lt;/style&gt;&lt;iframe src=javascript:alert(2)&gt;&lt;/iframe&gt;</description><link>javascript:alert(3)</link></item></channel></rss>`,
		"null_items.json": `{"version":"https://jsonfeed.org/version/1.1","authors":[null],"items":[null,{"id":null,"authors":[null],"content_html":null},null]}`,
		"json_types.json": `{"version":"https://jsonfeed.org/version/1.1","items":[{"id":1e400,"url":{"a":1},"title":["x"]}]}`,
		"atom_nested.xml": `<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>tag:a,2026:1</id><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">` + strings.Repeat("<b>", 3000) + "x" + strings.Repeat("</b>", 3000) + `</div></content></entry></feed>`,
		"utf16.xml":       "\xff\xfe<\x00r\x00s\x00s\x00>\x00",
		"future_date.xml": `<rss version="2.0"><channel><item><guid>f</guid><title>t</title><pubDate>Mon, 01 Jan 2999 00:00:00 GMT</pubDate></item></channel></rss>`,
		"empty_items.xml": `<rss version="2.0"><channel><item></item><item><guid></guid></item></channel></rss>`,
		"not_a_feed.html": `<html><body>hello</body></html>`,
		"empty.txt":       ``,
		"json_items_null": `{"version":"https://jsonfeed.org/version/1","items":null}`,
		"latin1_declared": "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel><item><guid>l</guid><title>caf\xe9</title></item></channel></rss>",
		"bogus_encoding":  "<?xml version=\"1.0\" encoding=\"x-nonexistent\"?><rss version=\"2.0\"><channel><item><guid>z</guid></item></channel></rss>",
	}
}

// FuzzFeed checks that any response body maps to mentions that are safe to
// publish: parseFeed never panics and only fails with ErrParse; every mapped
// mention has an rss id, valid UTF-8 text no larger than what the body can
// produce, an http(s) URL or none, a date not in the future; Normalize
// accepts it and the wire codec round-trips it exactly.
func FuzzFeed(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.*")
	demo, _ := filepath.Glob("testdata/demo/*")
	for _, p := range append(files, demo...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, "")
		}
	}
	for _, s := range hostileFeeds() {
		f.Add([]byte(s), "application/rss+xml; charset=windows-1252")
	}
	f.Add([]byte("<rss version=\"2.0\"><channel><item><guid>1</guid><title>\xe9t\xe9</title></item></channel></rss>"), "text/xml; charset=iso-8859-1")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		pf, err := parseFeed(body, contentType)
		if err != nil {
			if !errors.Is(err, ErrParse) {
				t.Fatalf("parseFeed() = %v; want an ErrParse", err)
			}
			return
		}
		mp := testMapper("https://feeds.example/feed.xml")
		const max = 500
		items, empty := mp.mapFeed(pf, max)
		if len(items)+empty > min(len(pf.Items), max) {
			t.Fatalf("mapFeed() = %d items + %d empty from %d feed items (max %d)", len(items), empty, len(pf.Items), max)
		}
		// Charset repair turns one byte into at most 3 (U+FFFD); a feed-level
		// author is repeated per item, so bound each field, not the sum.
		limit := 3*len(body) + 16
		for _, it := range items {
			m := it.m
			if !strings.HasPrefix(m.ID, "rss:") || len(m.ID) != len("rss:")+32 {
				t.Fatalf("mapped id %q; want rss:<32 hex>", m.ID)
			}
			for name, s := range map[string]string{"title": m.Title, "text": m.Text, "author": m.Author.Name, "handle": m.Author.Handle, "url": m.URL} {
				if !utf8.ValidString(s) {
					t.Fatalf("mapped %s %q is not valid UTF-8", name, s)
				}
				if len(s) > limit {
					t.Fatalf("mapped %s is %d bytes from a %d-byte body", name, len(s), len(body))
				}
			}
			if m.URL != "" && !strings.HasPrefix(m.URL, "http://") && !strings.HasPrefix(m.URL, "https://") {
				t.Fatalf("mapped url %q; want http(s) or empty", m.URL)
			}
			if m.CreatedAt.After(mp.now.Add(time.Hour)) || m.CreatedAt.Location() != time.UTC {
				t.Fatalf("mapped created_at %v; want UTC, not after %v", m.CreatedAt, mp.now.Add(time.Hour))
			}
			if err := m.Normalize(mp.now); err != nil {
				t.Fatalf("Normalize(mapped) = %v", err)
			}
			roundTrip(t, m)
		}
	})
}

func roundTrip(t *testing.T, m *pipeline.Mention) {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatalf("Marshal() = %v", err)
	}
	got, err := pipeline.Unmarshal(b)
	if err != nil {
		t.Fatalf("Unmarshal(Marshal()) = %v", err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("Unmarshal(Marshal(m)) = %+v; want %+v", got, m)
	}
}
