//go:build codeccompare

package detect

import (
	"reflect"
	"testing"
	"time"

	"github.com/bytedance/sonic"
	json "github.com/goccy/go-json"
)

// BenchmarkDecodeCompare is the detect role's narrow decode (the fields of
// enrichedFields) of real enriched mentions by goccy/go-json, as decode
// does it, and by sonic in its encoding/json-compatible configuration,
// each into a fresh enrichedFields, in the same loop; decoder.decode (goccy
// into reused buffers, with its checks) is timed beside them. Both
// libraries must read the same fields from every message.
//
//	go test -tags codeccompare -run '^$' -bench DecodeCompare -benchtime 20000x ./enrich/detect/
func BenchmarkDecodeCompare(b *testing.B) {
	st := newStepStream(b, 4000)
	for _, data := range st.data {
		var g, s enrichedFields
		if err := json.Unmarshal(data, &g); err != nil {
			b.Fatal(err)
		}
		if err := sonic.ConfigStd.Unmarshal(data, &s); err != nil {
			b.Fatal(err)
		}
		if !reflect.DeepEqual(g, s) {
			b.Fatalf("sonic read\n%+v\ngoccy read\n%+v", s, g)
		}
	}
	var d decoder
	var goccy, son, dec time.Duration
	for i := 0; b.Loop(); i++ {
		data := st.data[i%len(st.data)]
		t0 := time.Now()
		var g enrichedFields
		if err := json.Unmarshal(data, &g); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		var s enrichedFields
		if err := sonic.ConfigStd.Unmarshal(data, &s); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if _, err := d.decode(data); err != nil {
			b.Fatal(err)
		}
		goccy += t1.Sub(t0)
		son += t2.Sub(t1)
		dec += time.Since(t2)
	}
	n := float64(b.N)
	b.ReportMetric(float64(goccy.Nanoseconds())/n, "goccy-ns")
	b.ReportMetric(float64(son.Nanoseconds())/n, "sonic_std-ns")
	b.ReportMetric(float64(dec.Nanoseconds())/n, "decode-ns")
	b.ReportMetric(float64(goccy)/float64(son), "sonic-speedup")
}
