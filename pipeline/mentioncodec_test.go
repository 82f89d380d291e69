package pipeline

import (
	"bytes"
	stdjson "encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"
)

// TestFastCodecKnowsEveryField: the hand-written codec (mentioncodec.go)
// is on only while Mention has the shape it was written for. A field
// added to Mention or its types turns it off, which is correct (goccy/go-json
// then carries every message) but slower, so this test says what to add.
func TestFastCodecKnowsEveryField(t *testing.T) {
	if got := mentionShape(reflect.TypeOf(Mention{})); got != codecFields {
		t.Fatalf("Mention's fields changed: mentioncodec.go's codec is off until appendMention and decodeMention handle the change and codecFields is updated.\nMention now: %s\ncodecFields: %s", got, codecFields)
	}
	if !fastCodec {
		t.Fatal("fastCodec is off")
	}
}

// codecCases are mentions whose encoding covers every branch of the codec:
// the fixtures, one with every field set (by reflection), an empty one,
// and hostile strings.
func codecCases(t testing.TB) []*Mention {
	var full Mention
	n := 0
	fillEvery(t.(*testing.T), reflect.ValueOf(&full).Elem(), "Mention", &n)
	full.Schema = SchemaVersion
	hostile := *codecFixtures()[0]
	hostile.Text = "a\"b\\c\n\r\t\b\f\x00\x01\x1f\x7f <tag> & \u2028\u2029 caf\xe9 \xff\xfe 😡 \U0010FFFF é"
	hostile.Title = "</script><!--"
	hostile.Enrichment.Versions = map[string]string{"z\"": "1", "a<": "\n", "": ""}
	hostile.Enrichment.Sentiment = &Sentiment{Score: -0.0, Label: "x", Confidence: 1e-7}
	hostile.Enrichment.LangConfidence = 1e21
	hostile.Enrichment.Errors = []StageError{{Stage: "lang", Error: "boom \"quoted\""}}
	hostile.EditedAt = time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600+1800))
	hostile.Rating, hostile.Answered, hostile.Deleted = -3, true, true
	small := *codecFixtures()[1]
	small.Enrichment.Sentiment = &Sentiment{Score: 123456789.125, Label: SentimentPositive}
	small.Enrichment.LangConfidence = 5e-324
	small.Enrichment.Topics = []string{}
	small.Author.Followers = -1 << 63
	return append(codecFixtures(), &full, &Mention{Schema: 1, ID: "x:1", Platform: "rss"}, &hostile, &small)
}

// TestFastCodecSameAsBefore: the fast decoder gives what goccy/go-json
// (the previous decoder) gives, on every case and on whitespace and escape
// variants of each encoding.
func TestFastCodecSameAsBefore(t *testing.T) {
	for i, m := range codecCases(t) {
		want, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var indented bytes.Buffer
		if err := stdjson.Indent(&indented, want, "", "\t "); err != nil {
			t.Fatal(err)
		}
		for j, data := range [][]byte{want, indented.Bytes(), []byte(" \n" + string(want) + "\r\n\t"),
			[]byte(strings.ReplaceAll(string(want), `"rss"`, `"\u0072s\/s"`))} {
			var fast, old Mention
			if !decodeMention(data, &fast) {
				t.Fatalf("case %d.%d: the fast decoder gave up on\n%s", i, j, data)
			}
			if err := gojson.Unmarshal(data, &old); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fast, old) {
				t.Errorf("case %d.%d: fast decoder\n%+v\ngoccy/go-json\n%+v", i, j, fast, old)
			}
		}
	}
}

// TestFastDecoderLeavesTheRestToGoccy: input the fast path does not handle
// still decodes exactly as before (or fails as before), through
// Unmarshal's fallback.
func TestFastDecoderLeavesTheRestToGoccy(t *testing.T) {
	for _, in := range []string{
		`{"id":"a:1","future_field":{"x":[1,2]}}`, // a newer producer
		`{"ID":"a:1","Platform":"rss"}`,            // keys in another case
		`{"id":"a:1","id":"a:2"}`,                  // a key twice
		`{"id":"a:1","url":null,"enrichment":{"sentiment":null}}`,
		`{"id":"a:1","rating":4.0}`,
		`{"id":"a:1","author":{"followers":1e3}}`,
		`{"id":"a:1","text":"\ud83d\ude21 \ud800"}`, // surrogates
		"{\"id\":\"a:1\",\"text\":\"caf\xe9\"}",     // invalid UTF-8
		`{"id":"a:1"} {}`, `{"id":"a:1",}`, `{"id":"a:1","rating":01}`, `{"id":"a:1","created_at":"yesterday"}`,
	} {
		var fast Mention
		if decodeMention([]byte(in), &fast) {
			t.Errorf("the fast decoder took %s", in)
		}
		var old Mention
		oldErr := gojson.Unmarshal([]byte(in), &old)
		got, err := Unmarshal([]byte(in))
		switch {
		case oldErr != nil && err == nil:
			t.Errorf("Unmarshal(%s) = ok; goccy/go-json said %v", in, oldErr)
		case oldErr == nil && err != nil && old.ID != "":
			t.Errorf("Unmarshal(%s) = %v; goccy/go-json decoded it", in, err)
		case err == nil && !reflect.DeepEqual(*got, old):
			t.Errorf("Unmarshal(%s) = %+v; goccy/go-json %+v", in, *got, old)
		}
	}
}

// FuzzFastCodecAgrees: on any bytes, when the fast decoder takes them it
// gives what goccy/go-json gives.
func FuzzFastCodecAgrees(f *testing.F) {
	for _, m := range codecCases(&testing.T{}) {
		b, _ := stdjson.Marshal(m)
		f.Add(b)
	}
	f.Add([]byte(`{"id":"x","text":"\u00e9\n\"","enrichment":{"versions":{"a":"1","b":"2"},"spans":[{"start":-1,"end":2}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast, old Mention
		oldErr := gojson.Unmarshal(data, &old)
		if !decodeMention(data, &fast) {
			return
		}
		if oldErr != nil {
			t.Fatalf("fast decoder took what goccy/go-json refuses (%v): %q", oldErr, data)
		}
		if !reflect.DeepEqual(fast, old) {
			t.Fatalf("fast %+v\ngoccy %+v\nfor %q", fast, old, data)
		}
	})
}

// BenchmarkDecodeFastVsGoccy interleaves the fast decoder and goccy/go-json
// (the previous decoder) on the same enriched mentions (a tweet and a ~1 KB
// article alternately).
//
//	go test -run '^$' -bench DecodeFastVsGoccy -benchmem ./pipeline/
func BenchmarkDecodeFastVsGoccy(b *testing.B) {
	var datas [][]byte
	for _, m := range codecFixtures() {
		d, err := m.Marshal()
		if err != nil {
			b.Fatal(err)
		}
		datas = append(datas, d)
	}
	var fast, old time.Duration
	for i := 0; b.Loop(); i++ {
		data := datas[i%len(datas)]
		t0 := time.Now()
		var x Mention
		if !decodeMention(data, &x) {
			b.Fatal("fast decoder gave up")
		}
		t1 := time.Now()
		var y Mention
		if err := gojson.Unmarshal(data, &y); err != nil {
			b.Fatal(err)
		}
		fast += t1.Sub(t0)
		old += time.Since(t1)
	}
	b.ReportMetric(float64(fast.Nanoseconds())/float64(b.N), "fast-ns/mention")
	b.ReportMetric(float64(old.Nanoseconds())/float64(b.N), "goccy-ns/mention")
	b.ReportMetric(float64(old)/float64(fast), "speedup")
}
