package nab

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2015, 3, 1, 0, 0, 0, 0, time.UTC)

// series returns n timestamps 5 minutes apart.
func series(n int) []time.Time {
	ts := make([]time.Time, n)
	for i := range ts {
		ts[i] = t0.Add(time.Duration(i) * 5 * time.Minute)
	}
	return ts
}

// window covers rows [l, r].
func window(ts []time.Time, l, r int) Window { return Window{Start: ts[l], End: ts[r]} }

// detections returns scores that are 1 at the given rows, 0 elsewhere.
func detections(n int, rows ...int) []float64 {
	s := make([]float64, n)
	for _, r := range rows {
		s[r] = 1
	}
	return s
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestScaledSigmoid(t *testing.T) {
	for _, tc := range []struct{ x, want float64 }{
		{-1, 0.9866142981514303}, // NAB: left edge of a window
		{-0.5, 0.8482836399575129},
		{0, 0},
		{1, -0.9866142981514303},
		{3, -1},
		{10, -1},
	} {
		if got := scaledSigmoid(tc.x); !near(got, tc.want) {
			t.Errorf("scaledSigmoid(%v) = %v; want %v", tc.x, got, tc.want)
		}
	}
}

func TestProbationLength(t *testing.T) {
	// The cases of NAB's own sweeper_test.
	for _, tc := range []struct {
		n    int
		p    float64
		want int
	}{
		{100, 0, 0}, {100, 1, 100}, {100, 0.1, 10}, {100, 0.15, 15}, {5000, 0.1, 500}, {6000, 0.1, 500},
		{15902, 0.15, 750},
	} {
		if got := ProbationLength(tc.n, tc.p); got != tc.want {
			t.Errorf("ProbationLength(%d, %v) = %d; want %d", tc.n, tc.p, got, tc.want)
		}
	}
}

// score scores one file at threshold 0.5 with the standard profile.
func score(t *testing.T, n int, windows [][2]int, rows ...int) ThresholdScore {
	t.Helper()
	ts := series(n)
	var ws []Window
	for _, w := range windows {
		ws = append(ws, window(ts, w[0], w[1]))
	}
	pts, err := Points("f.csv", ts, detections(n, rows...), ws, Standard, ProbationPercent)
	if err != nil {
		t.Fatal(err)
	}
	return ScoreAt(pts, Standard, 0.5)
}

func TestScoreHandMade(t *testing.T) {
	// 1000 rows: the first 150 are probationary. Windows [400,499] and [700,799].
	wins := [][2]int{{400, 499}, {700, 799}}
	const nw = 2
	null, perfect := Null(nw, Standard), Perfect(nw, Standard)
	for _, tc := range []struct {
		name string
		rows []int
		want float64 // normalised
	}{
		{"never fires", nil, 0},
		{"first row of every window", []int{400, 700}, 100},
		{"every row of every window: only the first counts", rangeRows(400, 499, 700, 799), 100},
		{"one window missed", []int{400}, 50},
		{"detection in probation is ignored", []int{10, 400, 700}, 100},
		{"detection before any window costs fpWeight", []int{300, 400, 700}, 100 * (2 - 0.11 + 2) / 4},
		{"detection at a window's middle", []int{449, 700}, 100 * (2 + scaledSigmoid(-51.0/100)/scaledSigmoid(-1) + 1) / 4},
		{"detection at a window's last row", []int{499, 700}, 100 * (2 + scaledSigmoid(-1.0/100)/scaledSigmoid(-1) + 1) / 4},
	} {
		st := score(t, 1000, wins, tc.rows...)
		if got := Normalize(st.Score, null, perfect); !near(got, tc.want) {
			t.Errorf("%s: normalised score = %v; want %v (raw %v)", tc.name, got, tc.want, st.Score)
		}
	}
}

func rangeRows(bounds ...int) []int {
	var out []int
	for i := 0; i < len(bounds); i += 2 {
		for r := bounds[i]; r <= bounds[i+1]; r++ {
			out = append(out, r)
		}
	}
	return out
}

func TestFalsePositiveAfterWindow(t *testing.T) {
	wins := [][2]int{{400, 499}}
	base := score(t, 1000, wins, 400).Score // a perfect detection: +1
	// Just after the window the FP costs almost nothing; far after, the
	// full fpWeight; in between, the scaled sigmoid of the distance in
	// window widths.
	for _, tc := range []struct {
		row  int
		want float64
	}{
		{500, Standard.FP * scaledSigmoid(1.0/99)},
		{549, Standard.FP * scaledSigmoid(50.0/99)},
		{599, Standard.FP * scaledSigmoid(100.0/99)},
		{900, -Standard.FP},
	} {
		got := score(t, 1000, wins, 400, tc.row).Score - base
		if !near(got, tc.want) {
			t.Errorf("FP at row %d costs %v; want %v", tc.row, got, tc.want)
		}
		if got >= 0 {
			t.Errorf("FP at row %d costs %v; want < 0", tc.row, got)
		}
	}
}

func TestSweepMatchesScoreAt(t *testing.T) {
	ts := series(1000)
	scores := make([]float64, len(ts))
	for i := range scores {
		scores[i] = float64((i*7919)%1000) / 1000
	}
	ws := []Window{window(ts, 300, 399), window(ts, 600, 699)}
	pts, err := Points("f.csv", ts, scores, ws, Standard, ProbationPercent)
	if err != nil {
		t.Fatal(err)
	}
	all := Sweep(pts, Standard)
	if !math.IsInf(all[0].Threshold, 1) || !near(all[0].Score, Null(2, Standard)) {
		t.Fatalf("Sweep first = %+v; want +Inf threshold with the null score", all[0])
	}
	for _, s := range all[1:] {
		want := ScoreAt(pts, Standard, s.Threshold)
		if !near(s.Score, want.Score) || s.TP != want.TP || s.FP != want.FP || s.FN != want.FN || s.TN != want.TN {
			t.Fatalf("Sweep at %v = %+v; ScoreAt = %+v", s.Threshold, s, want)
		}
	}
	best := Optimize(pts, Standard)
	for _, s := range all {
		if s.Score > best.Score {
			t.Fatalf("Optimize = %+v; but threshold %v scores %v", best, s.Threshold, s.Score)
		}
	}
}

// TestNABSweeperCase replays NAB's own sweeper test
// (testCalcScoreByThresholdReturnsExpectedScores).
func TestNABSweeperCase(t *testing.T) {
	cost := CostMatrix{TP: 1, FP: 0.11, FN: 5}
	pts := []Point{
		{File: "f", Index: 2, Score: 0.0, Sweep: -3, Window: -1},
		{File: "f", Index: 4, Score: 0.2, Sweep: 20, Window: 0},
		{File: "f", Index: 5, Score: 0.3, Sweep: 10, Window: 0},
		{File: "f", Index: 6, Score: 0.5, Sweep: 5, Window: 1},
		{File: "f", Index: 7, Score: 0.5, Sweep: -3, Window: -1},
	}
	want := []float64{-10, 5 - 3 - 5, 5 - 3 + 10, 5 - 3 + 20, 5 - 3 + 20 - 3}
	got := Sweep(pts, cost)
	if len(got) != len(want) {
		t.Fatalf("Sweep returned %d thresholds; want %d", len(got), len(want))
	}
	for i := range want {
		if !near(got[i].Score, want[i]) {
			t.Errorf("Sweep[%d] (threshold %v) = %v; want %v", i, got[i].Threshold, got[i].Score, want[i])
		}
	}
}

func TestPointsErrors(t *testing.T) {
	ts := series(100)
	if _, err := Points("f", ts, make([]float64, 99), nil, Standard, 0.15); !errors.Is(err, ErrMismatched) {
		t.Errorf("Points(99 scores) error = %v; want ErrMismatched", err)
	}
	empty := Window{Start: ts[10].Add(time.Minute), End: ts[10].Add(2 * time.Minute)}
	if _, err := Points("f", ts, make([]float64, 100), []Window{empty}, Standard, 0.15); !errors.Is(err, ErrBadInput) {
		t.Errorf("Points(window holding no row) error = %v; want ErrBadInput", err)
	}
}

func TestReadSeriesErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"time,value\n", "line 1"},
		{"timestamp,value\n2015-01-01 00:00:00,x\n", "line 2"},
		{"timestamp,value\n2015-01-01 00:00:00,1\n2015/01/01,1\n", "line 3"},
	} {
		_, _, err := ReadSeries(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrBadInput) {
			t.Errorf("ReadSeries(%q) error = %v; want ErrBadInput naming %s", tc.in, err, tc.want)
		}
	}
}

func TestLoadWindowsAndProfiles(t *testing.T) {
	dir := t.TempDir()
	w := filepath.Join(dir, "windows.json")
	if err := os.WriteFile(w, []byte(`{"a.csv": [["2015-03-02 00:00:00.000000", "2015-03-03 00:00:00.000000"], ["2015-03-01 00:00:00.000000", "2015-03-01 01:00:00.000000"]]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ws, err := LoadWindows(w)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws["a.csv"]) != 2 || !ws["a.csv"][0].Start.Equal(t0) {
		t.Errorf("LoadWindows = %v; want 2 windows sorted, the first at %v", ws, t0)
	}
	p := filepath.Join(dir, "profiles.json")
	if err := os.WriteFile(p, []byte(`{"standard": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.11, "tnWeight": 1.0}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ps, err := LoadProfiles(p)
	if err != nil {
		t.Fatal(err)
	}
	if ps["standard"] != Standard {
		t.Errorf("LoadProfiles = %v; want standard %v", ps, Standard)
	}
}

func TestDataDirEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("EARSHOT_SHARED_DATA", dir)
	if _, err := DataDir(); !errors.Is(err, ErrNoData) {
		t.Errorf("DataDir() with no nab/ = %v; want ErrNoData", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "nab"), 0o700); err != nil {
		t.Fatal(err)
	}
	if got, err := DataDir(); err != nil || got != dir {
		t.Errorf("DataDir() = %q, %v; want %q", got, err, dir)
	}
}
