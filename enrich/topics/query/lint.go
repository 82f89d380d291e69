package query

import (
	"fmt"
	"sort"
	"strings"
)

// Severity of a lint Problem.
type Severity uint8

// Severities: an error makes Parse fail; a warning is a query that parses
// but probably does not mean what its author thinks.
const (
	SeverityError Severity = iota
	SeverityWarning
)

func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Problem is one finding of Lint.
type Problem struct {
	Severity Severity
	Pos, End int // byte range in the query
	Col      int // 1-based column of Pos, in characters
	Msg      string
	Hint     string
}

func (p Problem) String() string {
	s := fmt.Sprintf("col %d: %s: %s", p.Col, p.Severity, p.Msg)
	if p.Hint != "" {
		s += " (" + p.Hint + ")"
	}
	return s
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// Lint reports every problem it finds in q, sorted by position: all syntax
// errors the lexer sees (unbalanced parentheses, unterminated or empty
// quotes, NEAR/ without a number, unknown fields, stray '-', …) or else the
// parser's first error, and warnings for queries that parse but are likely
// mistakes (lowercase operators, implicit AND between words, AND and OR
// mixed without parentheses, rules that require no word and so are
// evaluated on every mention).
func Lint(q string) []Problem {
	l := lex(q)
	out := l.problems
	if firstError(out) == nil {
		p := &parser{src: q, lx: l.out}
		root, err := p.parse()
		switch e := err.(type) {
		case nil:
			out = append(out, p.warnings...)
			out = append(out, lintTree(q, root)...)
		case *SyntaxError:
			out = append(out, Problem{Severity: SeverityError, Pos: e.Pos, End: e.Pos, Col: e.Col, Msg: e.Msg, Hint: e.Hint})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pos < out[j].Pos })
	return out
}

// lintTree reports problems of a parsed query.
func lintTree(q string, root Node) []Problem {
	var out []Problem
	if !Anchored(root) {
		out = append(out, Problem{Severity: SeverityWarning, Pos: 0, End: len(q), Col: 1,
			Msg:  "the query requires no word, tag or handle, so it is checked against every mention",
			Hint: "fine for a few rules like platform:reddit; for many, AND them with words, e.g. acme AND NOT spam"})
	}
	Walk(root, func(n Node) {
		t, ok := n.(*Term)
		if ok && t.Field == FieldLang && t.Kind == TermValue {
			primary, _, _ := strings.Cut(t.Value, "-")
			if !strings.Contains(iso6391, " "+primary+" ") {
				out = append(out, Problem{Severity: SeverityWarning, Pos: t.pos, End: t.pos + len(t.Raw), Col: column(q, t.pos),
					Msg:  fmt.Sprintf("lang:%s: %q is not an ISO 639-1 language code, and mentions carry those, so it matches nothing", t.Raw, primary),
					Hint: "use a two-letter code such as en, de, es or pt (pt-br for a region)"})
			}
			return
		}
		if !ok || t.Kind != TermWords {
			return
		}
		for _, w := range t.Tokens {
			if strings.HasSuffix(w, "?") && !strings.Contains(w[:len(w)-1], "?") && !strings.Contains(w, "*") {
				out = append(out, Problem{Severity: SeverityWarning, Pos: t.pos, End: t.pos + len(t.Raw), Col: column(q, t.pos),
					Msg:  fmt.Sprintf("'?' in %q matches exactly one more letter", t.Raw),
					Hint: "remove the '?' to match the word itself"})
			}
		}
	})
	return out
}

// Anchored reports whether every match of n needs at least one word,
// phrase, tag or handle to occur: then a prefilter on those literals can
// skip n for mentions that contain none of them.
func Anchored(n Node) bool {
	switch n := n.(type) {
	case *Term:
		return n.Kind != TermValue
	case *And:
		for _, x := range n.X {
			if Anchored(x) {
				return true
			}
		}
		return false
	case *Or:
		for _, x := range n.X {
			if !Anchored(x) {
				return false
			}
		}
		return true
	case *Near:
		return true
	}
	return false
}

// iso6391 lists the ISO 639-1 language codes, space-separated and padded.
const iso6391 = " aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy" +
	" da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz" +
	" ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo" +
	" lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps" +
	" pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn" +
	" to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu "
