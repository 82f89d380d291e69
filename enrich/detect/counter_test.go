package detect

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/enrich/trend"
	"github.com/earshot-dev/earshot/pipeline"
)

func newTestCounter(t testing.TB, cfg Config) *Counter {
	t.Helper()
	c, err := NewCounter(cfg, testTopics)
	if err != nil {
		t.Fatalf("NewCounter: %v", err)
	}
	return c
}

// feed counts ms (sequences from seq0) and closes buckets after each batch
// of batch mentions; it returns every observation and alert.
func feed(t testing.TB, c *Counter, ms []*pipeline.Mention, seq0 uint64, batch int, now time.Time) ([]Observation, []Alert) {
	t.Helper()
	var (
		obs    []Observation
		alerts []Alert
	)
	for i := 0; i < len(ms); i += batch {
		for j, m := range ms[i:min(i+batch, len(ms))] {
			if _, err := c.Count(m, seq0+uint64(i+j), now); err != nil {
				t.Fatalf("Count(%s): %v", m.ID, err)
			}
		}
		o, a, err := c.Close(c.Watermark(), now)
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
		obs, alerts = append(obs, o...), append(alerts, a...)
	}
	return obs, alerts
}

func TestCountScopesAndOutcomes(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	c := newTestCounter(t, testConfig())
	tr := newTraffic(1)
	base := now.Add(-time.Hour)
	m1 := tr.mention(base.Add(10*time.Second), "acme one", nil, true)
	m2 := tr.mention(base.Add(20*time.Second), "acme two", nil, false)
	m2.Platform = "twitter"
	m2.Enrichment.Topics = []string{"acme", "zenith", "unconfigured", "acme"}
	m3 := tr.mention(base.Add(70*time.Second), "acme three", nil, false)
	m3.Enrichment.Topics = nil
	future := tr.mention(now.Add(time.Hour), "from the future", nil, false)

	tests := []struct {
		m    *pipeline.Mention
		seq  uint64
		want Outcome
	}{
		{m1, 1, Counted},
		{m1, 1, Redelivered},
		{m1, 9, Duplicate}, // same id, another sequence
		{m2, 2, Counted},
		{m3, 3, Counted},
		{future, 4, Counted}, // counted at now
	}
	for _, tt := range tests {
		got, err := c.Count(tt.m, tt.seq, now)
		if err != nil || got != tt.want {
			t.Errorf("Count(%s, seq %d) = %v, %v; want %v", tt.m.ID, tt.seq, got, err, tt.want)
		}
	}
	if w := c.Watermark(); !w.Equal(now) {
		t.Errorf("Watermark() = %v; want now %v (future mentions are capped)", w, now)
	}
	obs, _, err := c.Close(c.Watermark(), now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, o := range obs {
		if o.Bucket.Start.Equal(base) {
			got[o.Series.String()] = o.Bucket.Count
			if o.Series.Topic == "acme" && o.Bucket.Negative != 1 {
				t.Errorf("acme bucket negative = %v; want 1", o.Bucket.Negative)
			}
		}
	}
	want := map[string]float64{"60s|acme|_all": 2, "60s|zenith|_all": 1, "60s|_all|rss": 1, "60s|_all|twitter": 1, "60s|_all|_all": 2}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("counts of bucket %s = %v; want %v", base.Format(time.TimeOnly), got, want)
	}
	// Everything up to now-grace is closed: an old mention is late now.
	late := tr.mention(base.Add(30*time.Second), "acme late", nil, false)
	if got, err := c.Count(late, 5, now); got != Late || err != nil {
		t.Errorf("Count(late) = %v, %v; want late", got, err)
	}
}

func TestCountUnscoped(t *testing.T) {
	f := false
	cfg := testConfig()
	cfg.Series = SeriesConfig{Platforms: &f, Overall: &f}
	c := newTestCounter(t, cfg)
	m := newTraffic(1).mention(time.Now().Add(-time.Minute), "no topic", nil, false)
	m.Enrichment.Topics = nil
	if got, _ := c.Count(m, 1, time.Now()); got != Unscoped {
		t.Errorf("Count(no topic, only topic series) = %v; want unscoped", got)
	}
}

func TestMaxPlatforms(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPlatforms = 2
	c := newTestCounter(t, cfg)
	tr := newTraffic(1)
	now := time.Now()
	for _, p := range []string{"a", "b", "c", "a"} {
		m := tr.mention(now.Add(-time.Minute), "x", nil, false)
		m.Platform = p
		if _, err := c.Count(m, 0, now); err != nil {
			t.Fatal(err)
		}
	}
	var platforms []string
	for _, s := range c.Series() {
		if s.rank() == 1 {
			platforms = append(platforms, s.Platform)
		}
	}
	if fmt.Sprint(platforms) != "[a b]" || !c.PlatformOverflow() || c.PlatformOverflow() {
		t.Errorf("platform series = %v; want [a b] and one overflow report", platforms)
	}
}

// TestSurgeAlertsOnce: steady history raises nothing; a negative surge on
// one topic raises exactly one alert (not one per scope or resolution),
// explained by its hashtag.
func TestSurgeAlertsOnce(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	cfg := testConfig()
	cfg.Resolutions = []time.Duration{time.Minute, 5 * time.Minute}
	c := newTestCounter(t, cfg)
	tr := newTraffic(2)
	start := now.Add(-3 * time.Hour)
	surgeAt := now.Add(-20 * time.Minute)
	steady := tr.steady(start, surgeAt)
	_, alerts := feed(t, c, steady, 1, 100, now)
	if len(alerts) != 0 {
		t.Fatalf("steady traffic raised %d alerts: %+v", len(alerts), alerts[0])
	}
	ms := append(tr.surge(surgeAt, 150), tr.steady(surgeAt.Add(time.Minute), now.Add(-time.Minute))...)
	_, alerts = feed(t, c, ms, uint64(len(steady)+1), 100, now)
	if len(alerts) != 1 {
		var kinds []string
		for _, a := range alerts {
			kinds = append(kinds, a.Kind+"@"+a.Topic+"/"+a.Platform+"/"+fmt.Sprint(a.ResolutionSeconds))
		}
		t.Fatalf("surge raised %d alerts %v; want 1", len(alerts), kinds)
	}
	a := alerts[0]
	if a.Topic != "acme" || a.Platform != All || a.ResolutionSeconds != 60 || !a.BucketStart.Equal(surgeAt) {
		t.Errorf("alert = %s/%s/%ds at %v; want acme/_all/60s at %v", a.Topic, a.Platform, a.ResolutionSeconds, a.BucketStart, surgeAt)
	}
	if a.Kind != trend.KindSpike && a.Kind != trend.KindNegativeSurge {
		t.Errorf("alert kind = %q; want spike or negative_surge", a.Kind)
	}
	if want := AlertID(SeriesID{time.Minute, "acme", All}, a.Kind, surgeAt); a.ID != want {
		t.Errorf("alert id = %q; want %q", a.ID, want)
	}
	if !hasMover(a.Explanation, trend.FieldHashtag, "acmefire") {
		t.Errorf("explanation = %+v; want hashtag acmefire among the movers", a.Explanation.Top)
	}
	if len(a.SampleIDs) == 0 || !strings.HasPrefix(a.SampleIDs[0], "rss:") {
		t.Errorf("sample ids = %v; want mention ids", a.SampleIDs)
	}
}

func hasMover(ex trend.Explanation, field, value string) bool {
	for _, m := range ex.ByField[field] {
		if m.Value == value {
			return true
		}
	}
	return false
}

// TestCheckpointRestore: a Counter restored from a checkpoint mid-stream
// reaches the same verdicts as one that never stopped, and recognises the
// redelivery of what it had counted.
func TestCheckpointRestore(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tr := newTraffic(3)
	ms := tr.steady(now.Add(-3*time.Hour), now.Add(-30*time.Minute))
	ms = append(ms, tr.surge(now.Add(-30*time.Minute), 150)...)
	ms = append(ms, tr.steady(now.Add(-29*time.Minute), now.Add(-time.Minute))...)
	half := len(ms) / 2

	whole := newTestCounter(t, testConfig())
	wantObs, wantAlerts := feed(t, whole, ms, 1, 50, now)

	first := newTestCounter(t, testConfig())
	obs1, alerts1 := feed(t, first, ms[:half], 1, 50, now)
	cp, err := first.Checkpoint(false)
	if err != nil {
		t.Fatal(err)
	}
	var recs [][]byte
	for _, b := range cp.Series {
		recs = append(recs, b)
	}
	second := newTestCounter(t, testConfig())
	warnings, err := second.Restore(cp.State, recs)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Restore() = %v, %v", warnings, err)
	}
	// The last batch before the checkpoint is redelivered: not counted twice.
	for i, m := range ms[half-50 : half] {
		if got, _ := second.Count(m, uint64(half-50+i+1), now); got != Redelivered {
			t.Fatalf("Count(redelivered %s) = %v; want redelivered", m.ID, got)
		}
	}
	obs2, alerts2 := feed(t, second, ms[half:], uint64(half+1), 50, now)
	gotObs := append(obs1, obs2...)
	// Batches end elsewhere around the restart, so Close groups buckets
	// differently: compare per series and bucket.
	byBucket := func(a, b Observation) int {
		if c := strings.Compare(a.Series.String(), b.Series.String()); c != 0 {
			return c
		}
		return a.Bucket.Start.Compare(b.Bucket.Start)
	}
	slices.SortFunc(gotObs, byBucket)
	slices.SortFunc(wantObs, byBucket)
	if len(gotObs) != len(wantObs) {
		t.Fatalf("restored run made %d observations; uninterrupted %d", len(gotObs), len(wantObs))
	}
	for i := range wantObs {
		g, w := gotObs[i], wantObs[i]
		if g.Series != w.Series || !g.Bucket.Start.Equal(w.Bucket.Start) || g.Bucket.Count != w.Bucket.Count || g.Result.Score != w.Result.Score || g.Result.Alert != w.Result.Alert {
			t.Fatalf("observation %d after restore = %v %v count %v score %v; uninterrupted %v %v count %v score %v",
				i, g.Series, g.Bucket.Start, g.Bucket.Count, g.Result.Score, w.Series, w.Bucket.Start, w.Bucket.Count, w.Result.Score)
		}
	}
	gotAlerts := append(alerts1, alerts2...)
	if len(gotAlerts) != len(wantAlerts) || len(wantAlerts) != 1 || gotAlerts[0].ID != wantAlerts[0].ID {
		t.Errorf("alerts after restore = %d, uninterrupted %d; want the same single alert", len(gotAlerts), len(wantAlerts))
	}
}

func TestRestoreSkipsUnconfigured(t *testing.T) {
	now := time.Now()
	c := newTestCounter(t, testConfig())
	feed(t, c, newTraffic(4).steady(now.Add(-10*time.Minute), now.Add(-2*time.Minute)), 1, 100, now)
	cp, err := c.Checkpoint(true)
	if err != nil {
		t.Fatal(err)
	}
	var recs [][]byte
	for _, b := range cp.Series {
		recs = append(recs, b)
	}
	c2, err := NewCounter(testConfig(), []pipeline.Topic{{ID: "acme", Query: "acme"}})
	if err != nil {
		t.Fatal(err)
	}
	warnings, err := c2.Restore(cp.State, recs)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "zenith") {
		t.Errorf("Restore() warnings = %q; want one about the removed topic zenith", warnings)
	}
	if _, err := c2.Restore([]byte(`{"v":99}`), nil); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("Restore(version 99) = %v; want ErrCheckpoint", err)
	}
}

func TestSeqSet(t *testing.T) {
	var q seqSet
	for _, s := range []uint64{1, 2, 3, 7, 5, 6, 10, 4} {
		q.Add(s)
	}
	if fmt.Sprint(q.r) != "[[1 7] [10 10]]" {
		t.Fatalf("ranges = %v; want [[1 7] [10 10]]", q.r)
	}
	for s, want := range map[uint64]bool{0: false, 1: true, 7: true, 8: false, 10: true, 11: false} {
		if got := q.Contains(s); got != want {
			t.Errorf("Contains(%d) = %v; want %v", s, got, want)
		}
	}
	q.Prune(5)
	if fmt.Sprint(q.r) != "[[6 7] [10 10]]" {
		t.Errorf("after Prune(5) ranges = %v; want [[6 7] [10 10]]", q.r)
	}
	q.Prune(10)
	if q.Len() != 0 {
		t.Errorf("after Prune(10) ranges = %v; want none", q.r)
	}
}

func TestConfigValidate(t *testing.T) {
	neg := -time.Minute
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"defaults", Config{}, nil},
		{"bad", Config{Resolutions: []time.Duration{1500 * time.Millisecond}, Grace: -1, BatchSize: -1, Bucket: "a.b",
			Correlate: &neg, Explain: ExplainConfig{Samples: 5000}},
			[]string{"resolutions[0]", "grace", "batch_size", "kv_bucket", "correlate", "explain.samples"}},
		{"detector", Config{Detector: DetectorConfig{Threshold: ptr(2.0)}}, []string{"threshold"}},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (err == nil) != (tt.want == nil) {
			t.Errorf("%s: Validate() = %v; want errors about %v", tt.name, err, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) || !errors.Is(err, ErrConfig) {
				t.Errorf("%s: Validate() = %v; want it to name %q", tt.name, err, w)
			}
		}
	}
	if got := (Config{Resolutions: []time.Duration{5 * time.Minute, time.Minute, time.Minute}}).WithDefaults().Resolutions; !slices.Equal(got, []time.Duration{time.Minute, 5 * time.Minute}) {
		t.Errorf("WithDefaults().Resolutions = %v; want sorted and unique", got)
	}
}

func ptr[T any](v T) *T { return &v }

func TestSeriesIDRoundTrip(t *testing.T) {
	for _, id := range []SeriesID{{time.Minute, "acme", All}, {5 * time.Minute, All, "twitter"}, {time.Hour, All, All}} {
		got, err := ParseSeriesID(id.String())
		if err != nil || got != id {
			t.Errorf("ParseSeriesID(%q) = %v, %v; want %v", id.String(), got, err, id)
		}
	}
	if k := (SeriesID{time.Minute, All, "we.ird platform"}).kvKey(); k != "series.60._all.we_2Eird_20platform" {
		t.Errorf("kvKey() = %q", k)
	}
}

// TestSurgeResolvesOnce follows the event of TestSurgeAlertsOnce until the
// series is back at its baseline: one resolved event follows the one
// alert, for the same event, even with a checkpoint and restore while the
// event is open; the other series whose alerts the first one covered
// announce no end either.
func TestSurgeResolvesOnce(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	cfg := testConfig()
	cfg.Resolutions = []time.Duration{time.Minute, 5 * time.Minute}
	// Five hours judged at one wall clock stand for a live stream here:
	// the live-only rule (TestBacklogAlertsOnlyWhatIsLive) is off.
	cfg.LiveWithin = -1
	tr := newTraffic(2)
	surgeAt := now.Add(-150 * time.Minute)
	ms := tr.steady(now.Add(-5*time.Hour), surgeAt)
	ms = append(ms, tr.surge(surgeAt, 150)...)
	ms = append(ms, tr.steady(surgeAt.Add(time.Minute), now.Add(-time.Minute))...)
	cut := slices.IndexFunc(ms, func(m *pipeline.Mention) bool { return m.CreatedAt.After(surgeAt.Add(20 * time.Minute)) })

	first := newTestCounter(t, cfg)
	_, alerts := feed(t, first, ms[:cut], 1, 100, now)
	cp, err := first.Checkpoint(true)
	if err != nil {
		t.Fatal(err)
	}
	var recs [][]byte
	for _, b := range cp.Series {
		recs = append(recs, b)
	}
	second := newTestCounter(t, cfg)
	if _, err := second.Restore(cp.State, recs); err != nil {
		t.Fatal(err)
	}
	_, more := feed(t, second, ms[cut:], uint64(cut+1), 100, now)
	alerts = append(alerts, more...)

	if len(alerts) != 2 || alerts[0].Status != StatusFiring || alerts[1].Status != StatusResolved {
		var got []string
		for _, a := range alerts {
			got = append(got, a.Status+" "+a.Kind+"@"+a.Topic+"/"+a.Platform+"/"+fmt.Sprint(a.ResolutionSeconds))
		}
		t.Fatalf("alerts = %v; want one alert, then its resolution", got)
	}
	a, r := alerts[0], alerts[1]
	if r.EventID != a.ID || a.EventID != a.ID || r.Topic != a.Topic || r.Platform != a.Platform || r.Kind != a.Kind {
		t.Errorf("resolved %s/%s %s event %s; want the alert's series and kind, event %s", r.Topic, r.Platform, r.Kind, r.EventID, a.ID)
	}
	if r.Subject() != "alerts.resolved" || a.Subject() != "alerts."+a.Kind {
		t.Errorf("subjects %s, %s; want alerts.%s, alerts.resolved", a.Subject(), r.Subject(), a.Kind)
	}
	if !r.FirstBucket.Equal(surgeAt) || r.Peak < 150 || !r.PeakAt.Equal(surgeAt) || r.LastBucket.Before(surgeAt) {
		t.Errorf("resolved first %v last %v peak %v at %v; want first and peak at the surge %v, peak >= 150", r.FirstBucket, r.LastBucket, r.Peak, r.PeakAt, surgeAt)
	}
	if d := r.BucketStart.Sub(r.LastBucket); d < time.Hour {
		t.Errorf("resolved %s after the last bucket away; want at least resolve_after (1h)", d)
	}
	if want := AlertID(SeriesID{time.Minute, "acme", All}, StatusResolved, surgeAt); r.ID != want {
		t.Errorf("resolved id = %s; want %s (deterministic)", r.ID, want)
	}
}
