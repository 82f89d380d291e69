package pipeline_test

import (
	"bytes"
	stdjson "encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/pipeline"
)

// FuzzMentionCodec checks the wire codec on any bytes: Unmarshal either
// fails or gives a mention with an id and a schema it understands; encoding
// that mention and decoding it again is a fixed point (same bytes); after
// Normalize every field is valid UTF-8 without NUL, within the size limits,
// and Unmarshal(Marshal(m)) equals m exactly.
func FuzzMentionCodec(f *testing.F) {
	for _, seed := range mentionSeeds() {
		f.Add(seed)
	}
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := pipeline.Unmarshal(data)
		if err != nil {
			if m != nil {
				t.Fatalf("Unmarshal() = %v, %v; want no mention with an error", m, err)
			}
			return
		}
		if m.ID == "" || m.Schema > pipeline.SchemaVersion {
			t.Fatalf("Unmarshal() accepted id %q schema %d", m.ID, m.Schema)
		}
		b1, err := m.Marshal()
		if err != nil {
			return // a time outside RFC 3339 (year > 9999) does not encode; Normalize does not change that
		}
		m2, err := pipeline.Unmarshal(b1)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(m)) = %v for %s", err, b1)
		}
		if b2, _ := m2.Marshal(); !bytes.Equal(b1, b2) {
			t.Fatalf("Marshal is not a fixed point:\n%s\n%s", b1, b2)
		}
		if m.Normalize(now) != nil {
			return
		}
		strs := map[string]string{"id": m.ID, "platform": m.Platform, "source": m.Source, "kind": m.Kind, "url": m.URL,
			"author.id": m.Author.ID, "author.handle": m.Author.Handle, "author.name": m.Author.Name, "lang": m.Lang,
			"parent_id": m.ParentID, "conversation_id": m.ConversationID, "matched_rule": m.MatchedRule, "title": m.Title, "text": m.Text}
		for name, s := range strs {
			max := pipeline.MaxFieldBytes
			switch name {
			case "text":
				max = pipeline.MaxTextBytes
			case "title":
				max = pipeline.MaxTitleBytes
			}
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 || len(s) > max {
				t.Fatalf("Normalize() %s = %q (%d bytes); want valid UTF-8 without NUL, at most %d bytes", name, s, len(s), max)
			}
		}
		if m.CreatedAt.IsZero() || m.CollectedAt.IsZero() || m.Kind == "" || m.Schema != pipeline.SchemaVersion {
			t.Fatalf("Normalize() left created %v collected %v kind %q schema %d", m.CreatedAt, m.CollectedAt, m.Kind, m.Schema)
		}
		b3, err := m.Marshal()
		if err != nil {
			t.Fatalf("Marshal(normalized) = %v", err)
		}
		m3, err := pipeline.Unmarshal(b3)
		if err != nil || !reflect.DeepEqual(m3, m) {
			t.Fatalf("Unmarshal(Marshal(normalized)) = %+v, %v; want %+v", m3, err, m)
		}
	})
}

// mentionSeeds are the codec fuzzers' seed corpus: a whole mention and
// hostile ones (nulls, wrong types, huge and deeply nested values, invalid
// UTF-8 and escapes, script, case-folded and repeated keys).
func mentionSeeds() [][]byte {
	good := &pipeline.Mention{ID: "rss:1", Platform: "rss", Source: "s/f", Kind: "article", Text: "acme \u2b50",
		CreatedAt: time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC), Author: pipeline.Author{Name: "Ana", Followers: 3},
		Enrichment: pipeline.Enrichment{Sentiment: &pipeline.Sentiment{Score: 0.5, Label: "positive"}, Topics: []string{"acme"},
			Spans: []pipeline.Span{{Topic: "acme", Field: "text", Start: 0, End: 4}}, Versions: map[string]string{"topics": "1"}}}
	b, _ := good.Marshal()
	seeds := [][]byte{b}
	for _, s := range []string{
		`null`, `{}`, `{"id":null}`, `[]`, `{"id":"x","schema":2}`, `{"id":"x","schema":-9}`,
		`{"id":"x","text":"` + strings.Repeat("é", 100000) + `"}`,
		"{\"id\":\"x\\u0000y\",\"platform\":\"a.b\",\"text\":\"caf\xe9 \\ud800 \x7f\\u001b\"}",
		`{"id":"x","enrichment":{"sentiment":null,"spans":[null,{"start":-1,"end":99999999999}],"versions":{"":null}}}`,
		`{"id":"x","created_at":"2026-11-24T08:00:00+14:00","collected_at":"0001-01-01T00:00:00Z"}`,
		`{"id":"x","author":{"followers":1e300}}`,
		`{"id":"x","engagement":` + strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat(`}`, 5000) + `}`,
		`{"id":"x","text":"<script>alert(1)</script>","url":"javascript:alert(1)"}`,
		`{"ID":"x","PLATFORM":"rss","Enrichment":{"LANG":"en"}}`,
		"{\"\u017fource\":\"s\",\"id\":\"x\",\"\u212aind\":\"k\"}",
		`{"id":"x","id":"y","enrichment":{"versions":{"a":"1"},"versions":{"b":"2"},"topics":["a"],"topics":null}}`,
		`{"id":"x","schema":1.0,"rating":01,"deleted":"true"}`,
		`{"id":"x"} {"id":"y"}`,
		`{"id":"\b\f\u0008\u000c","text":"\u007f\u00ad"}`,
		"{\"id\":\"x\",\"text\":\"\u2028\u2029 \\u2028 \\ud83d\\ude00 \\udead\"}",
		`{"id":"x","engagement":` + strings.Repeat(`[`, 9000) + strings.Repeat(`]`, 9000) + `}`,
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// FuzzMentionCodecMatchesEncodingJSON checks the wire codec against
// encoding/json on any bytes: Unmarshal accepts exactly what encoding/json
// decodes into a Mention (with an id and a known schema), into the same
// Mention, and Marshal writes the same bytes as encoding/json.
func FuzzMentionCodecMatchesEncodingJSON(f *testing.F) {
	for _, seed := range mentionSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := pipeline.Unmarshal(data)
		var std pipeline.Mention
		serr := stdjson.Unmarshal(data, &std)
		stdOK := serr == nil && std.ID != "" && std.Schema <= pipeline.SchemaVersion
		if (err == nil) != stdOK {
			t.Fatalf("Unmarshal() error = %v; encoding/json error = %v (id %q, schema %d)", err, serr, std.ID, std.Schema)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(m, &std) {
			t.Fatalf("Unmarshal() =\n%+v\nencoding/json =\n%+v", m, &std)
		}
		got, gerr := m.Marshal()
		want, werr := stdjson.Marshal(&std)
		if (gerr == nil) != (werr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("Marshal() = %s, %v\nencoding/json = %s, %v", got, gerr, want, werr)
		}
	})
}

// decodeTarget exercises every kind DecodeAll handles.
type decodeTarget struct {
	Name     string            `yaml:"name"`
	Every    time.Duration     `yaml:"every"`
	N        int               `yaml:"n"`
	On       bool              `yaml:"on"`
	Rate     float64           `yaml:"rate"`
	Tags     []string          `yaml:"tags"`
	Labels   map[string]string `yaml:"labels"`
	Inner    *decodeTarget     `yaml:"inner"`
	Children []decodeTarget    `yaml:"children"`
	Raw      yaml.Node         `yaml:"raw"`
}

// FuzzDecodeAll checks the key-by-key config decoder on any YAML: it never
// panics, and every problem it reports is a *FieldError (or a list of them)
// whose text names a line or a key path.
func FuzzDecodeAll(f *testing.F) {
	for _, s := range []string{
		"name: a\nevery: 5s\nn: 3\ntags: [x, y]\nlabels: {a: b}\ninner: {name: b, inner: {n: 1}}\nchildren: [{name: c}, 7]\n",
		"every: 7x\nn: many\nunknown: 1\non: maybe\n",
		"a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\ntags: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n",
		"inner: " + strings.Repeat("{inner: ", 2000) + "{}" + strings.Repeat("}", 2000) + "\n",
		"name: \"caf\xe9\"\nlabels: {\"\\0\": \"\\x1b[31m\"}\n",
		"children: [null, ~, {name: null}]\ninner: null\n",
		"<<: {name: merged}\nname: own\n",
		"raw: !!binary aGVsbG8=\nn: !!float 1e400\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
			return
		}
		var v decodeTarget
		err := pipeline.DecodeAll(doc.Content[0], &v, "root")
		if err == nil {
			return
		}
		for _, e := range flatten(err) {
			fe, ok := e.(*pipeline.FieldError)
			if !ok {
				t.Fatalf("DecodeAll() error %T %q; want *FieldError", e, e)
			}
			if fe.Line <= 0 && fe.Path == "" {
				t.Fatalf("DecodeAll() error %q names neither a line nor a key", fe)
			}
		}
	})
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
