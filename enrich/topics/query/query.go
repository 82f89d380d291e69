// Package query parses and lints the analyst query language of earshot
// topics: the boolean syntax social listening analysts already write.
//
//	(apple OR iphone OR "app store") AND NOT (pie OR "apple juice")
//	recall* NEAR/5 (airbag OR brakes)
//	title:"product launch" lang:en site:theverge.com
//	#WWDC OR @tim_cook OR $AAPL
//
// Operators are upper case: AND, OR, NOT, NEAR/n (within n words either
// way), ONEAR/n (left operand first; NEAR/nf is the same). Adjacent terms
// with no operator are joined by AND. Precedence, tightest first:
// NEAR, NOT, AND, OR; "a OR b NOT c NEAR/2 d" is
// "a OR (b AND NOT (c NEAR/2 d))". Parentheses group.
//
// Terms are words, "exact phrases", wildcards (recall* for any ending,
// wom?n for one letter; at least 3 letters before the first wildcard),
// #hashtags, @handles and $cashtags, optionally restricted by a field:
// title:, text:, author:, site: (or domain:), lang:, platform:. A field
// applies to one term or to a parenthesized group: title:(a OR b).
//
// Matching is on words, case- and accent-insensitive: see Tokenizer for the
// exact rules. enrich/topics/README.md is the analyst-facing reference.
package query

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Query is a parsed query.
type Query struct {
	Root Node
	src  string
}

// Source returns the text the query was parsed from.
func (q *Query) Source() string { return q.src }

// String returns the query in canonical form: operators in upper case,
// implicit ANDs written out, parentheses where precedence needs them.
// Parse(q.String()) yields the same query.
func (q *Query) String() string { return q.Root.String() }

// Node is a node of the query tree: *And, *Or, *Not, *Near or *Term.
type Node interface {
	// Pos is the byte offset in the source where the node starts.
	Pos() int
	String() string
	isNode()
}

// And matches when all of X match.
type And struct {
	X   []Node
	pos int
}

// Or matches when any of X matches.
type Or struct {
	X   []Node
	pos int
}

// Not matches when X does not.
type Not struct {
	X   Node
	pos int
}

// Near matches when X and Y occur in the same field with at most Dist words
// between them; when Ordered, X must come first.
type Near struct {
	X, Y    Node
	Dist    int
	Ordered bool
	pos     int
}

// Field names a term's field.
type Field string

// Fields. FieldAny is the title and the text of the mention.
const (
	FieldAny      Field = ""
	FieldTitle    Field = "title"
	FieldText     Field = "text"
	FieldAuthor   Field = "author" // handle (whole) or display name (words)
	FieldSite     Field = "site"   // host of the URL or of a linked domain, with subdomains
	FieldLang     Field = "lang"
	FieldPlatform Field = "platform"
)

// fieldNames maps what analysts write before ':' to the field.
var fieldNames = map[string]Field{
	"title": FieldTitle, "text": FieldText, "author": FieldAuthor, "site": FieldSite,
	"domain": FieldSite, "lang": FieldLang, "language": FieldLang, "platform": FieldPlatform,
}

// valueField reports whether f takes a literal value rather than words.
func valueField(f Field) bool { return f == FieldSite || f == FieldLang || f == FieldPlatform }

// TermKind says what a Term matches.
type TermKind uint8

// Term kinds.
const (
	TermWords   TermKind = iota // a word, phrase or wildcard: Tokens
	TermHashtag                 // #tag: Value is the folded tag
	TermMention                 // @handle: Value is the folded handle
	TermCashtag                 // $TICKER: Value is the folded ticker
	TermValue                   // the value of site:, lang: or platform:
)

// Term is a leaf of the query tree.
type Term struct {
	Field  Field
	Kind   TermKind
	Raw    string // as written, without field, sigil and quotes
	Quoted bool
	// Tokens are the folded words of a TermWords term; a token containing
	// '*' or '?' is a wildcard pattern. More than one token is a phrase.
	Tokens []string
	// Value is the folded tag, handle or ticker (wildcards kept), or the
	// normalized site, lang or platform value.
	Value string
	pos   int
}

func (n *And) Pos() int  { return n.pos }
func (n *Or) Pos() int   { return n.pos }
func (n *Not) Pos() int  { return n.pos }
func (n *Near) Pos() int { return n.pos }
func (n *Term) Pos() int { return n.pos }

func (*And) isNode()  {}
func (*Or) isNode()   {}
func (*Not) isNode()  {}
func (*Near) isNode() {}
func (*Term) isNode() {}

// Wild reports whether s is a wildcard pattern.
func Wild(s string) bool { return strings.ContainsAny(s, "*?") }

func (n *And) String() string {
	parts := make([]string, len(n.X))
	for i, x := range n.X {
		parts[i] = paren(x, isOr)
	}
	return strings.Join(parts, " AND ")
}

func (n *Or) String() string {
	parts := make([]string, len(n.X))
	for i, x := range n.X {
		parts[i] = paren(x, isOr)
	}
	return strings.Join(parts, " OR ")
}

func (n *Not) String() string {
	return "NOT " + paren(n.X, func(x Node) bool { return isOr(x) || isAnd(x) })
}

func (n *Near) String() string {
	op := "NEAR/"
	if n.Ordered {
		op = "ONEAR/"
	}
	group := func(x Node) bool {
		switch x.(type) {
		case *Term:
			return false
		}
		return true
	}
	return paren(n.X, group) + " " + op + strconv.Itoa(n.Dist) + " " + paren(n.Y, group)
}

func (n *Term) String() string {
	var b strings.Builder
	if n.Field != FieldAny {
		b.WriteString(string(n.Field))
		b.WriteByte(':')
	}
	switch n.Kind {
	case TermHashtag:
		b.WriteByte('#')
	case TermMention:
		b.WriteByte('@')
	case TermCashtag:
		b.WriteByte('$')
	}
	if n.Quoted {
		b.WriteByte('"')
		b.WriteString(n.Raw)
		b.WriteByte('"')
	} else {
		b.WriteString(n.Raw)
	}
	return b.String()
}

func isOr(x Node) bool  { _, ok := x.(*Or); return ok }
func isAnd(x Node) bool { _, ok := x.(*And); return ok }

func paren(x Node, need func(Node) bool) string {
	if need(x) {
		return "(" + x.String() + ")"
	}
	return x.String()
}

// SyntaxError is a query that cannot be parsed: where, what and how to fix it.
type SyntaxError struct {
	Pos  int // byte offset in the query
	Col  int // 1-based column, in characters
	Msg  string
	Hint string
}

func (e *SyntaxError) Error() string {
	if e.Hint == "" {
		return fmt.Sprintf("col %d: %s", e.Col, e.Msg)
	}
	return fmt.Sprintf("col %d: %s (%s)", e.Col, e.Msg, e.Hint)
}

// column returns the 1-based character column of byte offset pos in s.
func column(s string, pos int) int {
	if pos > len(s) {
		pos = len(s)
	}
	return utf8.RuneCountInString(s[:pos]) + 1
}

// Walk calls fn for n and every node below it, parents first.
func Walk(n Node, fn func(Node)) {
	fn(n)
	switch n := n.(type) {
	case *And:
		for _, x := range n.X {
			Walk(x, fn)
		}
	case *Or:
		for _, x := range n.X {
			Walk(x, fn)
		}
	case *Not:
		Walk(n.X, fn)
	case *Near:
		Walk(n.X, fn)
		Walk(n.Y, fn)
	}
}
