package poll

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// DeriveQueries turns an analyst query into platform search queries: one per
// top-level OR branch, with AND, parentheses, field prefixes and # @ $
// removed, quoted phrases kept, and NOT terms dropped (the topics stage
// applies the whole query afterwards, so the searches only need to
// over-approximate it).
func DeriveQueries(q string) []string {
	var out []string
	for _, branch := range splitOr(q) {
		var words []string
		toks := tokens(branch)
		for i := 0; i < len(toks); i++ {
			w := toks[i]
			switch strings.ToUpper(w) {
			case "AND", "(", ")":
				continue
			case "NOT":
				i++ // skip the negated term
				continue
			}
			if strings.HasPrefix(w, "-") {
				continue
			}
			if k, v, ok := strings.Cut(w, ":"); ok && !strings.HasPrefix(w, `"`) && k != "" {
				if k == "lang" || k == "platform" || k == "author" || k == "site" || k == "domain" {
					continue
				}
				w = v
			}
			w = strings.TrimLeft(w, "#@$")
			w = strings.TrimRight(w, "*?")
			if strings.HasPrefix(strings.ToUpper(w), "NEAR/") || strings.HasPrefix(strings.ToUpper(w), "ONEAR/") {
				continue
			}
			if w != "" && w != `""` {
				words = append(words, w)
			}
		}
		if len(words) > 0 {
			out = append(out, strings.Join(words, " "))
		}
	}
	return out
}

// splitOr splits q on OR outside quotes and parentheses.
func splitOr(q string) []string {
	toks := tokens(q)
	var out []string
	var cur []string
	depth := 0
	for _, t := range toks {
		switch {
		case t == "(":
			depth++
		case t == ")":
			depth--
		case t == "OR" && depth <= 0:
			out = append(out, strings.Join(cur, " "))
			cur = nil
			continue
		}
		cur = append(cur, t)
	}
	out = append(out, strings.Join(cur, " "))
	// a parenthesised group of ORs at top level: split inside it too
	var flat []string
	for _, b := range out {
		tb := tokens(b)
		if len(tb) > 2 && tb[0] == "(" && tb[len(tb)-1] == ")" && containsOr(tb[1:len(tb)-1]) {
			flat = append(flat, splitOr(strings.Join(tb[1:len(tb)-1], " "))...)
			continue
		}
		flat = append(flat, b)
	}
	return flat
}

func containsOr(toks []string) bool {
	for _, t := range toks {
		if t == "OR" {
			return true
		}
	}
	return false
}

// tokens splits on spaces, keeping "quoted phrases" whole and parentheses
// as tokens.
func tokens(q string) []string {
	var out []string
	for i := 0; i < len(q); {
		switch c := q[i]; {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '(' || c == ')':
			out = append(out, string(c))
			i++
		case c == '"':
			end := strings.IndexByte(q[i+1:], '"')
			if end < 0 {
				out = append(out, q[i:]+`"`)
				i = len(q)
			} else {
				out = append(out, q[i:i+end+2])
				i += end + 2
			}
		default:
			j := i
			for j < len(q) && !strings.ContainsRune(" \t\n()", rune(q[j])) {
				if q[j] == '"' { // field:"phrase"
					end := strings.IndexByte(q[j+1:], '"')
					if end >= 0 {
						j += end + 2
						continue
					}
				}
				j++
			}
			out = append(out, q[i:j])
			i = j
		}
	}
	return out
}

// TopicQuery is one search a connector runs for a topic.
type TopicQuery struct {
	Query string
	Rule  string // the topic id, set as MatchedRule
}

// TopicQueries lists the searches for topics: the queries configured per
// topic id in override (the `queries` key), else those DeriveQueries
// finds. An override for an unknown topic id is reported in errs.
func TopicQueries(topics []pipeline.Topic, override map[string][]string, errs *[]error) []TopicQuery {
	known := map[string]bool{}
	for _, t := range topics {
		known[t.ID] = true
	}
	ids := make([]string, 0, len(override))
	for id := range override {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if !known[id] {
			*errs = append(*errs, fmt.Errorf("queries: %q is not a topic id", id))
		}
	}
	var out []TopicQuery
	for _, t := range topics {
		qs, ok := override[t.ID]
		if !ok {
			qs = DeriveQueries(t.Query)
		}
		for _, q := range qs {
			if q = strings.TrimSpace(q); q != "" {
				out = append(out, TopicQuery{Query: q, Rule: t.ID})
			}
		}
	}
	return out
}

// PerPeriod turns a configured rate (requests per period; 0 means def) into
// the gap between requests, reporting a negative rate in errs under key.
func PerPeriod(key string, n, def int, period time.Duration, errs *[]error) time.Duration {
	if n < 0 {
		*errs = append(*errs, fmt.Errorf("%s: %d is negative", key, n))
	}
	if n <= 0 {
		n = def
	}
	return period / time.Duration(n)
}
