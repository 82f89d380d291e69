package detect

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/earshot-dev/earshot/enrich/detect/internal/words"
	"github.com/earshot-dev/earshot/pipeline"
)

// refSampleTerms is how a sampled mention's terms were found before
// sampleTerms: all of Terms, cut to maxSampleTerms, each term cloned.
func refSampleTerms(title, text string) []string {
	terms := words.Terms(make([]string, 0, 8), title, text)
	if len(terms) > maxSampleTerms {
		terms = terms[:maxSampleTerms]
	}
	for i, t := range terms {
		terms[i] = strings.Clone(t)
	}
	return slices.Clip(terms)
}

// detectPath is one way for the detect role to read and count a message:
// the reference (pipeline.Unmarshal, the whole Mention, refSampleTerms) or
// the role's own (decoder, sampleTerms).
type detectPath struct {
	c   *Counter
	dec *decoder // nil: the reference
}

func (p *detectPath) count(data []byte, seq uint64, now time.Time) (string, error) {
	if p.dec == nil {
		m, err := pipeline.Unmarshal(data)
		if err != nil {
			return "undecodable", nil
		}
		out, err := p.c.Count(m, seq, now)
		return out.String(), err
	}
	m, err := p.dec.decode(data)
	if err != nil {
		return "undecodable", nil
	}
	out, err := p.c.count(m, p.dec, seq, now)
	return out.String(), err
}

func (p *detectPath) replay(data []byte, seq, floor uint64, now time.Time) bool {
	if p.dec == nil {
		m, err := pipeline.Unmarshal(data)
		return err == nil && p.c.Replay(m, seq, floor, now)
	}
	m, err := p.dec.decode(data)
	return err == nil && p.c.replay(m, p.dec, seq, floor, now)
}

// detectRun is everything a path produced from a stream.
type detectRun struct {
	outcomes []string
	obs      []Observation
	alerts   []string // JSON, as published
	samples  string   // every scope's sampled items, JSON
	state    []byte   // the checkpoint
	sampled  int      // items taken into samples, in all
}

// pathConfig is the detect config of the differential tests: two
// resolutions, so there are more series, and a short warmup, so the
// stream's surges alert.
func pathConfig() Config {
	warm := 3 * time.Hour
	return Config{
		Resolutions: []time.Duration{time.Minute, 5 * time.Minute},
		Detector:    DetectorConfig{Warmup: &warm},
	}
}

// runPath feeds the stream to a path in batches as the runner does, closing
// buckets up to the watermark after each batch, and redelivering one
// message in 97 with its sequence.
func runPath(t testing.TB, rs *realStream, termsOf func(string, string) []string, own bool) *detectRun {
	t.Helper()
	c, err := NewCounter(pathConfig(), rs.Topics)
	if err != nil {
		t.Fatal(err)
	}
	c.termsOf = termsOf
	p := &detectPath{c: c}
	if own {
		p.dec = new(decoder)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	run := &detectRun{}
	closeAll := func() {
		o, a, err := c.Close(c.Watermark(), c.Watermark().Add(time.Minute))
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
		run.obs = append(run.obs, o...)
		for _, al := range a {
			b, err := json.Marshal(al)
			if err != nil {
				t.Fatal(err)
			}
			run.alerts = append(run.alerts, string(b))
		}
	}
	for i, data := range rs.Data {
		seq := uint64(i + 1)
		out, err := p.count(data, seq, now)
		if err != nil {
			t.Fatalf("count message %d: %v", seq, err)
		}
		run.outcomes = append(run.outcomes, out)
		if i%97 == 0 {
			out, _ := p.count(data, seq, now)
			run.outcomes = append(run.outcomes, out)
		}
		if i%500 == 499 {
			closeAll()
			checkStateEncoding(t, c) // as written after every batch
			checkPruned(t, c)
		}
	}
	closeAll()
	run.samples, run.sampled = dumpSamples(t, c)
	cp, err := c.Checkpoint(true)
	if err != nil {
		t.Fatal(err)
	}
	run.state = cp.State
	return run
}

// dumpSamples encodes every scope's sampled items, in a fixed order.
func dumpSamples(t testing.TB, c *Counter) (string, int) {
	t.Helper()
	type item struct {
		Scope    string
		Hash     uint64
		T        time.Time
		Negative bool
		Platform string
		Topics   []string
		Ex       any
	}
	var items []item
	for sc, slots := range c.samples.scopes {
		for _, sl := range slots {
			for _, it := range sl.items {
				items = append(items, item{sc.topic + "/" + sc.platform, it.hash, it.t, it.negative, it.platform, it.topics, it.ex})
			}
		}
	}
	slices.SortFunc(items, func(a, b item) int {
		if c := strings.Compare(a.Scope, b.Scope); c != 0 {
			return c
		}
		return a.T.Compare(b.T)*2 + cmp.Compare(a.Hash, b.Hash)
	})
	b, err := json.Marshal(items)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), len(items)
}

// diffRuns describes the first difference between two runs, or "".
func diffRuns(want, got *detectRun) string {
	if i := firstDiff(want.outcomes, got.outcomes); i >= 0 {
		return fmt.Sprintf("outcome %d: %s; reference %s", i, at(got.outcomes, i), at(want.outcomes, i))
	}
	if !reflect.DeepEqual(want.obs, got.obs) {
		return fmt.Sprintf("%d observations differ from the reference's %d", len(got.obs), len(want.obs))
	}
	if i := firstDiff(want.alerts, got.alerts); i >= 0 {
		return fmt.Sprintf("alert %d:\n%s\nreference:\n%s", i, at(got.alerts, i), at(want.alerts, i))
	}
	if want.samples != got.samples {
		return fmt.Sprintf("the %d sampled items differ from the reference's %d", got.sampled, want.sampled)
	}
	if string(want.state) != string(got.state) {
		return "the checkpoint differs from the reference's"
	}
	return ""
}

func firstDiff(a, b []string) int {
	for i := range max(len(a), len(b)) {
		if at(a, i) != at(b, i) {
			return i
		}
	}
	return -1
}

func at(xs []string, i int) string {
	if i < len(xs) {
		return xs[i]
	}
	return "(none)"
}

// TestDetectPathMatchesReference: on a day and a half of real traffic
// with surges, the detect role's own decoding and sampling give the same
// outcomes, verdicts, alerts (with their explanations and sample ids),
// samples and checkpoint as the whole-Mention decoding and the former
// term extraction.
func TestDetectPathMatchesReference(t *testing.T) {
	rs := loadRealStream(t, 900, 430, 3)
	want := runPath(t, rs, refSampleTerms, false)
	got := runPath(t, rs, nil, true)
	if d := diffRuns(want, got); d != "" {
		t.Fatalf("detect path differs from the reference: %s", d)
	}
	firing, terms := 0, 0
	for _, a := range want.alerts {
		if strings.Contains(a, `"status":"firing"`) {
			firing++
		}
		terms += strings.Count(a, `"term"`)
	}
	t.Logf("%d messages, %d outcomes, %d verdicts, %d alerts (%d firing), %d sampled items", len(rs.Data), len(want.outcomes), len(want.obs), len(want.alerts), firing, want.sampled)
	// What the comparison covers, so that it cannot pass on nothing.
	if firing == 0 || want.sampled < 1000 {
		t.Fatalf("the stream raised %d firing alerts and sampled %d items; want some of both", firing, want.sampled)
	}
	for _, o := range []string{"counted", "duplicate", "redelivered", "deletion"} {
		if !slices.Contains(want.outcomes, o) {
			t.Errorf("no %s outcome in the stream; want every kind compared", o)
		}
	}
	// And the comparison sees a difference in the sampled terms alone.
	off := runPath(t, rs, func(title, text string) []string {
		terms := refSampleTerms(title, text)
		return terms[:max(len(terms)-1, 0)]
	}, true)
	if diffRuns(want, off) == "" {
		t.Errorf("a path dropping each sample's last term compares equal to the reference")
	}
}

// TestDetectReplayMatchesReference: a restored Counter rebuilds the same
// samples by either path.
func TestDetectReplayMatchesReference(t *testing.T) {
	rs := loadRealStream(t, 900, 200, 3)
	whole := runPath(t, rs, nil, true)
	var samples [2]string
	for i, own := range []bool{false, true} {
		c, err := NewCounter(pathConfig(), rs.Topics)
		if err != nil {
			t.Fatal(err)
		}
		if !own {
			c.termsOf = refSampleTerms
		}
		if _, err := c.Restore(whole.state, nil); err != nil {
			t.Fatal(err)
		}
		p := &detectPath{c: c}
		if own {
			p.dec = new(decoder)
		}
		n := 0
		for j, data := range rs.Data {
			if p.replay(data, uint64(j+1), uint64(len(rs.Data)), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
				n++
			}
		}
		if n == 0 {
			t.Fatalf("replay took no mention")
		}
		samples[i], _ = dumpSamples(t, c)
	}
	if samples[0] != samples[1] {
		t.Errorf("replayed samples differ from the reference's")
	}
}

// TestDecodeRefusesWhatUnmarshalRefuses: the detect role's decoder refuses
// every message pipeline.Unmarshal refuses for the fields it reads, and
// reads the same values from the others.
func TestDecodeRefusesWhatUnmarshalRefuses(t *testing.T) {
	base := `{"schema":1,"id":"x:1","platform":"twitter","title":"T\u00e9","text":"caf\u00e9 \"q\" \ud83d\ude00","created_at":"2026-01-01T00:00:00Z","enrichment":{"topics":["a"],"sentiment":{"score":-0.5,"label":"negative"}}}`
	cases := []struct {
		name, data string
		refused    bool
	}{
		{"whole", base, false},
		{"truncated", base[:len(base)-1], true},
		{"trailing data", base + ` {}`, true},
		{"bad escape in text", `{"schema":1,"id":"x:1","text":"a \q"}`, true},
		{"bad escape in a field not read", `{"schema":1,"id":"x:1","url":"a \q"}`, true},
		{"control byte in text", "{\"schema\":1,\"id\":\"x:1\",\"text\":\"a\tb\"}", true},
		{"bad syntax in a field not read", `{"schema":1,"id":"x:1","engagement":{"likes":1,,}}`, true},
		{"invalid UTF-8 in text", "{\"schema\":1,\"id\":\"x:1\",\"text\":\"a \xff b\"}", false},
		{"text not a string", `{"schema":1,"id":"x:1","text":5}`, true},
		{"title not a string", `{"schema":1,"id":"x:1","title":{"a":1}}`, true},
		{"null text", `{"schema":1,"id":"x:1","text":null}`, false},
		{"topics not a list", `{"schema":1,"id":"x:1","enrichment":{"topics":"a"}}`, true},
		{"created_at not a time", `{"schema":1,"id":"x:1","created_at":"yesterday"}`, true},
		{"deleted not a bool", `{"schema":1,"id":"x:1","deleted":"yes"}`, true},
		{"schema from the future", `{"schema":2,"id":"x:1"}`, true},
		{"no id", `{"schema":1,"text":"a"}`, true},
		{"null sentiment", `{"schema":1,"id":"x:1","enrichment":{"sentiment":null}}`, false},
		{"not an object", `[1,2]`, true},
	}
	var d decoder
	for _, tc := range cases {
		m, err := pipeline.Unmarshal([]byte(tc.data))
		if (err != nil) != tc.refused {
			t.Fatalf("%s: pipeline.Unmarshal() error = %v; want refused %v", tc.name, err, tc.refused)
		}
		got, gerr := d.decode([]byte(tc.data))
		if (gerr != nil) != tc.refused {
			t.Errorf("%s: decode() error = %v; want refused %v, as pipeline.Unmarshal", tc.name, gerr, tc.refused)
			continue
		}
		if gerr != nil {
			continue
		}
		title, text := d.text()
		neg := m.Enrichment.Sentiment != nil && m.Enrichment.Sentiment.Label == pipeline.SentimentNegative
		gneg := got.Enrichment.Sentiment != nil && got.Enrichment.Sentiment.Label == pipeline.SentimentNegative
		if got.ID != m.ID || title != m.Title || text != m.Text || !slices.Equal(got.Enrichment.Topics, m.Enrichment.Topics) || neg != gneg || !got.CreatedAt.Equal(m.CreatedAt) {
			t.Errorf("%s: decode() = %q %q %q %v %v; want %q %q %q %v %v", tc.name, got.ID, title, text, got.Enrichment.Topics, gneg, m.ID, m.Title, m.Text, m.Enrichment.Topics, neg)
		}
	}
	// The one difference, documented in the README: a wrongly typed field
	// that detect does not read.
	if _, err := d.decode([]byte(`{"schema":1,"id":"x:1","kind":5}`)); err != nil {
		t.Errorf("decode(kind 5) = %v; detect does not read kind", err)
	}
	if _, err := pipeline.Unmarshal([]byte(`{"schema":1,"id":"x:1","kind":5}`)); err == nil {
		t.Errorf("pipeline.Unmarshal(kind 5) accepted it")
	}
}
