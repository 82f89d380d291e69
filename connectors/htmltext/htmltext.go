// Package htmltext turns HTML fragments (feed items, Mastodon statuses) into
// clean text. Connectors share it; it holds no platform knowledge.
package htmltext

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Text returns the readable text of an HTML fragment: script, style and
// similar elements are dropped, entities decoded, block elements and <br>
// become line breaks, table cells are separated by spaces, and whitespace is
// collapsed (no leading, trailing or repeated spaces or blank lines).
func Text(s string) string {
	var w textWriter
	w.b.Grow(len(s))
	if !strings.ContainsAny(s, "<&") {
		w.text([]byte(s), false)
		return w.b.String()
	}
	z := html.NewTokenizer(strings.NewReader(s))
	skip := 0 // depth inside elements whose content is not text
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return w.b.String()
		case html.TextToken:
			if skip == 0 {
				w.text(z.Text(), false)
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			switch {
			case skipped[a]:
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case a == atom.Br || blocks[a]:
				w.newline()
			case a == atom.Td || a == atom.Th || a == atom.Img:
				w.space()
			}
		}
	}
}

// PlainText collapses the whitespace of plain text the way Text does,
// keeping line breaks.
func PlainText(s string) string {
	var w textWriter
	w.b.Grow(len(s))
	w.text([]byte(s), true)
	return w.b.String()
}

// skipped elements contribute no text.
var skipped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true, atom.Iframe: true,
	atom.Noembed: true, atom.Noframes: true, atom.Svg: true, atom.Math: true, atom.Head: true,
	atom.Object: true, atom.Select: true,
}

// blocks start and end on their own line.
var blocks = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true, atom.Details: true,
	atom.Dd: true, atom.Div: true, atom.Dl: true, atom.Dt: true, atom.Fieldset: true, atom.Figcaption: true,
	atom.Figure: true, atom.Footer: true, atom.Form: true, atom.H1: true, atom.H2: true, atom.H3: true,
	atom.H4: true, atom.H5: true, atom.H6: true, atom.Header: true, atom.Hr: true, atom.Li: true,
	atom.Main: true, atom.Nav: true, atom.Ol: true, atom.P: true, atom.Pre: true, atom.Section: true,
	atom.Summary: true, atom.Table: true, atom.Tr: true, atom.Ul: true, atom.Caption: true,
	atom.Body: true, atom.Html: true,
}

// textWriter appends text with whitespace collapsed: a run of spaces becomes
// one space, a run containing a line break becomes one line break, and
// nothing is written before the first or after the last visible rune.
type textWriter struct {
	b       strings.Builder
	pending byte // 0, ' ' or '\n': separator owed before the next visible rune
}

func (w *textWriter) space() {
	if w.pending == 0 {
		w.pending = ' '
	}
}

func (w *textWriter) newline() { w.pending = '\n' }

// text writes p; newlines in p are line breaks when keepNL is set (plain
// text), ordinary spaces otherwise (HTML).
func (w *textWriter) text(p []byte, keepNL bool) {
	for len(p) > 0 {
		r, size := utf8.DecodeRune(p)
		p = p[size:]
		switch {
		case r == '\n' && keepNL:
			w.newline()
		case unicode.IsSpace(r):
			w.space()
		case unicode.IsControl(r) || r == '\u200b' || r == '\ufeff':
			// Dropped: controls, zero-width spaces and byte order marks carry no text.
		default:
			if w.pending != 0 && w.b.Len() > 0 {
				w.b.WriteByte(w.pending)
			}
			w.pending = 0
			w.b.WriteRune(r) // an invalid byte is written as U+FFFD
		}
	}
}
