package query

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxDepth is how deeply parentheses and NOTs may nest.
const MaxDepth = 64

// MinWildcardPrefix is how many letters a wildcard needs before its first
// '*' or '?', so every wildcard stays selective enough to prefilter on.
const MinWildcardPrefix = 3

// Parse parses an analyst query. A malformed query returns a *SyntaxError
// with the position of the first problem and a hint to fix it.
func Parse(q string) (*Query, error) {
	l := lex(q)
	if err := firstError(l.problems); err != nil {
		return nil, err
	}
	p := &parser{src: q, lx: l.out}
	root, err := p.parse()
	if err != nil {
		return nil, err
	}
	return &Query{Root: root, src: q}, nil
}

// MustParse is Parse for queries known to be valid; it panics on error.
func MustParse(q string) *Query {
	x, err := Parse(q)
	if err != nil {
		panic(fmt.Sprintf("query.MustParse(%q): %v", q, err))
	}
	return x
}

func firstError(ps []Problem) *SyntaxError {
	var first *Problem
	for i := range ps {
		if ps[i].Severity == SeverityError && (first == nil || ps[i].Pos < first.Pos) {
			first = &ps[i]
		}
	}
	if first == nil {
		return nil
	}
	return &SyntaxError{Pos: first.Pos, Col: first.Col, Msg: first.Msg, Hint: first.Hint}
}

type parser struct {
	src      string
	lx       []lexeme
	i        int
	depth    int
	field    Field // field of the enclosing field group, if any
	fieldPos int
	grouped  map[Node]bool // nodes written in parentheses
	warnings []Problem
	tok      Tokenizer
}

func (p *parser) peek() lexeme { return p.lx[p.i] }

func (p *parser) next() lexeme {
	x := p.lx[p.i]
	if x.kind != lexEOF {
		p.i++
	}
	return x
}

func (p *parser) errorf(pos int, hint, format string, args ...any) *SyntaxError {
	return &SyntaxError{Pos: pos, Col: column(p.src, pos), Msg: fmt.Sprintf(format, args...), Hint: hint}
}

func (p *parser) warnf(pos, end int, hint, format string, args ...any) {
	p.warnings = append(p.warnings, Problem{Severity: SeverityWarning, Pos: pos, End: end,
		Col: column(p.src, pos), Msg: fmt.Sprintf(format, args...), Hint: hint})
}

func (p *parser) text(x lexeme) string { return p.src[x.pos:x.end] }

func (p *parser) parse() (Node, error) {
	p.grouped = map[Node]bool{}
	if p.peek().kind == lexEOF {
		return nil, p.errorf(0, "write at least one word, e.g. acme OR \"acme corp\"", "empty query")
	}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if x := p.peek(); x.kind != lexEOF {
		// The lexer balances parentheses, so only a stray ')' ends a query early.
		return nil, p.errorf(x.pos, "remove it, or add the '(' it should close", "unexpected %q", p.text(x))
	}
	return n, nil
}

// startsOperand reports whether a lexeme of kind k can begin an operand.
func startsOperand(k lexKind) bool {
	switch k {
	case lexLParen, lexWord, lexQuoted, lexField, lexNot:
		return true
	}
	return false
}

// needRight returns the error for binary operator op with nothing after it.
func (p *parser) needRight(op lexeme) *SyntaxError {
	x := p.peek()
	name := p.text(op)
	switch x.kind {
	case lexEOF:
		return p.errorf(op.pos, "add a term after it, or remove it", "%s at col %d needs something on its right; the query ends there", name, column(p.src, op.pos))
	case lexRParen:
		return p.errorf(op.pos, "add a term after it, or remove it", "%s at col %d needs something on its right before ')'", name, column(p.src, op.pos))
	}
	return p.errorf(x.pos, "two operators in a row: remove one", "%s right after %s", p.text(x), name)
}

func (p *parser) or() (Node, error) {
	x, err := p.and()
	if err != nil {
		return nil, err
	}
	items := []Node{x}
	var ors []lexeme
	for p.peek().kind == lexOr {
		op := p.next()
		ors = append(ors, op)
		if !startsOperand(p.peek().kind) {
			return nil, p.needRight(op)
		}
		y, err := p.and()
		if err != nil {
			return nil, err
		}
		items = append(items, y)
	}
	if len(items) == 1 {
		return x, nil
	}
	for _, it := range items {
		if _, ok := it.(*And); ok && !p.grouped[it] {
			p.warnf(ors[0].pos, ors[0].end, "add parentheses to say which you mean: (a AND b) OR c, or a AND (b OR c)",
				"AND and OR mixed without parentheses: AND binds first")
			break
		}
	}
	return &Or{X: flatten[*Or](items), pos: x.Pos()}, nil
}

func (p *parser) and() (Node, error) {
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	items := []Node{x}
	prev := p.lx[p.i-1]
	for {
		k := p.peek().kind
		switch {
		case k == lexAnd:
			op := p.next()
			if !startsOperand(p.peek().kind) {
				return nil, p.needRight(op)
			}
		case startsOperand(k):
			right := p.peek()
			if plainWord(prev) && plainWord(right) && p.field == FieldAny {
				p.warnf(right.pos, right.end, fmt.Sprintf("write AND, or quote \"%s %s\" to match the exact phrase", p.text(prev), right.text),
					"no operator between %q and %q: read as AND", p.text(prev), p.text(right))
			}
		default:
			if len(items) == 1 {
				return x, nil
			}
			return &And{X: flatten[*And](items), pos: x.Pos()}, nil
		}
		y, err := p.unary()
		if err != nil {
			return nil, err
		}
		items = append(items, y)
		prev = p.lx[p.i-1]
	}
}

// plainWord reports whether x is a bare or quoted term with no field.
func plainWord(x lexeme) bool {
	return (x.kind == lexWord || x.kind == lexQuoted) && !x.glued && !x.opWord
}

// flatten merges nested nodes of type T (written without parentheses or
// not) into one list: a AND (b AND c) is a AND b AND c.
func flatten[T interface {
	*And | *Or
	Node
}](items []Node) []Node {
	out := make([]Node, 0, len(items))
	for _, it := range items {
		if t, ok := it.(T); ok {
			switch n := any(t).(type) {
			case *And:
				out = append(out, n.X...)
				continue
			case *Or:
				out = append(out, n.X...)
				continue
			}
		}
		out = append(out, it)
	}
	return out
}

func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errorf(pos, "simplify the query", "nesting deeper than %d", MaxDepth)
	}
	return nil
}

func (p *parser) unary() (Node, error) {
	if p.peek().kind != lexNot {
		return p.near()
	}
	op := p.next()
	if err := p.enter(op.pos); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if !startsOperand(p.peek().kind) {
		return nil, p.needRight(op)
	}
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	return &Not{X: x, pos: op.pos}, nil
}

func (p *parser) near() (Node, error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == lexNear {
		op := p.next()
		name := p.text(op)
		if p.peek().kind == lexNot {
			return nil, p.errorf(p.peek().pos, "to exclude the pair, write NOT (a "+name+" b)", "NOT cannot be an operand of %s", name)
		}
		if !startsOperand(p.peek().kind) {
			return nil, p.needRight(op)
		}
		y, err := p.primary()
		if err != nil {
			return nil, err
		}
		for _, side := range []Node{x, y} {
			if err := p.positional(side, name); err != nil {
				return nil, err
			}
		}
		x = &Near{X: x, Y: y, Dist: op.dist, Ordered: op.ordered, pos: x.Pos()}
	}
	return x, nil
}

// positional checks that n can be an operand of NEAR: words, phrases,
// tags, OR-groups of them, or another NEAR.
func (p *parser) positional(n Node, op string) error {
	const hint = "NEAR takes words, phrases, #tags or (a OR b) groups; combine other conditions outside: (a NEAR/3 b) AND c"
	switch n := n.(type) {
	case *Term:
		switch n.Field {
		case FieldAny, FieldTitle, FieldText:
			return nil
		}
		return p.errorf(n.pos, hint, "%s: cannot be an operand of %s", n.Field, op)
	case *Or:
		for _, x := range n.X {
			if err := p.positional(x, op); err != nil {
				return err
			}
		}
		return nil
	case *Near:
		return nil
	case *And:
		return p.errorf(n.pos, hint, "AND inside %s", op)
	case *Not:
		return p.errorf(n.pos, hint, "NOT cannot be an operand of %s", op)
	}
	return p.errorf(n.Pos(), hint, "unexpected operand of %s", op)
}

func (p *parser) primary() (Node, error) {
	x := p.next()
	switch x.kind {
	case lexLParen:
		if err := p.enter(x.pos); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		if p.peek().kind == lexRParen {
			return nil, p.errorf(x.pos, "put terms inside, or remove them", "empty parentheses")
		}
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != lexRParen {
			return nil, p.errorf(c.pos, "", "expected ')' to close the '(' at col %d", column(p.src, x.pos))
		}
		p.grouped[n] = true
		return n, nil
	case lexField:
		f := Field(x.text)
		if p.field != FieldAny {
			return nil, p.errorf(x.pos, "a term has one field; move it out of the group", "%s inside %s:(…) at col %d", p.text(x), p.field, column(p.src, p.fieldPos))
		}
		switch v := p.peek(); v.kind {
		case lexWord, lexQuoted, lexLParen:
		case lexField:
			return nil, p.errorf(v.pos, "a term has one field", "%s right after %s", p.text(v), p.text(x))
		default:
			return nil, p.errorf(x.pos, "put the value right after the colon", "%s needs a value", p.text(x))
		}
		p.field, p.fieldPos = f, x.pos
		defer func() { p.field = FieldAny }()
		n, err := p.primary()
		if err != nil {
			return nil, err
		}
		if t, ok := n.(*Term); ok {
			t.pos = x.pos
		}
		return n, nil
	case lexWord:
		return p.term(x, false)
	case lexQuoted:
		return p.term(x, true)
	case lexAnd, lexOr, lexNear:
		return nil, p.errorf(x.pos, "add a term before it, or remove it", "%s at col %d needs something on its left", p.text(x), column(p.src, x.pos))
	case lexEOF:
		return nil, p.errorf(x.pos, "add a term", "the query ends where a term was expected")
	}
	return nil, p.errorf(x.pos, "", "unexpected %q", p.text(x))
}

// term builds a leaf from a word or a quoted phrase.
func (p *parser) term(x lexeme, quoted bool) (Node, error) {
	t := &Term{Field: p.field, Raw: x.text, Quoted: quoted, pos: x.pos}
	if valueField(p.field) {
		v, err := p.value(p.field, x)
		if err != nil {
			return nil, err
		}
		t.Kind, t.Value = TermValue, v
		return t, nil
	}
	if !quoted && len(x.text) > 1 {
		switch x.text[0] {
		case '#':
			return p.sigil(t, x, TermHashtag)
		case '@':
			return p.sigil(t, x, TermMention)
		case '$':
			if r, _ := utf8.DecodeRuneInString(x.text[1:]); !('0' <= r && r <= '9') {
				return p.sigil(t, x, TermCashtag)
			}
		}
	}
	p.tok.Reset()
	p.tok.Wildcards, p.tok.NoSigils = true, true
	p.tok.Tokenize(x.text)
	if len(p.tok.Tokens) == 0 {
		if quoted {
			return nil, p.errorf(x.pos, "put letters or digits between the quotes", "nothing to match in %s", p.text(x))
		}
		return nil, p.errorf(x.pos, "terms are matched on letters and digits", "%q has no letters or digits to match", x.text)
	}
	for _, tok := range p.tok.Tokens {
		w := string(p.tok.Folded(tok))
		if err := p.checkWild(w, x); err != nil {
			return nil, err
		}
		t.Tokens = append(t.Tokens, w)
	}
	return t, nil
}

func (p *parser) checkWild(w string, x lexeme) error {
	k := strings.IndexAny(w, "*?")
	if k < 0 {
		return nil
	}
	if utf8.RuneCountInString(w[:k]) < MinWildcardPrefix {
		return p.errorf(x.pos, "write the whole word or a longer stem; short stems match too much and cannot be prefiltered",
			"wildcard needs at least %d letters before %c in %q", MinWildcardPrefix, w[k], x.text)
	}
	return nil
}

func (p *parser) sigil(t *Term, x lexeme, kind TermKind) (Node, error) {
	body := x.text[1:]
	name := map[TermKind]string{TermHashtag: "hashtag", TermMention: "handle", TermCashtag: "cashtag"}[kind]
	switch {
	case t.Field == FieldAuthor && kind != TermMention:
		return nil, p.errorf(x.pos, "author: takes a handle or a name", "author: cannot take a %s", name)
	case t.Field == FieldAuthor:
	case t.Field != FieldAny && t.Field != FieldTitle && t.Field != FieldText:
		return nil, p.errorf(x.pos, "", "%s: cannot take a %s", t.Field, name)
	}
	for _, r := range body {
		if r != '_' && !wordRune(r) && !markRune(r) && !wild(r) {
			return nil, p.errorf(x.pos, "a "+name+" has letters, digits and _ only; quote the text to match words", "%q is not a valid %s", x.text, name)
		}
	}
	p.tok.Reset()
	p.tok.Wildcards = true
	v := string(p.tok.fold(nil, body))
	if v == "" || strings.Trim(v, "*?") == "" {
		return nil, p.errorf(x.pos, "write the "+name+" right after "+x.text[:1], "%q is not a valid %s", x.text, name)
	}
	if err := p.checkWild(v, x); err != nil {
		return nil, err
	}
	t.Kind, t.Raw, t.Value = kind, body, v
	return t, nil
}

// value validates and normalizes the value of a site:, lang: or platform: term.
func (p *parser) value(f Field, x lexeme) (string, error) {
	v := strings.ToLower(strings.TrimSpace(x.text))
	bad := func(hint string) error {
		return p.errorf(x.pos, hint, "%q is not a valid %s: value", x.text, f)
	}
	switch f {
	case FieldSite:
		for _, scheme := range []string{"https://", "http://"} {
			v = strings.TrimPrefix(v, scheme)
		}
		v = strings.TrimSuffix(v, "/")
		v = strings.TrimPrefix(v, "*.")
		v = strings.TrimPrefix(v, "www.")
		if v == "" || strings.ContainsAny(v, "/?#:@*") {
			return "", bad("site: takes a host name and matches its subdomains: site:example.com")
		}
		for _, label := range strings.Split(v, ".") {
			if label == "" || strings.IndexFunc(label, func(r rune) bool { return r != '-' && !wordRune(r) }) >= 0 {
				return "", bad("site: takes a host name and matches its subdomains: site:example.com")
			}
		}
	case FieldLang:
		v = strings.ReplaceAll(v, "_", "-")
		parts := strings.Split(v, "-")
		ok := len(parts[0]) >= 2 && len(parts[0]) <= 3 && isFieldName(parts[0])
		for _, s := range parts[1:] {
			ok = ok && s != "" && len(s) <= 8 && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789") == ""
		}
		if !ok {
			return "", bad("use a language code such as en, de or pt-br")
		}
	case FieldPlatform:
		if v == "" || strings.Trim(v, "abcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
			return "", bad("use a platform name such as twitter, reddit, rss")
		}
	}
	return v, nil
}

// Fields returns the distinct fields used in n, sorted.
func Fields(n Node) []Field {
	var out []Field
	Walk(n, func(x Node) {
		if t, ok := x.(*Term); ok && !slices.Contains(out, t.Field) {
			out = append(out, t.Field)
		}
	})
	slices.Sort(out)
	return out
}
