package twitter

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// ErrNotSimple is returned when an analyst query cannot be translated to an
// X query (or to v1.1 track terms) without guessing; the topic then needs an
// explicit x_query.
var ErrNotSimple = errors.New("query is not simple enough to translate")

// qnode is a parsed query: a term, a negation, or an AND/OR group.
type qnode struct {
	op       string // "term", "not", "and", "or"
	text     string // term text
	phrase   bool   // term was "quoted"
	children []*qnode
}

// parseQuery parses the simple query language shared by earshot topics and X:
// words, "phrases", AND (or juxtaposition), OR, NOT (or a leading '-') and
// parentheses. Operators are upper case; anything that looks like a platform
// operator (field:value, wildcards) is rejected as not simple.
func parseQuery(q string) (*qnode, error) {
	toks, err := lexQuery(q)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("%w: empty query", ErrNotSimple)
	}
	p := &qparser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("%w: unexpected %q", ErrNotSimple, p.toks[p.pos].text)
	}
	if !positive(n) {
		return nil, fmt.Errorf("%w: a query needs at least one term that is not negated", ErrNotSimple)
	}
	return n, nil
}

type qtok struct {
	kind string // "word", "phrase", "(", ")", "AND", "OR", "NOT", "-"
	text string
}

func lexQuery(q string) ([]qtok, error) {
	var toks []qtok
	rs := []rune(q)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '(' || r == ')':
			toks = append(toks, qtok{kind: string(r), text: string(r)})
			i++
		case r == '"':
			j := i + 1
			for j < len(rs) && rs[j] != '"' {
				j++
			}
			if j == len(rs) {
				return nil, fmt.Errorf("%w: unterminated phrase", ErrNotSimple)
			}
			ph := strings.Join(strings.Fields(string(rs[i+1:j])), " ")
			if ph == "" {
				return nil, fmt.Errorf("%w: empty phrase", ErrNotSimple)
			}
			toks = append(toks, qtok{kind: "phrase", text: ph})
			i = j + 1
		case r == '-' && i+1 < len(rs) && !unicode.IsSpace(rs[i+1]):
			// A '-' at the start of a token negates; inside a word ("e-mail") it is part of it.
			toks = append(toks, qtok{kind: "-", text: "-"})
			i++
		default:
			j := i
			for j < len(rs) && !unicode.IsSpace(rs[j]) && rs[j] != '(' && rs[j] != ')' && rs[j] != '"' {
				j++
			}
			w := string(rs[i:j])
			i = j
			switch w {
			case "AND", "OR", "NOT":
				toks = append(toks, qtok{kind: w, text: w})
				continue
			}
			if strings.ContainsAny(w, ":*?~^[]{}<>=\\|") {
				return nil, fmt.Errorf("%w: %q looks like an operator", ErrNotSimple, w)
			}
			toks = append(toks, qtok{kind: "word", text: w})
		}
	}
	return toks, nil
}

type qparser struct {
	toks []qtok
	pos  int
}

func (p *qparser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos].kind
	}
	return ""
}

func (p *qparser) or() (*qnode, error) {
	first, err := p.and()
	if err != nil {
		return nil, err
	}
	n := &qnode{op: "or", children: []*qnode{first}}
	for p.peek() == "OR" {
		p.pos++
		c, err := p.and()
		if err != nil {
			return nil, err
		}
		n.children = append(n.children, c)
	}
	if len(n.children) == 1 {
		return first, nil
	}
	return n, nil
}

func (p *qparser) and() (*qnode, error) {
	n := &qnode{op: "and"}
	for {
		switch p.peek() {
		case "", ")", "OR":
			if len(n.children) == 0 {
				return nil, fmt.Errorf("%w: an operator has nothing to apply to", ErrNotSimple)
			}
			if len(n.children) == 1 {
				return n.children[0], nil
			}
			return n, nil
		case "AND":
			p.pos++
			if k := p.peek(); k == "" || k == ")" || k == "OR" || k == "AND" || len(n.children) == 0 {
				return nil, fmt.Errorf("%w: AND needs a term on both sides", ErrNotSimple)
			}
		}
		c, err := p.unary()
		if err != nil {
			return nil, err
		}
		n.children = append(n.children, c)
	}
}

func (p *qparser) unary() (*qnode, error) {
	switch p.peek() {
	case "NOT", "-":
		p.pos++
		c, err := p.unary()
		if err != nil {
			return nil, err
		}
		if c.op == "not" {
			return nil, fmt.Errorf("%w: double negation", ErrNotSimple)
		}
		return &qnode{op: "not", children: []*qnode{c}}, nil
	case "(":
		p.pos++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("%w: unbalanced parentheses", ErrNotSimple)
		}
		p.pos++
		return n, nil
	case "word", "phrase":
		t := p.toks[p.pos]
		p.pos++
		return &qnode{op: "term", text: t.text, phrase: t.kind == "phrase"}, nil
	case "":
		return nil, fmt.Errorf("%w: query ends after an operator", ErrNotSimple)
	default:
		return nil, fmt.Errorf("%w: unexpected %q", ErrNotSimple, p.toks[p.pos].text)
	}
}

// positive reports whether n can match without only negations.
func positive(n *qnode) bool {
	switch n.op {
	case "term":
		return true
	case "not":
		return false
	case "and":
		for _, c := range n.children {
			if positive(c) {
				return true
			}
		}
		return false
	default: // or
		for _, c := range n.children {
			if !positive(c) {
				return false
			}
		}
		return true
	}
}

// renderX renders a parsed query in X's search/rule syntax: juxtaposition for
// AND, upper-case OR, '-' for negation, parentheses for grouping.
func renderX(n *qnode) string {
	switch n.op {
	case "term":
		if n.phrase {
			return `"` + n.text + `"`
		}
		return n.text
	case "not":
		c := n.children[0]
		if c.op == "term" {
			return "-" + renderX(c)
		}
		return "-(" + renderX(c) + ")"
	case "and":
		parts := make([]string, len(n.children))
		for i, c := range n.children {
			parts[i] = renderX(c)
			if c.op == "or" {
				parts[i] = "(" + parts[i] + ")"
			}
		}
		return strings.Join(parts, " ")
	default:
		parts := make([]string, len(n.children))
		for i, c := range n.children {
			parts[i] = renderX(c)
		}
		return strings.Join(parts, " OR ")
	}
}

// XQuery derives the X API query for an analyst query, or returns an error
// wrapping ErrNotSimple.
func XQuery(analyst string) (string, error) {
	n, err := parseQuery(analyst)
	if err != nil {
		return "", err
	}
	return renderX(n), nil
}

// maxTrackBytes is v1.1 statuses/filter's limit on one track phrase.
const maxTrackBytes = 60

// trackTerms derives v1.1 statuses/filter track phrases from a query: an OR
// of terms or AND groups of terms, without negation. A phrase becomes its
// words (v1.1 track matches all words of a phrase in any order), which is
// broader than the phrase; the topics stage narrows it again.
func trackTerms(query string) ([]string, error) {
	n, err := parseQuery(query)
	if err != nil {
		return nil, err
	}
	var disj []*qnode
	if n.op == "or" {
		disj = n.children
	} else {
		disj = []*qnode{n}
	}
	out := make([]string, 0, len(disj))
	for _, d := range disj {
		var words []string
		var conj []*qnode
		if d.op == "and" {
			conj = d.children
		} else {
			conj = []*qnode{d}
		}
		for _, c := range conj {
			if c.op != "term" {
				return nil, fmt.Errorf("%w: v1.1 track terms take OR of words, without NOT or nested groups", ErrNotSimple)
			}
			words = append(words, strings.Fields(c.text)...)
		}
		term := strings.Join(words, " ")
		if strings.Contains(term, ",") {
			return nil, fmt.Errorf("%w: a track term cannot contain a comma", ErrNotSimple)
		}
		if len(term) > maxTrackBytes {
			return nil, fmt.Errorf("%w: track term %q is longer than %d bytes", ErrNotSimple, term, maxTrackBytes)
		}
		out = append(out, term)
	}
	return out, nil
}

// trackMatches reports whether every word of a track term occurs in the
// lower-cased haystack, as v1.1 track matching does (approximately: X also
// matches on tokens inside URLs and screen names, which hay includes).
func trackMatches(term, hay string) bool {
	for _, w := range strings.Fields(strings.ToLower(term)) {
		w = strings.TrimLeft(w, "#@$")
		if !strings.Contains(hay, w) {
			return false
		}
	}
	return true
}
