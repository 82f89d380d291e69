package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestParseConfigReportsEveryProblemWithLines(t *testing.T) {
	src := `data_dir: /tmp/x
log: {level: loud}
bogus: 1
topics:
  - id: Bad Id
    query: acme
  - id: ok
    query: acme OR #acme
  - id: ok
    query: acme AND
connectors:
  - type: nosuch
    name: a
  - type: rss
    name: b
    feeds: [ftp://example.com/feed]
  - type: rss
    name: b
    feeds: [https://example.com/feed]
`
	_, err := ParseConfig("test.yaml", []byte(src))
	if err == nil {
		t.Fatal("ParseConfig() = nil; want errors")
	}
	for _, want := range []string{
		`test.yaml: line 3: unknown key "bogus"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConfig() error = %v\nwant it to contain %q", err, want)
		}
	}
	// Unknown keys stop decoding; fix that one and the rest are reported together.
	_, err = ParseConfig("test.yaml", []byte(strings.Replace(src, "bogus: 1\n", "", 1)))
	for _, want := range []string{
		`log.level: "loud" is not one of`,
		`topics[0].id: "Bad Id" must be lowercase`,
		`topics[2].id: "ok" is used twice`,
		`test.yaml:7: query "acme OR" is followed by "#acme", which YAML reads as a comment`,
		`unknown connector type "nosuch"`,
		`name "b" is used twice`,
		`topic "ok": invalid topic query`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConfig() error = %v\nwant it to contain %q", err, want)
		}
	}
}

func TestParseConfigAcceptsOrdinaryComments(t *testing.T) {
	src := "topics:\n  - id: a\n    query: acme   # our brand\n  - id: b\n    query: 'acme OR #acme'\n"
	c, err := ParseConfig("ok.yaml", []byte(src))
	if err != nil {
		t.Fatalf("ParseConfig() = %v", err)
	}
	if c.Topics[1].Query != "acme OR #acme" || c.DataDir != "./data" || c.HTTP.Listen != "127.0.0.1:9464" {
		t.Errorf("ParseConfig() = %+v; want the quoted query and defaults", c)
	}
}

func TestScoreCommand(t *testing.T) {
	in := strings.NewReader("I love my new Acme kettle, sooo quiet! #acme https://shop.example/k?utm_source=x\n" +
		`{"id":"t:1","platform":"twitter","text":"@acmesupport my order never arrived. refund?"}` + "\n")
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"score", "--query", "acme OR kettle", "--query", "refund"}, in, &out, &errOut)
	if code != 0 {
		t.Fatalf("score exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("score wrote %d lines; want 2:\n%s", len(lines), out.String())
	}
	var first, second scored
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if first.Sentiment == nil || first.Sentiment.Label != "positive" || first.Lang != "en" {
		t.Errorf("first line sentiment %+v lang %q; want positive, en", first.Sentiment, first.Lang)
	}
	if strings.Join(first.Topics, ",") != "q1" || strings.Join(first.Hashtags, ",") != "acme" ||
		strings.Join(first.Links, ",") != "https://shop.example/k" {
		t.Errorf("first line topics %v hashtags %v links %v; want [q1] [acme] [https://shop.example/k]", first.Topics, first.Hashtags, first.Links)
	}
	if len(first.Spans) == 0 || !strings.EqualFold(first.Spans[0].Match, "acme") && !strings.EqualFold(first.Spans[0].Match, "kettle") {
		t.Errorf("first line spans = %+v; want matched words", first.Spans)
	}
	if second.ID != "t:1" || strings.Join(second.Topics, ",") != "q2" || strings.Join(second.Mentions, ",") != "acmesupport" {
		t.Errorf("second line = %+v; want id t:1, topic q2, mention acmesupport", second)
	}
}

func TestLintQueryCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main(context.Background(), []string{"lint-query", `(acme OR "recall`}, nil, &out, &errOut); code != 1 {
		t.Errorf("lint-query of a broken query exit %d; want 1", code)
	}
	if !strings.Contains(out.String(), "col ") || !strings.Contains(out.String(), "^") {
		t.Errorf("lint-query output = %q; want a position and a caret", out.String())
	}
	out.Reset()
	if code := Main(context.Background(), []string{"lint-query", `acme NEAR/3 recall*`}, nil, &out, &errOut); code != 0 {
		t.Errorf("lint-query of a good query exit %d; output %q", code, out.String())
	}
}
