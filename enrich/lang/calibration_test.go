package lang

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// reliability bins the confidence of every answer (minimum confidence off)
// and returns, per bin, the number of answers and the share that were right,
// plus the expected calibration error (the mean |confidence - accuracy|,
// weighted by bin size).
func reliability(d *Detector, rows []labelled) (bins [][3]float64, ece float64) {
	edges := []float64{0, 0.5, 0.7, 0.9, 0.99, 1.0001}
	bins = make([][3]float64, len(edges)-1) // n, right, sum of confidences
	n := 0
	for _, r := range rows {
		c, conf := d.Detect(r.text)
		if c == "" {
			continue
		}
		n++
		for i := range bins {
			if conf >= edges[i] && conf < edges[i+1] {
				bins[i][0]++
				bins[i][2] += conf
				if c == r.lang {
					bins[i][1]++
				}
			}
		}
	}
	for _, b := range bins {
		if b[0] > 0 {
			ece += b[0] / float64(n) * math.Abs(b[2]/b[0]-b[1]/b[0])
		}
	}
	return bins, ece
}

// TestCalibration prints how often an answer with a given confidence is
// right, on the xlmt_val tweets (whole and first 4 words) of the eight
// languages; the temperature was chosen on xlmt_train rows
// (EARSHOT_LANG_SPLIT=train EARSHOT_LANG_TEMP=… to redo):
//
//	go test ./enrich/lang -run TestCalibration -v
func TestCalibration(t *testing.T) {
	split := "val"
	if s := os.Getenv("EARSHOT_LANG_SPLIT"); s != "" {
		split = s
	}
	full, short := shortPosts(t, split)
	d, err := NewDetector(eight, 1e-9)
	if err != nil {
		t.Fatal(err)
	}
	if s := os.Getenv("EARSHOT_LANG_TEMP"); s != "" {
		if d.temp, err = strconv.ParseFloat(s, 64); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\ntemperature %.2f, %s rows\n\n| confidence | answers | right | mean confidence |\n|---|---:|---:|---:|\n", d.temp, split)
	names := []string{"[0, 0.5)", "[0.5, 0.7)", "[0.7, 0.9)", "[0.9, 0.99)", "[0.99, 1]"}
	bins, ece := reliability(d, append(append([]labelled(nil), full...), short...))
	for i, bn := range bins {
		if bn[0] == 0 {
			continue
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.1f%% | %.3f |\n", names[i], bn[0], 100*bn[1]/bn[0], bn[2]/bn[0])
	}
	fmt.Fprintf(&b, "\nexpected calibration error %.3f\n", ece)
	t.Log(b.String())
	if ece > 0.15 {
		t.Errorf("expected calibration error = %.3f; want < 0.15 (confidence should mean what it says)", ece)
	}
}
