package twitter

import (
	"encoding/json"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dghubble/go-twitter/twitter"

	"github.com/earshot-dev/earshot/pipeline"
)

// Hostile payloads shared by the v2 and v1.1 seeds.
var (
	hugeText  = strings.Repeat("acme ", 20000) // 100 kB, past pipeline.MaxTextBytes
	deepArray = strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
)

func fuzzSeeds(f *testing.F, files ...string) {
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzV2StreamLine checks that any filtered-stream line either is skipped or
// maps to a mention that is safe to publish: id "twitter:<data.id>", valid
// UTF-8, a Kind earshot knows, an x.com URL; Normalize accepts it, truncates
// it to the wire limits, and the codec round-trips it exactly.
func FuzzV2StreamLine(f *testing.F) {
	fuzzSeeds(f, "testdata/v2_stream_repost.json")
	for _, s := range []string{
		`{"data":null}`,
		`{"data":{"id":""}}`,
		`null`,
		`{"data":{"id":"1","text":"` + hugeText + `"},"matching_rules":[{"id":"1","tag":"earshot:acme"}]}`,
		`{"data":{"id":"2","text":"x","referenced_tweets":` + deepArray + `}}`,
		"{\"data\":{\"id\":\"3\",\"text\":\"caf\xe9 \xff \\ud800 \\u0000 \\u001b[31m &amp;lt;script&amp;gt;\",\"author_id\":\"9\"},\"includes\":{\"users\":[null,{\"id\":\"9\",\"username\":\"a/b?c\"}]}}",
		`{"data":{"id":"4","referenced_tweets":[null,{"type":"retweeted","id":"5"}]},"includes":{"tweets":[null,{"id":"5","note_tweet":null}]}}`,
		`{"data":{"id":"6","created_at":"9999-99-99T99:99:99Z","public_metrics":{"like_count":-1,"impression_count":9223372036854775807}}}`,
		`{"errors":[{"title":"operational-disconnect","disconnect_type":"OperationalDisconnect"}]}`,
		`{"data":{"id":7},"includes":{"users":{"id":"9"}}}`,
	} {
		f.Add([]byte(s))
	}
	r := testRun(f)
	r.env.Metrics = pipeline.NewMetrics(newReg()).Connector(Platform, "x-test")
	r.log = discardLogger
	f.Fuzz(func(t *testing.T, line []byte) {
		m, _ := r.v2StreamLine(line, func(string) {})
		if m == nil {
			return
		}
		var sl v2StreamLine
		if err := json.Unmarshal(line, &sl); err != nil || sl.Data == nil {
			t.Fatalf("v2StreamLine(%q) mapped a line that does not decode: %v", line, err)
		}
		if m.ID != "twitter:"+sl.Data.ID || sl.Data.ID == "" {
			t.Fatalf("v2StreamLine() id = %q; want twitter:%s", m.ID, sl.Data.ID)
		}
		checkMapped(t, m)
	})
}

// FuzzV1Status checks the v1.1 status mapping the same way, for any status
// that carries an id (the connector skips the others before mapping).
func FuzzV1Status(f *testing.F) {
	fuzzSeeds(f, "testdata/v1_extended_status.json")
	for _, s := range []string{
		`{"id":1}`,
		`{"id_str":"2","text":"` + hugeText + `"}`,
		`{"id_str":"3","retweeted_status":{"id_str":"4","extended_tweet":{"full_text":"&amp;lt;script&amp;gt;"}}}`,
		`{"id_str":"5","quoted_status":{"id":6},"user":null}`,
		`{"id_str":"7","in_reply_to_status_id":8,"user":{"id":9,"screen_name":"x/../y"}}`,
		"{\"id_str\":\"10\",\"full_text\":\"caf\xe9 \\ud83d \\u0000\\u0007\",\"created_at\":\"Mon Jan 01 00:00:00 +0000 2999\"}",
		`{"id_str":"11","entities":` + deepArray + `}`,
		`{"id_str":"12","retweeted_status":{"retweeted_status":{"retweeted_status":{"id_str":"13"}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var tw twitter.Tweet
		if json.Unmarshal(raw, &tw) != nil || (tw.ID == 0 && tw.IDStr == "") {
			return
		}
		m := v1Mention(&tw, "x-test/stream", "acme", collected)
		want := tw.IDStr
		if want == "" {
			want = strconv.FormatInt(tw.ID, 10)
		}
		if m.ID != "twitter:"+want {
			t.Fatalf("v1Mention() id = %q; want twitter:%s", m.ID, want)
		}
		checkMapped(t, m)
	})
}

func checkMapped(t *testing.T, m *pipeline.Mention) {
	t.Helper()
	if m.Platform != Platform {
		t.Fatalf("platform = %q; want %q", m.Platform, Platform)
	}
	switch m.Kind {
	case pipeline.KindPost, pipeline.KindReply, pipeline.KindRepost, pipeline.KindQuote:
	default:
		t.Fatalf("kind = %q; want post, reply, repost or quote", m.Kind)
	}
	if !strings.HasPrefix(m.URL, "https://x.com/") {
		t.Fatalf("url = %q; want an x.com URL", m.URL)
	}
	for name, s := range map[string]string{"text": m.Text, "handle": m.Author.Handle, "name": m.Author.Name, "lang": m.Lang} {
		if !utf8.ValidString(s) {
			t.Fatalf("%s %q is not valid UTF-8", name, s)
		}
	}
	if err := m.Normalize(collected); err != nil {
		t.Fatalf("Normalize(mapped) = %v", err)
	}
	if len(m.Text) > pipeline.MaxTextBytes || len(m.ID) > pipeline.MaxFieldBytes || len(m.URL) > pipeline.MaxFieldBytes {
		t.Fatalf("Normalize() left text %d, id %d, url %d bytes", len(m.Text), len(m.ID), len(m.URL))
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatalf("Marshal() = %v", err)
	}
	got, err := pipeline.Unmarshal(b)
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("Unmarshal(Marshal(m)) = %+v, %v; want %+v", got, err, m)
	}
}
