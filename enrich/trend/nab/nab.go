// Package nab scores anomaly detectors the way the Numenta Anomaly Benchmark
// (NAB, github.com/numenta/NAB, v1.1 "sweeper" scoring) does, so earshot can
// measure its trend detector against published NAB results.
//
// The rules, as in NAB's nab/sweeper.py and nab/runner.py:
//
//   - The first rows of each file are probationary and not scored:
//     min(floor(0.15·n), 0.15·5000) rows.
//   - Every row whose anomaly score is >= the threshold is a detection.
//   - A detection inside a labelled window earns
//     tpWeight·S(-(right-i+1)/width)/S(-1), where S(x) = 2/(1+e^(5x)) - 1 is
//     NAB's scaled sigmoid, right the window's last row and width its row
//     count: the earlier, the closer to tpWeight. Only the best (earliest)
//     detection in a window counts; a window without one costs -fnWeight.
//   - A detection outside every window costs fpWeight·S(d), where d is its
//     distance after the preceding window's last row in units of
//     (that window's width - 1), and -fpWeight when no window precedes it
//     (S(x) = -1 for x >= 3).
//   - NAB picks, per detector and profile, the one threshold that maximises
//     the total over the whole corpus (Optimize), and reports
//     100·(raw - null)/(perfect - null), where null is the detector that
//     never fires (-fnWeight per window) and perfect is tpWeight per window.
package nab

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// TimeLayout is the timestamp layout of NAB data files.
const TimeLayout = "2006-01-02 15:04:05"

// windowLayout is the timestamp layout of NAB's windows.json.
const windowLayout = "2006-01-02 15:04:05.000000"

// Sentinel errors.
var (
	ErrNoData     = errors.New("nab data directory not found")
	ErrBadInput   = errors.New("bad nab input")
	ErrMismatched = errors.New("scores and timestamps differ in length")
)

// CostMatrix holds one NAB application profile's weights.
type CostMatrix struct {
	TP float64 `json:"tpWeight"`
	FP float64 `json:"fpWeight"`
	FN float64 `json:"fnWeight"`
	TN float64 `json:"tnWeight"`
}

// Standard is NAB's standard profile.
var Standard = CostMatrix{TP: 1, FP: 0.11, FN: 1, TN: 1}

// Window is one labelled anomaly window, inclusive at both ends.
type Window struct {
	Start, End time.Time
}

// ProbationPercent is NAB's default share of each file left unscored.
const ProbationPercent = 0.15

// ProbationLength returns how many leading rows of an n-row file NAB leaves
// unscored: min(floor(p·n), p·5000).
func ProbationLength(n int, p float64) int {
	return int(math.Min(math.Floor(p*float64(n)), p*5000))
}

// scaledSigmoid is NAB's scaled sigmoid of a relative position.
func scaledSigmoid(x float64) float64 {
	if x >= 3 {
		return -1
	}
	return 2/(1+math.Exp(5*x)) - 1
}

// Point is one scorable row: its anomaly score, and what a detection there
// would contribute (Sweep).
type Point struct {
	File   string
	Index  int     // row index in its file
	Score  float64 // the detector's anomaly score
	Sweep  float64 // contribution if detected (before the first-in-window rule)
	Window int     // index of the window it lies in, or -1
}

// Points returns the scorable points of one file (probationary rows
// removed) for the given anomaly scores, windows and cost matrix.
func Points(file string, ts []time.Time, scores []float64, windows []Window, cost CostMatrix, probationPercent float64) ([]Point, error) {
	if len(ts) != len(scores) {
		return nil, fmt.Errorf("file %q: %d timestamps, %d scores: %w", file, len(ts), len(scores), ErrMismatched)
	}
	type span struct{ left, right int }
	spans := make([]span, 0, len(windows))
	for wi, w := range windows {
		l := sort.Search(len(ts), func(i int) bool { return !ts[i].Before(w.Start) })
		r := sort.Search(len(ts), func(i int) bool { return ts[i].After(w.End) }) - 1
		if l > r {
			return nil, fmt.Errorf("file %q: window %d [%s, %s] holds no row: %w", file, wi, w.Start, w.End, ErrBadInput)
		}
		if len(spans) > 0 && l <= spans[len(spans)-1].right {
			return nil, fmt.Errorf("file %q: window %d overlaps or precedes window %d: %w", file, wi, wi-1, ErrBadInput)
		}
		spans = append(spans, span{l, r})
	}
	for i := 1; i < len(ts); i++ {
		if !ts[i].After(ts[i-1]) {
			return nil, fmt.Errorf("file %q: row %d: timestamp %s not after %s: %w", file, i, ts[i].Format(TimeLayout), ts[i-1].Format(TimeLayout), ErrBadInput)
		}
	}
	maxTP := scaledSigmoid(-1)
	prob := ProbationLength(len(ts), probationPercent)
	out := make([]Point, 0, len(ts)-prob)
	next, prev := 0, -1 // next window to enter; last window left behind
	for i := range ts {
		cur := -1
		if next < len(spans) && i >= spans[next].left {
			cur = next
		}
		var sweep float64
		if cur >= 0 {
			width := float64(spans[cur].right - spans[cur].left + 1)
			pos := -float64(spans[cur].right-i+1) / width
			sweep = scaledSigmoid(pos) * cost.TP / maxTP
		} else if prev < 0 {
			sweep = -cost.FP
		} else {
			width := float64(spans[prev].right - spans[prev].left + 1)
			var pos float64 = 3
			if width > 1 {
				pos = math.Abs(float64(spans[prev].right-i)) / (width - 1)
			}
			sweep = scaledSigmoid(pos) * cost.FP
		}
		if i >= prob {
			out = append(out, Point{File: file, Index: i, Score: scores[i], Sweep: sweep, Window: cur})
		}
		if cur >= 0 && i == spans[cur].right {
			prev, next = cur, next+1
		}
	}
	return out, nil
}

// ThresholdScore is the outcome of one threshold: the raw NAB score and the
// row counts (a row is a detection when its score >= Threshold).
type ThresholdScore struct {
	Threshold      float64
	Score          float64
	TP, TN, FP, FN int
	Detected       int // windows with at least one detection
	Windows        int // windows with at least one scorable row
}

type windowKey struct {
	file   string
	window int
}

// Sweep returns the score of every distinct threshold over points (which may
// span many files), from the highest threshold (nothing detected) down.
func Sweep(points []Point, cost CostMatrix) []ThresholdScore {
	sorted := make([]Point, len(points))
	copy(sorted, points)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Score > sorted[j].Score })
	best := map[windowKey]float64{}
	var tn, fn int
	for _, p := range sorted {
		if p.Window >= 0 {
			best[windowKey{p.File, p.Window}] = -cost.FN
			fn++
		} else {
			tn++
		}
	}
	nw := len(best)
	st := ThresholdScore{Threshold: math.Inf(1), Score: -cost.FN * float64(nw), TN: tn, FN: fn, Windows: nw}
	fpSum, winSum := 0.0, -cost.FN*float64(nw)
	var out []ThresholdScore
	for i, p := range sorted {
		if i == 0 || p.Score != sorted[i-1].Score {
			out = append(out, st)
		}
		if p.Window >= 0 {
			k := windowKey{p.File, p.Window}
			if old := best[k]; p.Sweep > old {
				if old == -cost.FN {
					st.Detected++
				}
				winSum += p.Sweep - old
				best[k] = p.Sweep
			}
			st.TP++
			st.FN--
		} else {
			fpSum += p.Sweep
			st.FP++
			st.TN--
		}
		st.Threshold = p.Score
		st.Score = winSum + fpSum
	}
	return append(out, st)
}

// ScoreAt returns the score of points at one threshold.
func ScoreAt(points []Point, cost CostMatrix, threshold float64) ThresholdScore {
	var sel []Point
	st := ThresholdScore{Threshold: threshold}
	best := map[windowKey]float64{}
	for _, p := range points {
		if p.Window >= 0 {
			k := windowKey{p.File, p.Window}
			if _, ok := best[k]; !ok {
				best[k] = -cost.FN
			}
		}
		if p.Score >= threshold {
			sel = append(sel, p)
		} else if p.Window >= 0 {
			st.FN++
		} else {
			st.TN++
		}
	}
	st.Windows = len(best)
	for _, p := range sel {
		if p.Window >= 0 {
			st.TP++
			k := windowKey{p.File, p.Window}
			if p.Sweep > best[k] {
				best[k] = p.Sweep
			}
		} else {
			st.FP++
			st.Score += p.Sweep
		}
	}
	for _, v := range best {
		if v != -cost.FN {
			st.Detected++
		}
		st.Score += v
	}
	return st
}

// Optimize returns the threshold with the highest total score over points,
// as NAB's optimizer does for each detector and profile. Among equal scores
// it keeps the highest threshold.
func Optimize(points []Point, cost CostMatrix) ThresholdScore {
	all := Sweep(points, cost)
	best := all[0]
	for _, s := range all[1:] {
		if s.Score > best.Score {
			best = s
		}
	}
	return best
}

// Perfect is the raw score of a detector that flags the first row of every
// window and nothing else: tpWeight per window.
func Perfect(windows int, cost CostMatrix) float64 { return float64(windows) * cost.TP }

// Null is the raw score of a detector that never fires: -fnWeight per window.
func Null(windows int, cost CostMatrix) float64 { return -float64(windows) * cost.FN }

// Normalize maps a raw score to NAB's scale: 0 for null, 100 for perfect.
func Normalize(raw, null, perfect float64) float64 {
	if perfect == null {
		return 0
	}
	return 100 * (raw - null) / (perfect - null)
}

// DataDir returns the directory holding earshot's shared evaluation data
// (the one with nab/ in it): $EARSHOT_SHARED_DATA when set, else the first
// shared/data found walking up from the working directory.
func DataDir() (string, error) {
	if d := os.Getenv("EARSHOT_SHARED_DATA"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "nab")); err != nil {
			return "", fmt.Errorf("EARSHOT_SHARED_DATA=%q: %w: %w", d, ErrNoData, err)
		}
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find nab data: %w", err)
	}
	for {
		cand := filepath.Join(dir, "shared", "data")
		if st, err := os.Stat(filepath.Join(cand, "nab")); err == nil && st.IsDir() {
			return cand, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no shared/data/nab above the working directory and EARSHOT_SHARED_DATA unset: %w", ErrNoData)
		}
		dir = parent
	}
}

// LoadWindows reads NAB's windows.json: file path (relative to the nab data
// directory) to its labelled windows.
func LoadWindows(path string) (map[string][]Window, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read windows: %w", err)
	}
	var raw map[string][][2]string
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse %s: %w: %w", path, ErrBadInput, err)
	}
	out := make(map[string][]Window, len(raw))
	for file, ws := range raw {
		for i, w := range ws {
			var win Window
			for j, s := range w {
				t, err := parseWindowTime(s)
				if err != nil {
					return nil, fmt.Errorf("%s: %q window %d: %w", path, file, i, err)
				}
				if j == 0 {
					win.Start = t
				} else {
					win.End = t
				}
			}
			if win.End.Before(win.Start) {
				return nil, fmt.Errorf("%s: %q window %d ends before it starts: %w", path, file, i, ErrBadInput)
			}
			out[file] = append(out[file], win)
		}
		sort.Slice(out[file], func(a, b int) bool { return out[file][a].Start.Before(out[file][b].Start) })
	}
	return out, nil
}

func parseWindowTime(s string) (time.Time, error) {
	if t, err := time.Parse(windowLayout, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q: %w", s, ErrBadInput)
	}
	return t, nil
}

// LoadProfiles reads NAB's profiles.json.
func LoadProfiles(path string) (map[string]CostMatrix, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read profiles: %w", err)
	}
	var raw map[string]struct {
		CostMatrix CostMatrix `json:"CostMatrix"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse %s: %w: %w", path, ErrBadInput, err)
	}
	out := make(map[string]CostMatrix, len(raw))
	for k, v := range raw {
		out[k] = v.CostMatrix
	}
	return out, nil
}

// ReadSeries reads a NAB data file: a header row, then timestamp,value rows.
func ReadSeries(r io.Reader) ([]time.Time, []float64, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 2
	cr.ReuseRecord = true
	var ts []time.Time
	var vs []float64
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %w: %w", line, ErrBadInput, err)
		}
		if line == 1 {
			if strings.TrimSpace(rec[0]) != "timestamp" {
				return nil, nil, fmt.Errorf("line 1: header %q, want \"timestamp,value\": %w", strings.Join(rec, ","), ErrBadInput)
			}
			continue
		}
		t, err := time.Parse(TimeLayout, strings.TrimSpace(rec[0]))
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: timestamp %q: %w", line, rec[0], ErrBadInput)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: value %q: %w", line, rec[1], ErrBadInput)
		}
		ts = append(ts, t)
		vs = append(vs, v)
	}
	return ts, vs, nil
}

// ReadSeriesFile reads a NAB data file from disk.
func ReadSeriesFile(path string) ([]time.Time, []float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open series: %w", err)
	}
	defer f.Close()
	ts, vs, err := ReadSeries(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return ts, vs, nil
}
