package query

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		q, want string
	}{
		// terms
		{`apple`, `apple`},
		{`"apple pie"`, `"apple pie"`},
		{`“apple pie”`, `"apple pie"`}, // curly quotes pasted from a document
		{`recall*`, `recall*`},
		{`wom?n`, `wom?n`},
		{`#WWDC`, `#WWDC`},
		{`@tim_cook`, `@tim_cook`},
		{`$AAPL`, `$AAPL`},
		{`$5`, `$5`}, // money: the word 5
		{`covid-19`, `covid-19`},
		// operators and precedence: NEAR > NOT > AND > OR
		{`a AND b`, `a AND b`},
		{`a OR b`, `a OR b`},
		{`NOT a`, `NOT a`},
		{`a b`, `a AND b`}, // implicit AND
		{`a NOT b`, `a AND NOT b`},
		{`a OR b AND c`, `a OR b AND c`},
		{`(a OR b) AND c`, `(a OR b) AND c`},
		{`a AND b OR c AND d`, `a AND b OR c AND d`},
		{`a OR b NOT c`, `a OR b AND NOT c`},
		{`NOT a NEAR/3 b`, `NOT a NEAR/3 b`},
		{`NOT (a OR b)`, `NOT (a OR b)`},
		{`NOT NOT a`, `NOT NOT a`},
		{`a NEAR/3 b`, `a NEAR/3 b`},
		{`a NEAR/3f b`, `a ONEAR/3 b`},
		{`a ONEAR/0 b`, `a ONEAR/0 b`},
		{`(a OR "b c") NEAR/5 dri*`, `(a OR "b c") NEAR/5 dri*`},
		{`a NEAR/2 b NEAR/3 c`, `(a NEAR/2 b) NEAR/3 c`},
		{`a NEAR/2 (b NEAR/3 c)`, `a NEAR/2 (b NEAR/3 c)`},
		{`a OR b NEAR/2 c`, `a OR b NEAR/2 c`},
		// nesting and flattening
		{`((a))`, `a`},
		{`a AND (b AND c)`, `a AND b AND c`},
		{`a OR (b OR (c OR d))`, `a OR b OR c OR d`},
		{`(a OR (b AND (c OR NOT d)))`, `a OR b AND (c OR NOT d)`},
		// fields
		{`title:apple`, `title:apple`},
		{`Title:"apple pie"`, `title:"apple pie"`},
		{`title:(a OR b)`, `title:a OR title:b`},
		{`text:(a NOT b)`, `text:a AND NOT text:b`},
		{`author:elon*`, `author:elon*`},
		{`author:@nike`, `author:@nike`},
		{`site:www.Example.com`, `site:www.Example.com`},
		{`domain:example.com`, `site:example.com`},
		{`lang:EN`, `lang:EN`},
		{`lang:(en OR de)`, `lang:en OR lang:de`},
		{`platform:reddit apple`, `platform:reddit AND apple`},
		{`title:#launch`, `title:#launch`},
		{`"AND" OR "near/3"`, `"AND" OR "near/3"`},
		{`東京タワー`, `東京タワー`},
	}
	for _, tt := range tests {
		q, err := Parse(tt.q)
		if err != nil {
			t.Errorf("Parse(%q) error: %v", tt.q, err)
			continue
		}
		if got := q.String(); got != tt.want {
			t.Errorf("Parse(%q) = %s; want %s", tt.q, got, tt.want)
		}
		if q.Source() != tt.q {
			t.Errorf("Parse(%q).Source() = %q", tt.q, q.Source())
		}
	}
}

func TestParseTerms(t *testing.T) {
	tests := []struct {
		q      string
		kind   TermKind
		field  Field
		tokens []string
		value  string
	}{
		{`Café`, TermWords, FieldAny, []string{"cafe"}, ""},
		{`"Crème Brûlée"`, TermWords, FieldAny, []string{"creme", "brulee"}, ""},
		{`covid-19`, TermWords, FieldAny, []string{"covid", "19"}, ""},
		{`don't`, TermWords, FieldAny, []string{"don", "t"}, ""},
		{`"recall* notice"`, TermWords, FieldAny, []string{"recall*", "notice"}, ""},
		{`Straße`, TermWords, FieldAny, []string{"strasse"}, ""},
		{`東京タワー`, TermWords, FieldAny, []string{"東", "京", "タ", "ワ", "ー"}, ""},
		{`#Nike_Air`, TermHashtag, FieldAny, nil, "nikeair"},
		{`#recall*`, TermHashtag, FieldAny, nil, "recall*"},
		{`@Tim_Cook`, TermMention, FieldAny, nil, "timcook"},
		{`$aapl`, TermCashtag, FieldAny, nil, "aapl"},
		{`site:https://www.Example.com/`, TermValue, FieldSite, nil, "example.com"},
		{`site:*.example.co.uk`, TermValue, FieldSite, nil, "example.co.uk"},
		{`lang:pt_BR`, TermValue, FieldLang, nil, "pt-br"},
		{`platform:Reddit`, TermValue, FieldPlatform, nil, "reddit"},
		{`author:"Elon Musk"`, TermWords, FieldAuthor, []string{"elon", "musk"}, ""},
	}
	for _, tt := range tests {
		q, err := Parse(tt.q)
		if err != nil {
			t.Errorf("Parse(%q) error: %v", tt.q, err)
			continue
		}
		term, ok := q.Root.(*Term)
		if !ok {
			t.Errorf("Parse(%q) = %T; want *Term", tt.q, q.Root)
			continue
		}
		if term.Kind != tt.kind || term.Field != tt.field || !reflect.DeepEqual(term.Tokens, tt.tokens) || term.Value != tt.value {
			t.Errorf("Parse(%q) = kind %d field %q tokens %q value %q; want kind %d field %q tokens %q value %q",
				tt.q, term.Kind, term.Field, term.Tokens, term.Value, tt.kind, tt.field, tt.tokens, tt.value)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		q    string
		col  int
		msg  string // substring of Msg
		hint string // substring of Hint
	}{
		{``, 1, "empty query", "write at least one word"},
		{`   `, 1, "empty query", ""},
		{`apple AND (iphone OR ipad`, 11, "unbalanced parenthesis opened at col 11", "add ')'"},
		{`apple) OR pear`, 6, "')' at col 6 has no matching '('", "remove it"},
		{`((a) OR (b)`, 1, "unbalanced parenthesis opened at col 1", ""},
		{`"apple pie`, 1, "unterminated quote opened at col 1", "close the phrase"},
		{`apple OR ""`, 10, "empty quotes", "put the exact phrase"},
		{`a NEAR/ b`, 3, "NEAR/ needs a number", "NEAR/3"},
		{`a NEAR b`, 3, "NEAR/ needs a number", "lower case"},
		{`a NEAR/x b`, 3, "NEAR/ needs a number", ""},
		{`a ONEAR/ b`, 3, "ONEAR/ needs a number", ""},
		{`a NEAR/5000 b`, 3, "out of range", "0 to 1000"},
		{`re*`, 1, "wildcard needs at least 3 letters before *", "longer stem"},
		{`*phone`, 1, "wildcard needs at least 3 letters before *", ""},
		{`ab?`, 1, "wildcard needs at least 3 letters before ?", ""},
		{`"a* b"`, 1, "wildcard needs at least 3 letters", ""},
		{`#re*`, 1, "wildcard needs at least 3 letters", ""},
		{`foo:bar`, 1, `unknown field "foo:"`, `quote them: "foo:bar"`},
		{`https://example.com/x`, 1, `unknown field "https:"`, "site:example.com"},
		{`title: apple`, 1, "title: needs a value", "right after the colon"},
		{`title:author:x`, 7, "author: right after title:", "one field"},
		{`title:(a OR author:b)`, 13, "author: inside title:(…)", "one field"},
		{`apple -pie`, 7, "'-' does not exclude here", "NOT pie"},
		{`+apple`, 1, "'+' is not an operator", ""},
		{`a && b`, 3, "'&&' is not an operator", "AND"},
		{`a || b`, 3, "'||' is not an operator", "OR"},
		{`"a b"~5`, 6, "'~' proximity is not supported", "NEAR/5"},
		{`{Apple}`, 1, "case-sensitive", ""},
		{`AND apple`, 1, "AND at col 1 needs something on its left", ""},
		{`apple OR`, 7, "OR at col 7 needs something on its right", ""},
		{`apple AND OR pear`, 11, "OR right after AND", "two operators"},
		{`(apple AND)`, 8, "AND at col 8 needs something on its right before ')'", ""},
		{`NOT`, 1, "NOT at col 1 needs something on its right", ""},
		{`apple NEAR/3 NOT pie`, 14, "NOT cannot be an operand of NEAR/3", "NOT (a NEAR/3 b)"},
		{`(a AND b) NEAR/3 c`, 2, "AND inside NEAR/3", "(a NEAR/3 b) AND c"},
		{`a NEAR/3 lang:en`, 10, "lang: cannot be an operand of NEAR/3", ""},
		{`apple ()`, 7, "empty parentheses", ""},
		{`!!!`, 1, `"!!!" has no letters or digits`, ""},
		{`"..."`, 1, `nothing to match in "..."`, ""},
		{`#`, 1, `"#" has no letters or digits`, ""},
		{`#a-b`, 1, `"#a-b" is not a valid hashtag`, "letters, digits and _"},
		{`author:#x`, 8, "author: cannot take a hashtag", ""},
		{`site:example.com/path`, 6, `"example.com/path" is not a valid site: value`, "host name"},
		{`lang:english`, 6, "not a valid lang: value", "en, de"},
		{`platform:a.b`, 10, "not a valid platform: value", ""},
		{strings.Repeat("(", 70) + "a" + strings.Repeat(")", 70), 65, "nesting deeper than 64", ""},
		{`café AND (thé`, 10, "unbalanced parenthesis opened at col 10", ""}, // columns count characters
	}
	for _, tt := range tests {
		_, err := Parse(tt.q)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) error = %v; want a *SyntaxError", tt.q, err)
			continue
		}
		if se.Col != tt.col || !strings.Contains(se.Msg, tt.msg) || !strings.Contains(se.Hint, tt.hint) {
			t.Errorf("Parse(%q) = col %d %q (%q); want col %d %q (%q)", tt.q, se.Col, se.Msg, se.Hint, tt.col, tt.msg, tt.hint)
		}
		if column(tt.q, se.Pos) != se.Col {
			t.Errorf("Parse(%q): Pos %d is col %d, not %d", tt.q, se.Pos, column(tt.q, se.Pos), se.Col)
		}
	}
}

func TestSyntaxErrorString(t *testing.T) {
	_, err := Parse(`a AND (b`)
	want := "col 7: unbalanced parenthesis opened at col 7 (add ')' where the group ends)"
	if err == nil || err.Error() != want {
		t.Errorf("Parse(%q) error = %v; want %s", `a AND (b`, err, want)
	}
}

func TestLint(t *testing.T) {
	type finding struct {
		sev Severity
		col int
		msg string
	}
	tests := []struct {
		q    string
		want []finding
	}{
		{`(apple OR iphone) AND NOT pie`, nil},
		{`apple and pie`, []finding{{SeverityWarning, 7, "did you mean AND? lowercase 'and' is a word here"}}},
		{`apple or pie`, []finding{{SeverityWarning, 7, "did you mean OR?"}}},
		{`apple near/3 pie`, []finding{{SeverityWarning, 7, "did you mean NEAR/3?"}}},
		{`nike air max`, []finding{
			{SeverityWarning, 6, `no operator between "nike" and "air": read as AND`},
			{SeverityWarning, 10, `no operator between "air" and "max"`},
		}},
		{`nike NOT shoes`, nil}, // binary NOT idiom: no implicit-AND warning
		{`nike lang:en`, nil},   // field terms read naturally with implicit AND
		{`acme lang:pt_BR`, nil},
		{`lang:xx acme`, []finding{{SeverityWarning, 1, `lang:xx: "xx" is not an ISO 639-1 language code`}}},
		{`acme AND language:eng`, []finding{{SeverityWarning, 10, `"eng" is not an ISO 639-1`}}},
		{`a OR b AND c`, []finding{{SeverityWarning, 3, "AND and OR mixed without parentheses"}}},
		{`a OR (b AND c)`, nil},
		{`NOT spam`, []finding{{SeverityWarning, 1, "requires no word"}}},
		{`platform:reddit OR apple`, []finding{{SeverityWarning, 1, "requires no word"}}},
		{`platform:reddit AND apple`, nil},
		{`why?`, []finding{{SeverityWarning, 1, "matches exactly one more letter"}}},
		// Every lexer error at once.
		{`(a OR "b`, []finding{
			{SeverityError, 1, "unbalanced parenthesis opened at col 1"},
			{SeverityError, 7, "unterminated quote"},
		}},
		{`a) NEAR/ "" foo:x`, []finding{
			{SeverityError, 2, "no matching '('"},
			{SeverityError, 4, "NEAR/ needs a number"},
			{SeverityError, 10, "empty quotes"},
			{SeverityError, 13, `unknown field "foo:"`},
		}},
		{`a AND`, []finding{{SeverityError, 3, "needs something on its right"}}},
	}
	for _, tt := range tests {
		got := Lint(tt.q)
		ok := len(got) == len(tt.want)
		for i := 0; ok && i < len(got); i++ {
			w := tt.want[i]
			ok = got[i].Severity == w.sev && got[i].Col == w.col && strings.Contains(got[i].Msg, w.msg)
		}
		if !ok {
			t.Errorf("Lint(%q) = %v; want %v", tt.q, got, tt.want)
		}
	}
}

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Café CRÈME", "cafe creme"},
		{"cafe\u0301", "cafe"}, // decomposed accent
		{"Straße STRASSE", "strasse strasse"},
		{"İstanbul ISTANBUL ıstanbul istanbul", "istanbul istanbul istanbul istanbul"},
		{"KIRMIZI kırmızı", "kirmizi kirmizi"},
		{"København Łódź Đakovo Ærø Œuvre Þór", "kobenhavn lodz dakovo aero oeuvre thor"},
		{"ΣΊΣΥΦΟΣ σίσυφος", "σισυφοσ σισυφοσ"},
		{"ＩＰｈｏｎｅ１５ ﬁle", "iphone15 file"},
		{"東京タワーに", "東 京 タ ワ ー に"},
		{"서울 맛집", "서울 맛집"}, // Hangul is written with spaces: words, not characters
		{"love🍎apple👍🏽!!", "love 🍎 apple 👍"},
		{"❤️pizza", "❤ pizza"},
		{"pineapple's e.on AT&T", "pineapple s e on at t"},
		{"under_score", "under score"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestTokenizeOffsets(t *testing.T) {
	s := "Hi #Apple_Pie, @bob_x $AAPL $5 me@mail.com C#"
	var tk Tokenizer
	tk.Tokenize(s)
	type tok struct {
		text, folded string
		word, words  int32
	}
	var words, sigils []tok
	for _, x := range tk.Tokens {
		words = append(words, tok{s[x.Start:x.End], string(tk.Folded(x)), x.Word, x.Words})
	}
	for _, x := range tk.Sigils {
		sigils = append(sigils, tok{s[x.Start:x.End], string(tk.Folded(x)), x.Word, x.Words})
	}
	wantWords := []tok{{"Hi", "hi", 0, 1}, {"Apple", "apple", 1, 1}, {"Pie", "pie", 2, 1}, {"bob", "bob", 3, 1},
		{"x", "x", 4, 1}, {"AAPL", "aapl", 5, 1}, {"5", "5", 6, 1}, {"me", "me", 7, 1}, {"mail", "mail", 8, 1},
		{"com", "com", 9, 1}, {"C", "c", 10, 1}}
	wantSigils := []tok{{"#Apple_Pie", "#applepie", 1, 2}, {"@bob_x", "@bobx", 3, 2}, {"$AAPL", "$aapl", 5, 1}}
	if !reflect.DeepEqual(words, wantWords) {
		t.Errorf("Tokenize(%q) words = %v; want %v", s, words, wantWords)
	}
	if !reflect.DeepEqual(sigils, wantSigils) {
		t.Errorf("Tokenize(%q) sigils = %v; want %v", s, sigils, wantSigils)
	}
}

// FuzzParse checks that Parse never panics, that every accepted query
// prints to a canonical form that parses back to itself, and that Lint
// agrees with Parse on whether there is an error.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`(apple OR iphone) AND NOT pie`, `recall* NEAR/5 (airbag OR "brake pedal")`, `a NEAR/2f b ONEAR/3 c`,
		`title:(a OR b) lang:en site:www.example.com platform:x`, `#WWDC OR @tim_cook OR $AAPL`, `author:"Elon Musk"`,
		`nike air max`, `a OR b AND c NOT d`, `NOT NOT (a)`, `“curly” „quotes”`, `東京タワー OR 👍`, `((a`, `"x`,
		`Café straße İstanbul`, `wom?n`, `a) NEAR/ "" foo:x`, `text:#tag`, `$5`, `-x`, `and or not`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		hasErr := false
		for _, p := range Lint(s) {
			hasErr = hasErr || p.Severity == SeverityError
		}
		if hasErr != (err != nil) {
			t.Fatalf("Parse(%q) error = %v but Lint errors = %v", s, err, hasErr)
		}
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Pos < 0 || se.Pos > len(s) {
				t.Fatalf("Parse(%q) error = %#v; want a *SyntaxError within the query", s, err)
			}
			return
		}
		canon := q.String()
		q2, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) = %s, which does not parse: %v", s, canon, err)
		}
		if got := q2.String(); got != canon {
			t.Fatalf("Parse(%q) = %s; reparsed = %s", s, canon, got)
		}
	})
}
