package query

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type lexKind uint8

const (
	lexEOF lexKind = iota
	lexLParen
	lexRParen
	lexWord   // bare word
	lexQuoted // "phrase"
	lexField  // title: (the value follows as the next lexeme)
	lexAnd
	lexOr
	lexNot
	lexNear
)

type lexeme struct {
	kind    lexKind
	pos     int    // byte offset of the lexeme
	end     int    // byte offset after it
	text    string // word, phrase content or field name
	dist    int    // NEAR distance
	ordered bool   // ONEAR, NEAR/nf
	// glued is set on a lexeme that directly follows a field prefix.
	glued bool
	// opWord is set on a lowercase and, or, not (already warned about).
	opWord bool
}

// MaxNearDistance is the largest n accepted in NEAR/n.
const MaxNearDistance = 1000

// isQuote reports whether r opens or closes a phrase: straight and curly
// double quotes, as pasted from documents and chat tools.
func isQuote(r rune) bool { return r == '"' || r == '“' || r == '”' || r == '„' }

// lexer splits a query into lexemes, collecting every problem it sees.
type lexer struct {
	src      string
	out      []lexeme
	problems []Problem
}

func (l *lexer) errorf(pos, end int, hint, format string, args ...any) {
	l.problems = append(l.problems, l.problem(SeverityError, pos, end, hint, format, args...))
}

func (l *lexer) warnf(pos, end int, hint, format string, args ...any) {
	l.problems = append(l.problems, l.problem(SeverityWarning, pos, end, hint, format, args...))
}

func (l *lexer) problem(sev Severity, pos, end int, hint, format string, args ...any) Problem {
	return Problem{Severity: sev, Pos: pos, End: end, Col: column(l.src, pos), Msg: sprintf(format, args...), Hint: hint}
}

func (l *lexer) emit(x lexeme) { l.out = append(l.out, x) }

func lex(src string) *lexer {
	l := &lexer{src: src}
	var open []int // byte offsets of unclosed '('
	glued := false
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRuneInString(src[i:])
		switch {
		case unicode.IsSpace(r):
			i += size
			glued = false
			continue
		case r == '(':
			open = append(open, i)
			l.emit(lexeme{kind: lexLParen, pos: i, end: i + 1, glued: glued})
			i++
		case r == ')':
			if len(open) == 0 {
				l.errorf(i, i+1, "remove it, or add the '(' it should close", "unbalanced parenthesis: ')' at col %d has no matching '('", column(src, i))
			} else {
				open = open[:len(open)-1]
			}
			l.emit(lexeme{kind: lexRParen, pos: i, end: i + 1})
			i++
		case isQuote(r):
			j := i + size
			for j < len(src) {
				q, qs := utf8.DecodeRuneInString(src[j:])
				if isQuote(q) {
					break
				}
				j += qs
			}
			if j >= len(src) {
				l.errorf(i, len(src), "close the phrase with another '\"'", "unterminated quote opened at col %d", column(src, i))
				i = len(src)
				continue
			}
			_, qs := utf8.DecodeRuneInString(src[j:])
			text := src[i+size : j]
			if strings.TrimSpace(text) == "" {
				l.errorf(i, j+qs, "put the exact phrase between the quotes, or remove them", "empty quotes")
			}
			l.emit(lexeme{kind: lexQuoted, pos: i, end: j + qs, text: text, glued: glued})
			i = j + qs
		default:
			j := i
			for j < len(src) {
				q, qs := utf8.DecodeRuneInString(src[j:])
				if unicode.IsSpace(q) || q == '(' || q == ')' || isQuote(q) {
					break
				}
				j += qs
			}
			i, glued = l.word(i, j, glued)
			continue
		}
		glued = false
	}
	for _, p := range open {
		l.errorf(p, p+1, "add ')' where the group ends", "unbalanced parenthesis opened at col %d", column(src, p))
	}
	l.emit(lexeme{kind: lexEOF, pos: len(src), end: len(src)})
	return l
}

// word classifies the bare word src[i:j]. It returns where lexing goes on
// (j, or where a field's value starts) and whether that is a field's value.
func (l *lexer) word(i, j int, glued bool) (int, bool) {
	w := l.src[i:j]
	opWord := false
	switch w {
	case "AND":
		l.emit(lexeme{kind: lexAnd, pos: i, end: j})
		return j, false
	case "OR":
		l.emit(lexeme{kind: lexOr, pos: i, end: j})
		return j, false
	case "NOT":
		l.emit(lexeme{kind: lexNot, pos: i, end: j})
		return j, false
	case "and", "or", "not", "And", "Or", "Not":
		opWord = true
		if !glued {
			up := strings.ToUpper(w)
			l.warnf(i, j, "operators are upper case: write "+up+", or quote \""+w+"\" to match the word",
				"did you mean %s? lowercase '%s' is a word here", up, w)
		}
	case "&", "&&":
		l.errorf(i, j, "write AND", "'%s' is not an operator", w)
		return j, false
	case "|", "||":
		l.errorf(i, j, "write OR", "'%s' is not an operator", w)
		return j, false
	case "!":
		l.errorf(i, j, "write NOT", "'!' is not an operator")
		return j, false
	}
	if op, rest, ok := cutNear(w); ok {
		l.near(i, j, op, rest)
		return j, false
	}
	if lw := strings.ToLower(w); strings.HasPrefix(lw, "near/") || strings.HasPrefix(lw, "onear/") {
		opWord = true
		l.warnf(i, j, "operators are upper case: write "+strings.ToUpper(w), "did you mean %s? lowercase '%s' is matched as words here", strings.ToUpper(w), w)
	}
	if k := strings.IndexByte(w, ':'); k > 0 && isFieldName(w[:k]) {
		name := strings.ToLower(w[:k])
		f, known := fieldNames[name]
		rest := w[k+1:]
		if !known {
			hint := "fields are title:, text:, author:, site:, domain:, lang:, platform:; to match the words, quote them: \"" + w + "\""
			if strings.HasPrefix(rest, "//") {
				hint = "to match posts linking a site, write site:" + hostOf(rest[2:]) + "; to match the words, quote them"
			}
			l.errorf(i, i+k+1, hint, "unknown field %q", w[:k+1])
			return j, false
		}
		l.emit(lexeme{kind: lexField, pos: i, end: i + k + 1, text: string(f)})
		if rest == "" {
			next := j
			if next < len(l.src) {
				r, _ := utf8.DecodeRuneInString(l.src[next:])
				if r == '(' || isQuote(r) {
					return j, true
				}
			}
			l.errorf(i, j, "put the value right after the colon: "+name+":value", "%s needs a value", w)
			return j, false
		}
		if valueField(f) {
			l.emit(lexeme{kind: lexWord, pos: i + k + 1, end: j, text: rest, glued: true})
			return j, false
		}
		return i + k + 1, true
	}
	switch {
	case w[0] == '-' && len(w) > 1:
		l.errorf(i, i+1, "write NOT "+w[1:]+" to exclude it", "'-' does not exclude here")
		return j, false
	case w[0] == '+' && len(w) > 1:
		l.errorf(i, i+1, "terms are required unless joined by OR; remove the '+'", "'+' is not an operator")
		return j, false
	case w[0] == '~' || strings.Contains(w, "~"):
		l.errorf(i, j, "write a NEAR/5 b for words within 5 of each other", "'~' proximity is not supported")
		return j, false
	case w[0] == '{':
		l.errorf(i, j, "matching ignores case; remove the braces", "case-sensitive {…} is not supported")
		return j, false
	}
	l.emit(lexeme{kind: lexWord, pos: i, end: j, text: w, glued: glued, opWord: opWord})
	return j, false
}

// cutNear splits "NEAR/3", "ONEAR/3", "NEAR/3f", "NEAR" and "NEAR/" into
// operator and what follows the slash.
func cutNear(w string) (op, rest string, ok bool) {
	for _, op := range []string{"NEAR", "ONEAR"} {
		if w == op {
			return op, "", true
		}
		if r, found := strings.CutPrefix(w, op+"/"); found {
			return op, r, true
		}
	}
	return "", "", false
}

func (l *lexer) near(i, j int, op, rest string) {
	ordered := op == "ONEAR"
	if op == "NEAR" && strings.HasSuffix(rest, "f") {
		ordered = true
		rest = rest[:len(rest)-1]
	}
	n, err := strconv.Atoi(rest)
	switch {
	case rest == "" || err != nil && strings.Trim(rest, "0123456789") != "":
		l.errorf(i, j, "write "+op+"/3 for at most 3 words between; to match the word, write it in lower case", "%s/ needs a number", op)
		return
	case err != nil || n < 0 || n > MaxNearDistance:
		l.errorf(i, j, "use a distance from 0 to "+strconv.Itoa(MaxNearDistance), "%s distance %s is out of range", op, rest)
		return
	}
	l.emit(lexeme{kind: lexNear, pos: i, end: j, dist: n, ordered: ordered})
}

// isFieldName reports whether s looks like a field name: ASCII letters.
func isFieldName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func hostOf(s string) string {
	if k := strings.IndexAny(s, "/?#"); k >= 0 {
		s = s[:k]
	}
	return strings.TrimPrefix(strings.ToLower(s), "www.")
}
