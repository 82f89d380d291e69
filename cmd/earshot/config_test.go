package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
    query: acme
  - id: q3
    query: acme AND
detect:
  resolutions: [7x]
sink:
  flush_intervall: 1s
  batch_rows: -1
enrich:
  batch_size: abc
  stages: [entities, nosuch, topics]
connectors:
  - type: nosuch
    name: a
  - type: rss
    name: b
    feeds: [ftp://example.com/feed]
  - type: rss
    name: b
    feeds: [https://example.com/feed]
  - type: rss
    name: c
    interval: 5x
    feeds: [https://example.com/feed]
  - type: twitter
    name: x
    mode: [bogus]
    bearer_token: plain-secret
`
	_, err := ParseConfig("test.yaml", []byte(src))
	if err == nil {
		t.Fatal("ParseConfig() = nil; want errors")
	}
	// Unknown keys and type errors do not hide the rest: all at once, each
	// with file:line and the full key path.
	for _, want := range []string{
		`test.yaml:2: log.level: "loud" is not one of`,
		`test.yaml:3: unknown key "bogus"`,
		`test.yaml:5: topics[0].id: "Bad Id" must be lowercase`,
		`test.yaml:8: query "acme OR" is followed by "#acme", which YAML reads as a comment`,
		`test.yaml:9: topics[2].id: "ok" is used twice`,
		`test.yaml:12: topics[3].query: topic "q3": invalid topic query`,
		`test.yaml:14: detect.resolutions[0]: cannot unmarshal !!str ` + "`7x`",
		`test.yaml:16: unknown key "sink.flush_intervall"`,
		`test.yaml:17: sink.batch_rows: -1 must not be negative`,
		`test.yaml:19: enrich.batch_size: cannot unmarshal`,
		`test.yaml:20: enrich.stages[1]: unknown stage "nosuch"`,
		`test.yaml:22: connectors[0]: unknown connector type "nosuch"`,
		`test.yaml:26: connector "b" (rss): invalid rss config: connectors[1].feeds[0]: feed URL "ftp://example.com/feed"`,
		`test.yaml:27: connectors[2]: name "b" is used twice`,
		`test.yaml:32: connector "c" (rss): invalid rss config: connectors[3].interval: cannot unmarshal !!str ` + "`5x`",
		`test.yaml:36: connector "x" (twitter): connectors[4].mode: "bogus" is not`,
		`test.yaml:37: connector "x" (twitter): connectors[4].bearer_token: a secret is given as {env: VAR}`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConfig() error =\n%v\nwant it to contain %q", err, want)
		}
	}
	// The element that did not decode is left out rather than reported
	// again as an invalid resolution.
	if strings.Contains(err.Error(), "bearer_token: required") || strings.Contains(err.Error(), "plain-secret") {
		t.Errorf("ParseConfig() error =\n%v\nwant no follow-on error for the undecodable bearer_token, and never its value", err)
	}
	if strings.Contains(err.Error(), "whole seconds") {
		t.Errorf("ParseConfig() error =\n%v\nwant no follow-on error for the undecodable resolution", err)
	}
	// In line order, every line saying where.
	prev := 0
	for _, l := range strings.Split(err.Error(), "\n") {
		var n int
		if _, scanErr := fmt.Sscanf(l, "test.yaml:%d:", &n); scanErr != nil {
			t.Errorf("error line %q does not start with test.yaml:LINE:", l)
			continue
		}
		if n < prev {
			t.Errorf("error line %q comes after line %d", l, prev)
		}
		prev = n
	}
}

func TestParseConfigEmptyAndSyntax(t *testing.T) {
	for _, src := range []string{"", "\n\n", "# only a comment\n"} {
		_, err := ParseConfig("e.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), "e.yaml: the file is empty") {
			t.Errorf("ParseConfig(%q) = %v; want it to say the file is empty", src, err)
		}
	}
	_, err := ParseConfig("e.yaml", []byte("- a\n- b\n"))
	if err == nil || !strings.Contains(err.Error(), "e.yaml:1: the top level must be a mapping") {
		t.Errorf("ParseConfig(list) = %v; want it to say the top level must be a mapping", err)
	}
	// libyaml blames the line before; the message names the real line and
	// the cause.
	src := "topics:\n  - id: a\n    query: acme\nconnectors:\n  - type: rss\n    name: hn\n    feeds: [https://hnrss.org/newest?q=golang]\n"
	_, err = ParseConfig("e.yaml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "e.yaml:7: ") || !strings.Contains(err.Error(), "must be in quotes") {
		t.Errorf("ParseConfig(? in a flow list) = %v; want line 7 and the quoting hint", err)
	}
	_, err = ParseConfig("e.yaml", []byte(strings.Replace(src, "[https://hnrss.org/newest?q=golang]", `["https://hnrss.org/newest?q=golang"]`, 1)))
	if err != nil {
		t.Errorf("ParseConfig(quoted URL) = %v; want ok", err)
	}
}

func TestParseConfigAddresses(t *testing.T) {
	tests := []struct {
		src, want string // want "" = valid
	}{
		{"nats: {embedded: {port: 99999}}", "e.yaml:1: nats.embedded.port: 99999 is not a port"},
		{"nats: {embedded: {port: -1}}", ""},
		{"nats: {embedded: {host: 'not a host'}}", "nats.embedded.host"},
		{"http: {listen: not-an-address}", `e.yaml:1: http.listen: "not-an-address"`},
		{"http: {listen: '127.0.0.1:70000'}", "http.listen"},
		{"http: {listen: 'off'}", ""},
		{"http: {listen: ':9464'}", ""},
		{"http: {listen: 'localhost:0'}", ""},
		{"clickhouse: {addr: nohost}", "e.yaml:1: clickhouse.addr"},
		{"clickhouse: {addr: 'db:99999'}", "clickhouse.addr"},
		{"clickhouse: {addr: 'db.example.com:9000'}", ""},
		{"nats: {url: 'http://x:4222'}", "nats.url"},
		{"nats: {url: 'nats://a:4222,nats://b:4222'}", ""},
	}
	for _, tt := range tests {
		_, err := ParseConfig("e.yaml", []byte(tt.src+"\n"))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("ParseConfig(%q) = %v; want ok", tt.src, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("ParseConfig(%q) = %v; want %q", tt.src, err, tt.want)
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
	if code := Main(context.Background(), []string{"lint-query", `lang:xx acme`}, nil, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), `"xx" is not an ISO 639-1 language code`) {
		t.Errorf("lint-query 'lang:xx acme' = exit %d, %q; want exit 0 and a warning about xx", code, out.String())
	}
	out.Reset()
	if code := Main(context.Background(), []string{"lint-query", `acme NEAR/3 recall*`}, nil, &out, &errOut); code != 0 {
		t.Errorf("lint-query of a good query exit %d; output %q", code, out.String())
	}
}
