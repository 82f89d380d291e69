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
	"time"

	gojson "github.com/goccy/go-json"
	segjson "github.com/segmentio/encoding/json"
	"github.com/vmihailenco/msgpack/v5"
)

// BenchmarkCodecCompare runs every candidate on the same mention in each
// iteration, so a shared machine's load hits them alike; it reports ns per
// mention (encode + decode) of each.
func BenchmarkCodecCompare(b *testing.B) {
	ms := codecFixtures()
	type codec struct {
		name string
		enc  func(*Mention) ([]byte, error)
		dec  func([]byte, *Mention) error
	}
	codecs := []codec{
		{"encoding_json", func(m *Mention) ([]byte, error) { return json.Marshal(m) }, func(d []byte, m *Mention) error { return json.Unmarshal(d, m) }},
		{"goccy_json", func(m *Mention) ([]byte, error) { return gojson.Marshal(m) }, func(d []byte, m *Mention) error { return gojson.Unmarshal(d, m) }},
		{"segmentio_json", func(m *Mention) ([]byte, error) { return segjson.Marshal(m) }, func(d []byte, m *Mention) error { return segjson.Unmarshal(d, m) }},
		{"msgpack", func(m *Mention) ([]byte, error) { return msgpack.Marshal(m) }, func(d []byte, m *Mention) error { return msgpack.Unmarshal(d, m) }},
	}
	took := make([]time.Duration, len(codecs))
	size := make([]int, len(codecs))
	for i := 0; b.Loop(); i++ {
		for k, c := range codecs {
			t0 := time.Now()
			data, err := c.enc(ms[i%len(ms)])
			if err != nil {
				b.Fatal(err)
			}
			var m Mention
			if err := c.dec(data, &m); err != nil {
				b.Fatal(err)
			}
			took[k] += time.Since(t0)
			size[k] += len(data)
		}
	}
	for k, c := range codecs {
		b.ReportMetric(float64(took[k].Nanoseconds())/float64(b.N), c.name+"-ns")
		b.ReportMetric(float64(size[k])/float64(b.N), c.name+"-bytes")
	}
}
