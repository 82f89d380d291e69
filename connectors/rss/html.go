package rss

import "github.com/earshot-dev/earshot/connectors/htmltext"

// HTMLText returns the readable text of an HTML fragment (see
// htmltext.Text, which connectors share).
func HTMLText(s string) string { return htmltext.Text(s) }

// PlainText collapses the whitespace of plain text, keeping line breaks.
func PlainText(s string) string { return htmltext.PlainText(s) }
