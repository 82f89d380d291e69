package twitter

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/dghubble/go-twitter/twitter"

	"github.com/earshot-dev/earshot/pipeline"
)

var collected = time.Date(2026, 11, 24, 9, 15, 3, 0, time.UTC)

func testRun(t testing.TB) *run {
	t.Helper()
	t.Setenv("X_TEST_BEARER", "t")
	s := fastSource(t, "type: twitter\nname: x-test\nbearer_token: {env: X_TEST_BEARER}\nmode: stream\n", testTopics)
	r := &run{src: s, cfg: s.cfg, env: &pipeline.SourceEnv{Name: "x-test"}, byTag: map[string]query{}}
	for _, q := range s.cfg.queries {
		r.byTag[q.Tag()] = q
	}
	return r
}

func TestV2StreamLineMapping(t *testing.T) {
	line, err := os.ReadFile("testdata/v2_stream_repost.json")
	if err != nil {
		t.Fatal(err)
	}
	r := testRun(t)
	m, read := r.v2StreamLine(bytes.TrimSpace(line), func(string) {})
	if m == nil || !read {
		t.Fatalf("v2StreamLine(repost) = %v, %v; want a mention", m, read)
	}
	m.CollectedAt = collected
	want := &pipeline.Mention{
		ID: "twitter:1790000000000000042", Platform: "twitter", Source: "x-test/" + acmeQ, Kind: "repost",
		URL:    "https://x.com/XDevelopers/status/1790000000000000042",
		Author: pipeline.Author{ID: "2244994945", Handle: "XDevelopers", Name: "Developers", Followers: 583000, Verified: true},
		Text:   "The acme API now supports long posts, which is great news for everyone who has been waiting to write more than two hundred and eighty characters in a single post. Read the docs to see how note_tweet works.",
		Lang:   "en", CreatedAt: time.Date(2026, 11, 24, 9, 15, 2, 0, time.UTC), CollectedAt: collected,
		Engagement: pipeline.Engagement{Reposts: 12}, ParentID: "1790000000000000041",
		ConversationID: "1790000000000000042", MatchedRule: "acme",
	}
	if !reflect.DeepEqual(m, want) {
		g, _ := json.Marshal(m)
		w, _ := json.Marshal(want)
		t.Errorf("v2StreamLine(repost) =\n%s\nwant\n%s", g, w)
	}
}

func TestV1StatusMapping(t *testing.T) {
	raw, err := os.ReadFile("testdata/v1_extended_status.json")
	if err != nil {
		t.Fatal(err)
	}
	var tw twitter.Tweet
	if err := json.Unmarshal(raw, &tw); err != nil {
		t.Fatal(err)
	}
	m := v1Mention(&tw, "x-test/stream", "acme", collected)
	want := &pipeline.Mention{
		ID: "twitter:1790000000000000043", Platform: "twitter", Source: "x-test/stream", Kind: "reply",
		URL:    "https://x.com/alice/status/1790000000000000043",
		Author: pipeline.Author{ID: "100", Handle: "alice", Name: "Alice", Followers: 42},
		Text:   "@bob replying about acme, and this text is long enough that the compatibility mode cuts it at one hundred and forty characters so the rest lives in extended_tweet.full_text.",
		Lang:   "en", CreatedAt: time.Date(2026, 11, 24, 9, 15, 2, 0, time.UTC), CollectedAt: collected,
		Engagement: pipeline.Engagement{Likes: 4, Reposts: 3, Replies: 2, Quotes: 1}, ParentID: "1790000000000000040",
		MatchedRule: "acme",
	}
	if !reflect.DeepEqual(m, want) {
		g, _ := json.Marshal(m)
		w, _ := json.Marshal(want)
		t.Errorf("v1Mention(extended reply) =\n%s\nwant\n%s", g, w)
	}
}

func TestV2StreamLineEdgeCases(t *testing.T) {
	r := testRun(t)
	tests := []struct {
		name    string
		line    string
		mention bool
		read    bool
		counted string
		matched string
	}{
		{"malformed", `{"data":{"id":`, false, false, "malformed", ""},
		{"error object", `{"errors":[{"title":"operational-disconnect","detail":"x"}]}`, false, false, "error", ""},
		{"foreign rule only", `{"data":{"id":"1","text":"t"},"matching_rules":[{"id":"9","tag":"other"}]}`, false, true, "foreign", ""},
		{"no matching_rules", `{"data":{"id":"1","text":"t"}}`, true, true, "post", ""},
		{"ours after foreign", `{"data":{"id":"1","text":"t"},"matching_rules":[{"id":"9","tag":"other"},{"id":"8","tag":"earshot:widget"}]}`, true, true, "post", "widget"},
		{"no id", `{"data":{"text":"t"},"matching_rules":[{"id":"8","tag":"earshot:acme"}]}`, false, true, "malformed", ""},
	}
	for _, tc := range tests {
		var counted string
		r.env.Metrics = pipeline.NewMetrics(newReg()).Connector(Platform, "x-test")
		r.log = discardLogger
		m, read := r.v2StreamLine([]byte(tc.line), func(k string) { counted = k })
		if (m != nil) != tc.mention || read != tc.read || counted != tc.counted || (m != nil && m.MatchedRule != tc.matched) {
			t.Errorf("v2StreamLine(%q) = %v, %v (counted %q); want mention %v, read %v, counted %q, matched %q",
				tc.line, m, read, counted, tc.mention, tc.read, tc.counted, tc.matched)
		}
	}
}

func BenchmarkV2StreamLine(b *testing.B) {
	line, err := os.ReadFile("testdata/v2_stream_repost.json")
	if err != nil {
		b.Fatal(err)
	}
	line = bytes.TrimSpace(line)
	r := testRun(b)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if m, _ := r.v2StreamLine(line, func(string) {}); m == nil {
			b.Fatal("no mention")
		}
	}
}

func BenchmarkV1Status(b *testing.B) {
	raw, err := os.ReadFile("testdata/v1_extended_status.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		var tw twitter.Tweet
		if err := json.Unmarshal(raw, &tw); err != nil {
			b.Fatal(err)
		}
		_ = v1Mention(&tw, "s", "m", collected)
	}
}

func BenchmarkXQuery(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := XQuery(`acme AND ("big widget" OR gadget) NOT recall`); err != nil {
			b.Fatal(err)
		}
	}
}
