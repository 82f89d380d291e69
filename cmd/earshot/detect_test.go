package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/earshot-dev/earshot/enrich/detect"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
	"github.com/earshot-dev/earshot/sink/clickhouse"
	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

// detectConfig is the end-to-end detection test's config: one topic, no
// connector (the test publishes to MENTIONS itself), 1m buckets warm after
// 30m of history.
func detectConfig(t *testing.T, dataDir string, ch clickhouse.Config) *Config {
	t.Helper()
	chm := chConfigMap(ch)
	doc := map[string]any{
		"data_dir":   dataDir,
		"log":        map[string]any{"level": "debug"},
		"http":       map[string]any{"listen": "off"},
		"nats":       map[string]any{"embedded": map[string]any{"port": -1}},
		"clickhouse": chm,
		"topics":     []map[string]any{{"id": "acme", "query": "acme"}},
		"sink":       map[string]any{"flush_interval": "200ms"},
		"enrich": map[string]any{"options": map[string]any{
			// The test replays hours at once: concurrent batches can be hours
			// apart in mention time, all within trend's reorder window.
			"trend": map[string]any{"bucket": "1m", "half_life": "30m", "warmup": "30m", "reorder": "4h"}}},
		"detect": map[string]any{
			"resolutions": []string{"1m"}, "grace": "10s", "reorder": "500ms",
			// The test never waits for the wall clock to close buckets.
			"idle_after": "1h", "lease_ttl": "2s",
			// It replays hours of traffic at once, standing for live
			// traffic: the live-only rule (enrich/detect
			// TestBacklogAlertsOnlyWhatIsLive) is off.
			"live_within": "-1s",
			"detector":    map[string]any{"warmup": "30m"},
		},
	}
	return parseTestConfig(t, "detect-e2e.yaml", doc)
}

// startRoles runs the given roles in-process until stop is called.
func startRoles(t *testing.T, cfg *Config, r roles) (in *infra, stop func()) {
	t.Helper()
	stderr = testLogWriter{t}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *infra, 1)
	done := make(chan error, 1)
	go func() { done <- runRoles(ctx, cfg, r, func(in *infra) { ready <- in }) }()
	select {
	case in = <-ready:
	case err := <-done:
		t.Fatalf("runRoles() = %v before start", err)
	case <-time.After(60 * time.Second):
		t.Fatal("roles did not start within 60s")
	}
	return in, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runRoles() = %v", err)
		}
	}
}

// surgeTraffic makes raw mentions as a feed connector would: steady talk
// about Acme, a fifth of it complaints, and a surge of angry posts.
type surgeTraffic struct {
	rng *rand.Rand
	n   int
}

var (
	calmTexts = []string{
		"Acme kettle works fine, a nice purchase", "Comparing the Acme toaster with the Zenith one",
		"Anyone tried the Acme blender for smoothies?", "Acme support answered my warranty question",
		"Bought an Acme lamp for the office", "The Acme store downtown has kettles on sale",
	}
	complaintTexts = []string{
		"Acme kettle broke after a week, really disappointed", "Acme support is slow and useless, terrible service",
	}
)

func (s *surgeTraffic) mention(t time.Time, text string) *pipeline.Mention {
	s.n++
	return &pipeline.Mention{
		ID: fmt.Sprintf("forum:%d", s.n), Platform: "forum", Source: "forum/acme-fans", Kind: pipeline.KindPost,
		URL: fmt.Sprintf("https://forum.example.com/t/%d", s.n), Author: pipeline.Author{Handle: fmt.Sprintf("user%d", s.rng.IntN(300))},
		Text: text, CreatedAt: t, CollectedAt: t,
	}
}

func (s *surgeTraffic) steady(from, to time.Time) []*pipeline.Mention {
	var out []*pipeline.Mention
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		n := 4 + s.rng.IntN(5)
		for i := range n {
			text := calmTexts[s.rng.IntN(len(calmTexts))]
			if s.rng.IntN(5) == 0 {
				text = complaintTexts[s.rng.IntN(len(complaintTexts))]
			}
			out = append(out, s.mention(m.Add(time.Duration(i)*time.Minute/time.Duration(n)), text))
		}
	}
	return out
}

func (s *surgeTraffic) surge(at time.Time, n int) []*pipeline.Mention {
	out := make([]*pipeline.Mention, n)
	for i := range out {
		out[i] = s.mention(at.Add(time.Duration(i)*time.Minute/time.Duration(n)),
			"My Acme X200 blender caught fire, terrible and dangerous, I hate this #AcmeFire")
	}
	return out
}

func publishRaw(t *testing.T, in *infra, ms []*pipeline.Mention) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pipeline.NewRawPublisher(in.js, nil).Publish(ctx, ms); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// metric sums a metric's samples in the process's registry.
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// detectIdle reports whether the detect role and the alert writer have
// nothing pending.
func detectIdle(t *testing.T, in *infra) bool {
	return consumersIdle(in, [2]string{pipeline.StreamEnriched, detect.DefaultDurable}, [2]string{pipeline.StreamAlerts, detect.DefaultAlertsDurable})
}

func alertMessages(t *testing.T, in *infra) []detect.Alert {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := in.js.Stream(ctx, pipeline.StreamAlerts)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []detect.Alert
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		raw, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		var a detect.Alert
		if err := json.Unmarshal(raw.Data, &a); err != nil {
			t.Fatalf("alert message %d: %v", seq, err)
		}
		if raw.Subject != a.Subject() {
			t.Errorf("alert %s (status %s) on subject %s; want %s", a.ID, a.Status, raw.Subject, a.Subject())
		}
		out = append(out, a)
	}
	return out
}

// TestEndToEndSurgeAlert drives a synthetic crisis through the running
// pipeline (MENTIONS → enrich → ENRICHED → detect → ALERTS → ClickHouse):
// two hours of steady, backdated talk about Acme raise no alert; a surge of
// angry posts with #AcmeFire raises exactly one, on NATS, in ClickHouse and
// in the metrics, explained by the hashtag, with a severity; the surge's
// mentions are tagged with it as a trend; and two calm hours later the
// event is resolved (alerts.resolved, ClickHouse, metrics) with its first
// and last bucket and its peak.
func TestEndToEndSurgeAlert(t *testing.T) {
	ch := chtest.NewDatabase(t)
	cfg := detectConfig(t, t.TempDir(), ch)
	db := ch.Database
	in, stop := startRoles(t, cfg, roles{enrich: true, sink: true, detect: true, embedded: true})
	defer stop()

	now := time.Now().UTC().Truncate(time.Minute)
	tr := &surgeTraffic{rng: rand.New(rand.NewPCG(1, 2))}
	surgeAt := now.Add(-128 * time.Minute)
	history := tr.steady(surgeAt.Add(-2*time.Hour), surgeAt.Add(-time.Minute))
	publishRaw(t, in, history)
	last := history[len(history)-1].CreatedAt
	pipelinetest.WaitFor(t, 40*time.Second, "the history's buckets judged", func() bool {
		return metric(t, in.reg, "earshot_detect_closed_timestamp_seconds") >= float64(last.Unix()) && idle(t, in) && detectIdle(t, in)
	})
	if n := len(alertMessages(t, in)); n != 0 {
		t.Fatalf("steady traffic raised %d alerts; want none", n)
	}

	crisis := append(tr.surge(surgeAt, 150), tr.steady(surgeAt.Add(time.Minute), now.Add(-2*time.Minute))...)
	publishRaw(t, in, crisis)
	last = crisis[len(crisis)-1].CreatedAt
	pipelinetest.WaitFor(t, 60*time.Second, "the surge judged, its alert and its resolution stored", func() bool {
		return metric(t, in.reg, "earshot_detect_closed_timestamp_seconds") >= float64(last.Unix()) && idle(t, in) && detectIdle(t, in) &&
			queryCount(t, in, "SELECT count() FROM "+db+".alerts") > 1
	})

	msgs := alertMessages(t, in)
	if len(msgs) != 2 || msgs[0].Status != detect.StatusFiring || msgs[1].Status != detect.StatusResolved {
		t.Fatalf("stream ALERTS holds %d messages; want exactly 1 alert, then its resolution: %+v", len(msgs), msgs)
	}
	a, res := msgs[0], msgs[1]
	if a.Severity == "" || a.EventID != a.ID || !a.FirstBucket.Equal(surgeAt) || a.Peak < 150 {
		t.Errorf("alert severity %q event %q first %v peak %v; want a severity, its own id, the surge's bucket %v and its count", a.Severity, a.EventID, a.FirstBucket, a.Peak, surgeAt)
	}
	if res.EventID != a.ID || res.Kind != a.Kind || !res.FirstBucket.Equal(surgeAt) || res.LastBucket.Before(surgeAt) ||
		!res.BucketStart.After(res.LastBucket.Add(time.Hour-time.Minute)) || res.Peak < 150 || !res.PeakAt.Equal(surgeAt) || res.Severity == "" {
		t.Errorf("resolved event = %+v; want event %s of kind %s, first bucket %v, peak >= 150 there, resolved after an hour of calm", res, a.ID, a.Kind, surgeAt)
	}
	if a.Topic != "acme" || !a.BucketStart.Equal(surgeAt) || (a.Kind != "spike" && a.Kind != "negative_surge") {
		t.Errorf("alert = %s on %s/%s at %v; want a spike or negative surge of topic acme at %v", a.Kind, a.Topic, a.Platform, a.BucketStart, surgeAt)
	}
	if n := queryCount(t, in, "SELECT count() FROM "+db+".alerts FINAL"); n != 2 {
		t.Errorf("alerts FINAL = %d rows; want 2 (the alert, its resolution)", n)
	}
	var status, evID string
	var peak float64
	if err := in.store.Conn().QueryRow(context.Background(), "SELECT status, event_id, peak FROM "+db+".alerts FINAL WHERE id = ?", res.ID).Scan(&status, &evID, &peak); err != nil ||
		status != "resolved" || evID != a.ID || peak != res.Peak {
		t.Errorf("resolved row = %q %q %v (%v); want resolved, event %s, peak %v", status, evID, peak, err, a.ID, res.Peak)
	}
	if n := metric(t, in.reg, "earshot_alerts_resolved_total"); n != 1 {
		t.Errorf("earshot_alerts_resolved_total = %v; want 1", n)
	}
	row := in.store.Conn().QueryRow(context.Background(), "SELECT id, topic, platform, kind, observed, explanation, sample_ids FROM "+db+".alerts FINAL WHERE status = 'firing'")
	var (
		id, topic, platform, kind, expl string
		observed                        float64
		samples                         []string
	)
	if err := row.Scan(&id, &topic, &platform, &kind, &observed, &expl, &samples); err != nil {
		t.Fatalf("scan alert row: %v", err)
	}
	if id != a.ID || topic != "acme" || platform != "" || kind != a.Kind || observed < 150 {
		t.Errorf("alert row = %s %s %q %s observed %v; want the published alert %s on acme, all platforms", id, topic, platform, kind, observed, a.ID)
	}
	if !strings.Contains(expl, `"value":"acmefire"`) || len(samples) == 0 || !strings.HasPrefix(samples[0], "forum:") {
		t.Errorf("alert explanation = %s, samples %v; want the hashtag acmefire named and mention ids", expl, samples)
	}
	if n := metric(t, in.reg, "earshot_alerts_total"); n != 1 {
		t.Errorf("earshot_alerts_total = %v; want 1", n)
	}
	if n := queryCount(t, in, "SELECT count() FROM "+db+".mentions FINAL WHERE has(trends, '#acmefire')"); n == 0 {
		t.Error("no surge mention is tagged with the trend #acmefire")
	}
	if n := queryCount(t, in, "SELECT count() FROM "+db+".mentions FINAL WHERE created_at < toDateTime('"+
		surgeAt.Add(-time.Minute).Format(time.DateTime)+"', 'UTC') AND notEmpty(trends)"); n != 0 {
		t.Errorf("%d steady mentions carry trend tags; want none: %v", n, queryStrings(t, in, "SELECT concat(toString(min(created_at)), ' ', toString(max(created_at)), ' ', arrayStringConcat(groupUniqArrayArray(trends), ',')) FROM "+db+".mentions FINAL WHERE notEmpty(trends) AND created_at < toDateTime('"+surgeAt.Add(-time.Minute).Format(time.DateTime)+"', 'UTC')"))
	}
}

func TestDetectCSV(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(3, 4))
	const n, spike = 2000, 1900
	for i := range n {
		v := 40 + rng.IntN(10)
		if i == spike {
			v = 400
		}
		fmt.Fprintf(&b, "%s,%d\n", start.Add(time.Duration(i)*5*time.Minute).Format("2006-01-02 15:04:05"), v)
	}
	in, out := filepath.Join(dir, "in.csv"), filepath.Join(dir, "out.csv")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, errOut bytes.Buffer
	if code := Main(context.Background(), []string{"detect", "--input", in, "--output", out}, nil, &stdout, &errOut); code != 0 {
		t.Fatalf("earshot detect --input = exit %d: %s", code, errOut.String())
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != n+1 || lines[0] != "timestamp,value,anomaly_score,alert" {
		t.Fatalf("output has %d lines, header %q; want %d and timestamp,value,anomaly_score,alert", len(lines), lines[0], n+1)
	}
	alerts := 0
	for i, l := range lines[1:] {
		if strings.HasSuffix(l, ",1") {
			alerts++
			if i != spike {
				t.Errorf("row %d alerts: %s; want only the spike row %d", i, l, spike)
			}
		}
	}
	if alerts != 1 {
		t.Errorf("%d rows alert; want 1 (the spike)", alerts)
	}

	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"detect", "--output", out}, 2, "need --input"},
		{[]string{"detect", "--input", filepath.Join(dir, "missing.csv")}, 1, "no such file"},
	}
	for _, tt := range tests {
		errOut.Reset()
		if code := Main(context.Background(), tt.args, nil, &stdout, &errOut); code != tt.code || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("earshot %v = exit %d (%s); want %d mentioning %q", tt.args, code, errOut.String(), tt.code, tt.want)
		}
	}
	// Bad input names the line and leaves no output file behind.
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("timestamp,value\n2026-01-01 00:00:00,1\n2026-01-01 00:05:00,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(dir, "out2.csv")
	errOut.Reset()
	if code := Main(context.Background(), []string{"detect", "--input", bad, "--output", out2}, nil, &stdout, &errOut); code != 1 || !strings.Contains(errOut.String(), "line 3") {
		t.Errorf("earshot detect (bad value) = exit %d (%s); want 1 naming line 3", code, errOut.String())
	}
	if _, err := os.Stat(out2); !os.IsNotExist(err) {
		t.Errorf("output file after a failed run: %v; want none", err)
	}
}
