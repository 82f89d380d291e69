package trend_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/enrich/trend"
	"github.com/earshot-dev/earshot/enrich/trend/nab"
)

// nabFiles are the NAB series in shared/data/nab: 5 of NAB's 10 Twitter
// volume series, and NYC taxi.
var nabFiles = []string{
	"realTweets/Twitter_volume_AAPL.csv",
	"realTweets/Twitter_volume_AMZN.csv",
	"realTweets/Twitter_volume_CRM.csv",
	"realTweets/Twitter_volume_CVS.csv",
	"realTweets/Twitter_volume_FB.csv",
	"realKnownCause/nyc_taxi.csv",
}

type nabSeries struct {
	name    string
	ts      []time.Time
	vs      []float64
	raw     []byte
	windows []nab.Window
}

func loadNAB(t testing.TB) []nabSeries {
	t.Helper()
	dir, err := nab.DataDir()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("nab.DataDir() = %v; CI must have shared/data", err)
		}
		t.Skipf("no NAB data: %v", err)
	}
	dir = filepath.Join(dir, "nab")
	wins, err := nab.LoadWindows(filepath.Join(dir, "windows.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []nabSeries
	for _, f := range nabFiles {
		raw, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		ts, vs, err := nab.ReadSeries(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, nabSeries{name: f, ts: ts, vs: vs, raw: raw, windows: wins[f]})
	}
	return out
}

// detectorRun is one detector's output over a series: anomaly scores for
// NAB's threshold sweep, and its own alert decisions.
type detectorRun struct {
	scores []float64
	alerts []float64 // 1 where the detector alerted
}

// runDetectCSV runs trend.DetectCSV over a series, the path behind
// `earshot detect --input FILE.csv`.
func runDetectCSV(t testing.TB, s nabSeries, cfg trend.Config) detectorRun {
	t.Helper()
	var out bytes.Buffer
	if err := trend.DetectCSV(bytes.NewReader(s.raw), &out, cfg); err != nil {
		t.Fatalf("DetectCSV(%s): %v", s.name, err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs)-1 != len(s.vs) {
		t.Fatalf("DetectCSV(%s) wrote %d rows; want %d", s.name, len(recs)-1, len(s.vs))
	}
	run := detectorRun{scores: make([]float64, len(s.vs)), alerts: make([]float64, len(s.vs))}
	for i, r := range recs[1:] {
		run.scores[i], _ = strconv.ParseFloat(r[2], 64)
		run.alerts[i], _ = strconv.ParseFloat(r[3], 64)
	}
	return run
}

// meanSigma is the rule open tools ship: alert when a value exceeds the
// mean of the previous `window` rows by 3 standard deviations. Its score
// for NAB's sweep is r²/(1+r²) with r = z/3: 0.5 at 3σ, never saturating.
func meanSigma(vs []float64, window int) detectorRun {
	run := detectorRun{scores: make([]float64, len(vs)), alerts: make([]float64, len(vs))}
	var sum, sq float64
	for i, v := range vs {
		n := min(i, window)
		if n >= 2 {
			mean := sum / float64(n)
			sd := math.Sqrt(math.Max(sq/float64(n)-mean*mean, 0))
			if sd > 0 {
				z := (v - mean) / sd
				if z > 0 {
					r := z / 3
					run.scores[i] = r * r / (1 + r*r)
				}
				if z > 3 {
					run.alerts[i] = 1
				}
			}
		}
		sum += v
		sq += v * v
		if i >= window {
			o := vs[i-window]
			sum -= o
			sq -= o * o
		}
	}
	return run
}

type nabEntry struct {
	name string
	// points per file at the detector's scores, and at its alerts
	scores, alerts [][]nab.Point
}

func nabPoints(t testing.TB, series []nabSeries, runs []detectorRun, alerts bool) [][]nab.Point {
	t.Helper()
	out := make([][]nab.Point, len(series))
	for i, s := range series {
		sc := runs[i].scores
		if alerts {
			sc = runs[i].alerts
		}
		p, err := nab.Points(s.name, s.ts, sc, s.windows, nab.Standard, nab.ProbationPercent)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = p
	}
	return out
}

func flatten(ps [][]nab.Point) []nab.Point {
	var all []nab.Point
	for _, p := range ps {
		all = append(all, p...)
	}
	return all
}

func TestNABReport(t *testing.T) {
	series := loadNAB(t)
	cfg := trend.DefaultConfig()
	cfg.Bucket = 0 // each file's own row step

	var ours, gauss, null []detectorRun
	for _, s := range series {
		ours = append(ours, runDetectCSV(t, s, cfg))
		gauss = append(gauss, meanSigma(s.vs, 288))
		null = append(null, detectorRun{scores: make([]float64, len(s.vs)), alerts: make([]float64, len(s.vs))})
	}
	entries := []nabEntry{
		{name: "earshot", scores: nabPoints(t, series, ours, false), alerts: nabPoints(t, series, ours, true)},
		{name: "mean+3σ", scores: nabPoints(t, series, gauss, false), alerts: nabPoints(t, series, gauss, true)},
		{name: "null", scores: nabPoints(t, series, null, false), alerts: nabPoints(t, series, null, true)},
	}

	twitter := 0
	for _, s := range series {
		if strings.HasPrefix(s.name, "realTweets/") {
			twitter++
		}
	}
	totals := map[string]float64{}
	var b strings.Builder
	fmt.Fprintf(&b, "NAB standard profile (TP 1, FN 1, FP 0.11), %d of NAB's 10 Twitter series + nyc_taxi; normalised 100·(raw-null)/(perfect-null)\n", twitter)
	for _, e := range entries {
		for _, mode := range []string{"alerts", "optimised"} {
			perFile := e.alerts
			thr := 0.5
			if mode == "optimised" {
				perFile = e.scores
				thr = nab.Optimize(flatten(perFile), nab.Standard).Threshold
			}
			fmt.Fprintf(&b, "%s, %s (threshold %.4g):\n", e.name, mode, thr)
			var rawT, rawAll, winT, winAll float64
			for i, s := range series {
				st := nab.ScoreAt(perFile[i], nab.Standard, thr)
				w := float64(st.Windows)
				fmt.Fprintf(&b, "  %-40s windows %d detected %d fp-rows %4d raw %7.3f norm %6.1f\n", s.name, st.Windows, st.Detected, st.FP, st.Score,
					nab.Normalize(st.Score, -w, w))
				rawAll += st.Score
				winAll += w
				if strings.HasPrefix(s.name, "realTweets/") {
					rawT += st.Score
					winT += w
				}
			}
			nt := nab.Normalize(rawT, -winT, winT)
			na := nab.Normalize(rawAll, -winAll, winAll)
			fmt.Fprintf(&b, "  TOTAL Twitter (%d files)                    raw %7.3f norm %6.1f\n", twitter, rawT, nt)
			fmt.Fprintf(&b, "  TOTAL all (%d files)                        raw %7.3f norm %6.1f\n", len(series), rawAll, na)
			totals[e.name+"/"+mode] = na
		}
	}
	t.Log("\n" + b.String())
	for _, mode := range []string{"alerts", "optimised"} {
		if o, g := totals["earshot/"+mode], totals["mean+3σ/"+mode]; !(o > g) {
			t.Errorf("NAB total (%s): earshot %.1f; want above mean+3σ %.1f", mode, o, g)
		}
	}
}

// looCandidates are the few settings the defaults were chosen among, by
// their total on the Twitter series (see doc.go): TestNABLeaveOneOut
// repeats that choice without the series it then scores.
var looCandidates = []struct {
	name string
	edit func(*trend.Config)
}{
	{"defaults", func(*trend.Config) {}},
	{"z_window 4.5", func(c *trend.Config) { c.ZWindow = 4.5 }},
	{"z_window 5.5", func(c *trend.Config) { c.ZWindow = 5.5 }},
	{"z_alert 6.5", func(c *trend.Config) { c.ZAlert = 6.5 }},
	{"z_alert 7.5", func(c *trend.Config) { c.ZAlert = 7.5 }},
	{"rarity 24h", func(c *trend.Config) { c.Rarity = 24 * time.Hour }},
	{"rarity 72h", func(c *trend.Config) { c.Rarity, c.RarityHalfLife = 72*time.Hour, 144*time.Hour }},
	{"window_rarity off", func(c *trend.Config) { c.WindowRarity = 0 }},
	{"windows 3h only", func(c *trend.Config) { c.Windows = nil }},
	{"windows +1h", func(c *trend.Config) { c.Windows = append(c.Windows, time.Hour) }},
	{"windows +2h", func(c *trend.Config) { c.Windows = append(c.Windows, 2*time.Hour) }},
	{"cooldown 48h", func(c *trend.Config) { c.Cooldown = 48 * time.Hour }},
	{"season_weeks 3", func(c *trend.Config) { c.SeasonWeeks = 3 }},
	{"season_weeks 4", func(c *trend.Config) { c.SeasonWeeks = 4 }},
	{"dispersion 12h", func(c *trend.Config) { c.DispersionHalfLife = 12 * time.Hour }},
	{"dispersion 48h", func(c *trend.Config) { c.DispersionHalfLife = 48 * time.Hour }},
}

// TestNABLeaveOneOut is the honest generalisation figure for the Twitter
// series: for each one, pick the candidate setting with the best total
// over the other four, at the fixed threshold, and score the held-out
// series with it.
func TestNABLeaveOneOut(t *testing.T) {
	var series []nabSeries
	for _, s := range loadNAB(t) {
		if strings.HasPrefix(s.name, "realTweets/") {
			series = append(series, s)
		}
	}
	raw := make([][]float64, len(looCandidates)) // [candidate][series]
	var windows float64
	var b strings.Builder
	fmt.Fprintf(&b, "raw NAB score at threshold 0.5 with the detector's own alerts, per candidate and Twitter series:\n%-18s", "")
	for _, s := range series {
		fmt.Fprintf(&b, " %8s", strings.TrimSuffix(strings.TrimPrefix(s.name, "realTweets/Twitter_volume_"), ".csv"))
	}
	fmt.Fprintf(&b, " %8s %6s\n", "total", "norm")
	for ci, cand := range looCandidates {
		cfg := trend.DefaultConfig()
		cfg.Bucket = 0
		cand.edit(&cfg)
		fmt.Fprintf(&b, "%-18s", cand.name)
		var sum float64
		windows = 0
		for _, s := range series {
			run := runDetectCSV(t, s, cfg)
			p, err := nab.Points(s.name, s.ts, run.alerts, s.windows, nab.Standard, nab.ProbationPercent)
			if err != nil {
				t.Fatal(err)
			}
			st := nab.ScoreAt(p, nab.Standard, 0.5)
			raw[ci] = append(raw[ci], st.Score)
			sum += st.Score
			windows += float64(st.Windows)
			fmt.Fprintf(&b, " %8.3f", st.Score)
		}
		fmt.Fprintf(&b, " %8.3f %6.1f\n", sum, nab.Normalize(sum, -windows, windows))
	}
	var loo float64
	for h, s := range series {
		best, bestSum := 0, math.Inf(-1)
		for ci := range looCandidates {
			var sum float64
			for i := range series {
				if i != h {
					sum += raw[ci][i]
				}
			}
			if sum > bestSum {
				best, bestSum = ci, sum
			}
		}
		loo += raw[best][h]
		fmt.Fprintf(&b, "held out %-40s chose %-18s raw %7.3f\n", s.name, looCandidates[best].name, raw[best][h])
	}
	norm := nab.Normalize(loo, -windows, windows)
	fmt.Fprintf(&b, "leave-one-out TOTAL Twitter (%d files) raw %7.3f norm %6.1f\n", len(series), loo, norm)
	t.Log("\n" + b.String())
	if len(series) == 0 || windows == 0 {
		t.Fatalf("no Twitter series scored")
	}
}
