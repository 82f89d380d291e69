//go:build codeccompare

package pipeline

// Codec candidates for the Mention, measured side by side:
//
//	go test -tags codeccompare -run '^$' -bench Codec -benchmem ./pipeline/
//
// Each benchmark encodes then decodes one enriched mention (a tweet and a
// ~1 KB article alternately).

import (
	"encoding/json"
	"testing"

	gojson "github.com/goccy/go-json"
	segjson "github.com/segmentio/encoding/json"
	"github.com/vmihailenco/msgpack/v5"
)

func benchCodec(b *testing.B, enc func(*Mention) ([]byte, error), dec func([]byte, *Mention) error) {
	ms := codecFixtures()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		data, err := enc(ms[i%len(ms)])
		if err != nil {
			b.Fatal(err)
		}
		var m Mention
		if err := dec(data, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCodecStdJSON(b *testing.B) {
	benchCodec(b, func(m *Mention) ([]byte, error) { return json.Marshal(m) }, func(d []byte, m *Mention) error { return json.Unmarshal(d, m) })
}

func BenchmarkCodecGoccyJSON(b *testing.B) {
	benchCodec(b, func(m *Mention) ([]byte, error) { return gojson.Marshal(m) }, func(d []byte, m *Mention) error { return gojson.Unmarshal(d, m) })
}

func BenchmarkCodecSegmentioJSON(b *testing.B) {
	benchCodec(b, func(m *Mention) ([]byte, error) { return segjson.Marshal(m) }, func(d []byte, m *Mention) error { return segjson.Unmarshal(d, m) })
}

func BenchmarkCodecMsgpack(b *testing.B) {
	benchCodec(b, func(m *Mention) ([]byte, error) {
		enc := msgpack.GetEncoder()
		defer msgpack.PutEncoder(enc)
		return msgpack.Marshal(m)
	}, func(d []byte, m *Mention) error { return msgpack.Unmarshal(d, m) })
}

func BenchmarkCodecEarshot(b *testing.B) {
	benchCodec(b, func(m *Mention) ([]byte, error) { return m.Marshal() }, func(d []byte, m *Mention) error {
		x, err := Unmarshal(d)
		if err == nil {
			*m = *x
		}
		return err
	})
}
