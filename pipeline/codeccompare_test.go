//go:build codeccompare

package pipeline

// Codec candidates for the Mention, measured side by side:
//
//	go test -tags codeccompare -run '^$' -bench CodecCompare -benchmem ./pipeline/
//
// Each benchmark encodes then decodes one enriched mention (a tweet and a
// ~1 KB article alternately).

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/bytedance/sonic"
	gojson "github.com/goccy/go-json"
	segjson "github.com/segmentio/encoding/json"
	"github.com/vmihailenco/msgpack/v5"
)

// BenchmarkCodecCompare runs every candidate on the same mention in each
// iteration, so a shared machine's load hits them alike; it reports ns per
// mention of the encode, the decode and both, and the allocations of both
// (measured apart, after the timed loop) of each.
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
		// sonic's encoding/json-compatible configuration.
		{"sonic_std", func(m *Mention) ([]byte, error) { return sonic.ConfigStd.Marshal(m) }, func(d []byte, m *Mention) error { return sonic.ConfigStd.Unmarshal(d, m) }},
		// sonic's defaults: no HTML escaping, maps unsorted, decoded strings
		// share the input; not the bytes of encoding/json, shown for its
		// speed only.
		{"sonic_default", func(m *Mention) ([]byte, error) { return sonic.ConfigDefault.Marshal(m) }, func(d []byte, m *Mention) error { return sonic.ConfigDefault.Unmarshal(d, m) }},
		{"segmentio_json", func(m *Mention) ([]byte, error) { return segjson.Marshal(m) }, func(d []byte, m *Mention) error { return segjson.Unmarshal(d, m) }},
		{"msgpack", func(m *Mention) ([]byte, error) { return msgpack.Marshal(m) }, func(d []byte, m *Mention) error { return msgpack.Unmarshal(d, m) }},
	}
	roundTrip := func(c codec, m *Mention) int {
		data, err := c.enc(m)
		if err != nil {
			b.Fatal(err)
		}
		var x Mention
		if err := c.dec(data, &x); err != nil {
			b.Fatal(err)
		}
		return len(data)
	}
	for _, c := range codecs { // warm up: caches and compiled codecs outside the timing
		for _, m := range ms {
			roundTrip(c, m)
		}
	}
	enc := make([]time.Duration, len(codecs))
	dec := make([]time.Duration, len(codecs))
	size := make([]int, len(codecs))
	for i := 0; b.Loop(); i++ {
		m := ms[i%len(ms)]
		for k, c := range codecs {
			t0 := time.Now()
			data, err := c.enc(m)
			t1 := time.Now()
			if err != nil {
				b.Fatal(err)
			}
			var x Mention
			if err := c.dec(data, &x); err != nil {
				b.Fatal(err)
			}
			enc[k] += t1.Sub(t0)
			dec[k] += time.Since(t1)
			size[k] += len(data)
		}
	}
	b.StopTimer()
	for k, c := range codecs {
		n := float64(b.N)
		b.ReportMetric(float64(enc[k].Nanoseconds())/n, c.name+"-enc-ns")
		b.ReportMetric(float64(dec[k].Nanoseconds())/n, c.name+"-dec-ns")
		b.ReportMetric(float64((enc[k]+dec[k]).Nanoseconds())/n, c.name+"-ns")
		b.ReportMetric(float64(size[k])/n, c.name+"-bytes")
		i := 0
		b.ReportMetric(testing.AllocsPerRun(100, func() { roundTrip(c, ms[i%len(ms)]); i++ }), c.name+"-allocs")
	}
}
