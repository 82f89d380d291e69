package pipeline

import (
	stdjson "encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fillEvery sets every exported field reachable from v to a distinct
// non-zero value, so a round trip that drops or mangles any field (one
// added to Mention later included) shows up.
func fillEvery(t *testing.T, v reflect.Value, path string, n *int) {
	t.Helper()
	*n++
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillEvery(t, v.Elem(), path, n)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, *n*1000, time.UTC)))
			return
		}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				t.Fatalf("%s.%s is unexported: the wire format cannot carry it", path, f.Name)
			}
			if tag := f.Tag.Get("json"); tag == "-" {
				t.Fatalf("%s.%s has json:\"-\": it would not travel between roles", path, f.Name)
			}
			fillEvery(t, v.Field(i), path+"."+f.Name, n)
		}
	case reflect.String:
		v.SetString(fmt.Sprintf("%s=%d <&> é 😡", strings.TrimPrefix(path, "."), *n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(*n) + 0.25)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fillEvery(t, s.Index(i), fmt.Sprintf("%s[%d]", path, i), n)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range 2 {
			k := reflect.New(v.Type().Key()).Elem()
			fillEvery(t, k, path+".key", n)
			e := reflect.New(v.Type().Elem()).Elem()
			fillEvery(t, e, path+".value", n)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	default:
		t.Fatalf("%s: kind %s has no test value: extend fillEvery", path, v.Kind())
	}
}

// TestCodecCarriesEveryField round-trips a mention with every field set
// (found by reflection, so fields added later are covered) through the
// wire codec.
func TestCodecCarriesEveryField(t *testing.T) {
	var m Mention
	n := 0
	fillEvery(t, reflect.ValueOf(&m).Elem(), "Mention", &n)
	m.Schema = SchemaVersion
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(data)
	if err != nil {
		t.Fatalf("Unmarshal(Marshal(m)): %v", err)
	}
	if !reflect.DeepEqual(got, &m) {
		t.Errorf("round trip lost or changed a field:\n got %+v\nwant %+v", got, &m)
	}
}

// TestCodecSameBytesAsEncodingJSON: subscribers and `tail` see exactly
// the JSON encoding/json would write, and either decoder reads the other.
func TestCodecSameBytesAsEncodingJSON(t *testing.T) {
	var full Mention
	n := 0
	fillEvery(t, reflect.ValueOf(&full).Elem(), "Mention", &n)
	full.Schema = SchemaVersion
	empty := Mention{Schema: 1, ID: "x:1", Platform: "rss"}
	// Strings encoding/json rewrites: invalid UTF-8 (to U+FFFD), HTML
	// characters, U+2028 and U+2029, control bytes (\b and \f short since
	// Go 1.22); also as map keys, and
	// empty but non-nil lists and maps (omitempty leaves them out).
	odd := "a\xffb\xc3 <script>&amp;</script> \u2028\u2029 \x00\x01\b\f\t\r\n\x1f\x7f \"q\" \\ \U0001F600"
	hostile := Mention{Schema: 1, ID: odd, Platform: "rss", Title: odd, Text: odd, Author: Author{Name: odd},
		Enrichment: Enrichment{Topics: []string{}, Spans: []Span{}, Hashtags: []string{odd, ""},
			Versions:  map[string]string{odd: odd, "<b>": "&", "a": "", "": "z"},
			Sentiment: &Sentiment{Score: -0.0000001, Label: odd}, LangConfidence: 1e21}}
	for i, m := range append(codecFixtures(), &full, &empty, &hostile) {
		got, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		want, err := stdjson.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("mention %d: Marshal =\n%s\nencoding/json =\n%s", i, got, want)
		}
		dec, err := Unmarshal(want)
		if err != nil {
			t.Fatal(err)
		}
		var std Mention
		if err := stdjson.Unmarshal(want, &std); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(dec, &std) {
			t.Errorf("mention %d: Unmarshal differs from encoding/json:\n got %+v\nwant %+v", i, dec, &std)
		}
	}
}

// TestUnmarshalRejects: what the decoder refuses, it says why.
func TestUnmarshalRejects(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"id":`, "decode mention"},
		{`{"schema":99,"id":"a:1"}`, "newer"},
		{`{"schema":1}`, "no id"},
		{`[1,2]`, "decode mention"},
		{`{"id":"a:1","created_at":"yesterday"}`, "decode mention"},
		{`{"id":"a:1"} {}`, "decode mention"},
		{`{"id":"a:1","rating":1.5}`, "decode mention"},
		{`{"id":"a:1","author":{"followers":1e300}}`, "decode mention"},
		{`{"id":"a:1","deleted":"true"}`, "decode mention"},
		{`{"id":"a:1","text":"a` + "\n" + `b"}`, "decode mention"},
		{`{"id":"a:1","x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`, "decode mention"},
	} {
		if _, err := Unmarshal([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Unmarshal(%q) = %v; want an error containing %q", tc.in, err, tc.want)
		}
	}
}

// BenchmarkCodec is the wire codec (encode + decode of one enriched
// mention, a tweet and a ~1 KB article alternately) interleaved with
// encoding/json in the same loop, so load on a shared machine hits both
// alike. It reports the time of each and the speed-up.
//
//	go test -run '^$' -bench Codec -benchmem ./pipeline/
func BenchmarkCodec(b *testing.B) {
	ms := codecFixtures()
	var ours, std time.Duration
	for i := 0; b.Loop(); i++ {
		m := ms[i%len(ms)]
		t0 := time.Now()
		data, _ := m.Marshal()
		if _, err := Unmarshal(data); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		data, _ = stdjson.Marshal(m)
		var x Mention
		if err := stdjson.Unmarshal(data, &x); err != nil {
			b.Fatal(err)
		}
		ours += t1.Sub(t0)
		std += time.Since(t1)
	}
	b.ReportMetric(float64(ours.Nanoseconds())/float64(b.N), "codec-ns/mention")
	b.ReportMetric(float64(std.Nanoseconds())/float64(b.N), "encoding_json-ns/mention")
	b.ReportMetric(float64(std)/float64(ours), "speedup")
}
