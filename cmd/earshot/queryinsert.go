package main

import (
	"errors"
	"strings"
)

// errInlineData: the native protocol makes the client send an INSERT's
// rows as data blocks, which `earshot query` does not; VALUES are rewritten
// instead (see insertValuesAsSelect).
var errInlineData = errors.New("earshot query sends INSERT rows as INSERT … VALUES (…) or INSERT … SELECT …, not in a FORMAT")

// insertValuesAsSelect rewrites `INSERT INTO t [(cols)] VALUES (…), (…)` as
// `INSERT INTO t [(cols)] SELECT … UNION ALL SELECT …`, which ClickHouse
// runs entirely on the server (18.16 waits for the client to send inline
// VALUES as data blocks). Values are cast to the columns by position, as
// INSERT does. ok is false when sql is not an INSERT with VALUES.
func insertValuesAsSelect(sql string) (string, bool, error) {
	s := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(sql), ";"))
	if !strings.EqualFold(firstWord(s), "INSERT") {
		return sql, false, nil
	}
	at := keywordOutsideQuotes(s, "VALUES")
	if at < 0 {
		if keywordOutsideQuotes(s, "FORMAT") >= 0 && keywordOutsideQuotes(s, "SELECT") < 0 {
			return sql, false, errInlineData
		}
		return sql, false, nil
	}
	head, rest := s[:at], s[at+len("VALUES"):]
	var tuples []string
	for {
		rest = strings.TrimLeft(rest, " \t\r\n,")
		if rest == "" {
			break
		}
		if rest[0] != '(' {
			return sql, false, errors.New("INSERT … VALUES: want (…), (…) after VALUES")
		}
		end := matchParen(rest)
		if end < 0 {
			return sql, false, errors.New("INSERT … VALUES: unbalanced parenthesis or quote")
		}
		tuples = append(tuples, "SELECT "+rest[1:end])
		rest = rest[end+1:]
	}
	if len(tuples) == 0 {
		return sql, false, errors.New("INSERT … VALUES: no rows")
	}
	return strings.TrimSpace(head) + " " + strings.Join(tuples, " UNION ALL "), true, nil
}

func firstWord(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') })
	if i < 0 {
		return s
	}
	return s[:i]
}

// outsideQuotes calls fn with the index of each byte of s that is not in a
// quoted string ('…', "…" or `…`, with backslash escapes) until fn returns
// true, and returns that index, or -1.
func outsideQuotes(s string, fn func(i int) bool) int {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case fn(i):
			return i
		}
	}
	return -1
}

// keywordOutsideQuotes finds a whole word, ignoring case, outside quotes.
func keywordOutsideQuotes(s, kw string) int {
	return outsideQuotes(s, func(i int) bool {
		return i+len(kw) <= len(s) && strings.EqualFold(s[i:i+len(kw)], kw) &&
			(i == 0 || !isWordByte(s[i-1])) && (i+len(kw) == len(s) || !isWordByte(s[i+len(kw)]))
	})
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// matchParen returns the index of the parenthesis closing s[0], or -1.
func matchParen(s string) int {
	depth := 0
	return outsideQuotes(s, func(i int) bool {
		switch s[i] {
		case '(', '[':
			depth++
		case ')', ']':
			depth--
			return depth == 0
		}
		return false
	})
}
