package detect

import (
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/enrich/trend"
	"github.com/earshot-dev/earshot/pipeline"
)

// refState is the state record as Checkpoint encoded it before
// appendState: the record built whole and given to json.Marshal.
func refState(c *Counter) ([]byte, error) {
	st := stateRecord{V: checkpointVersion, Watermark: c.watermark, Closed: c.closed,
		Open: map[string][]trend.Bucket{}, Seqs: c.seqs.r, Recent: c.recent}
	for p := range c.platforms {
		st.Platforms = append(st.Platforms, p)
	}
	sort.Strings(st.Platforms)
	for _, s := range c.order {
		if len(s.open) > 0 {
			bs := make([]trend.Bucket, 0, len(s.open))
			for _, b := range s.open {
				bs = append(bs, *b)
			}
			slices.SortFunc(bs, func(a, b trend.Bucket) int { return a.Start.Compare(b.Start) })
			st.Open[s.key] = bs
		}
	}
	return json.Marshal(st)
}

// checkStateEncoding fails unless the Counter's checkpoint state is the
// former encoding's, byte for byte.
func checkStateEncoding(tb testing.TB, c *Counter) {
	tb.Helper()
	want, werr := refState(c)
	cp, err := c.Checkpoint(false)
	if (err != nil) != (werr != nil) {
		tb.Fatalf("Checkpoint() error = %v; the former encoding's %v", err, werr)
	}
	if err == nil && string(cp.State) != string(want) {
		tb.Fatalf("state record differs from the former encoding:\n%s\nformer:\n%s", cp.State, want)
	}
}

// TestStateEncodingMatchesFormer: the state record written after every
// batch is the former json.Marshal encoding byte for byte, so checkpoints
// written before and after read alike, on edge values: scope names that
// need escaping, fractional, tiny and huge counts, no sequences and an
// empty list of them, recent alerts, nanosecond and non-UTC times, and a
// time json refuses (the same error).
func TestStateEncodingMatchesFormer(t *testing.T) {
	cfg := testConfig()
	cfg.Resolutions = []time.Duration{time.Minute, 5 * time.Minute}
	topics := []pipeline.Topic{{ID: "acme"}, {ID: `a<b>&"c"\d`}, {ID: "café ☕\u2028x"}, {ID: "Zed"}, {ID: "zed"}}
	c, err := NewCounter(cfg, topics)
	if err != nil {
		t.Fatal(err)
	}
	checkStateEncoding(t, c) // nothing counted: no sequences, platforms or recent alerts
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)
	for i, p := range []string{"twitter", "r<ss>", "mastodon", "", "ünï"} {
		for j, tp := range topics {
			m := &pipeline.Mention{ID: strings.Repeat("x", i+1) + tp.ID, Platform: p, CreatedAt: t0.Add(time.Duration(i*7+j) * 13 * time.Second),
				Enrichment: pipeline.Enrichment{Topics: []string{tp.ID}, Sentiment: &pipeline.Sentiment{Label: pipeline.SentimentNegative}}}
			if _, err := c.Count(m, uint64(3*i+j+1), t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
	}
	checkStateEncoding(t, c)
	c.recent = append(c.recent, emitted{Series: "60s|a<b>|_all", Kind: "spike", End: t0}, emitted{Series: "300s|_all|_all", Kind: "ramp", End: t0.In(time.FixedZone("X", 5*3600+1800))})
	checkStateEncoding(t, c)
	// Counts no mention gives, but a restored or hand-made state may hold.
	i := 0
	for _, s := range c.order {
		for _, b := range s.open {
			b.Count = []float64{0.5, 1e-7, 3e21, 123456789012, 1.0 / 3, -0.0, 5e-324, 1e20}[i%8]
			b.Negative = []float64{0, 2.5e-9, 1e300, 7}[i%4]
			i++
		}
		s.openEncoded = false // changed behind add's back
	}
	checkStateEncoding(t, c)
	c.seqs.r = [][2]uint64{}
	c.watermark = c.watermark.In(time.FixedZone("Y", -(3*3600 + 30*60)))
	checkStateEncoding(t, c)
	c.seqs.r = [][2]uint64{{1, math.MaxUint64}}
	c.closed = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) // json refuses it
	checkStateEncoding(t, c)
	c.closed = t0
	for _, s := range c.order {
		for _, b := range s.open {
			b.Count = math.NaN() // and this
		}
		s.openEncoded = false
	}
	checkStateEncoding(t, c)
}

// checkPruned fails if a slot of the id set or of the samples that Close's
// prune would have forgotten by walking them all (as it did before it
// skipped walks when the oldest slot had not ended) is still held.
func checkPruned(tb testing.TB, c *Counter) {
	tb.Helper()
	idLine := idsPruneLine(c.closed, c.cfg.Grace, c.maxRes)
	for k := range c.ids.slots {
		if !time.Unix(0, k).Add(c.ids.slot).After(idLine) {
			tb.Fatalf("id slot %s outlived the prune at %s", time.Unix(0, k).UTC(), idLine)
		}
	}
	sampleLine := c.closed.Add(-c.cfg.Grace - c.maxRes - c.rampMax - c.cfg.Explain.Baseline)
	for sc, slots := range c.samples.scopes {
		for k := range slots {
			if !time.Unix(0, k).Add(c.samples.slot).After(sampleLine) {
				tb.Fatalf("sample slot %s of %v outlived the prune at %s", time.Unix(0, k).UTC(), sc, sampleLine)
			}
		}
	}
}
