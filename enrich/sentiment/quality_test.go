package sentiment

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jonreiter/govader"

	"github.com/earshot-dev/earshot/enrich/internal/evaldata"
)

// dataDir finds shared/data; a run without it skips, except in CI.
func dataDir(t *testing.T) string {
	t.Helper()
	d, err := evaldata.Dir()
	if err != nil {
		if errors.Is(err, evaldata.ErrNotFound) && os.Getenv("CI") == "" {
			t.Skipf("no evaluation data: %v", err)
		}
		t.Fatalf("evaldata.Dir: %v", err)
	}
	return d
}

// Rows are split by position: even rows (0, 2, …) were the development half
// that earshot's rules and constants were tuned on; odd rows are held out.
const (
	partAll     = -1
	partDev     = 0
	partHeldOut = 1
)

func inPart(i, part int) bool { return part == partAll || i%2 == part }

func classOf(v, pos, neg float64) int {
	switch {
	case v >= pos:
		return 1
	case v <= neg:
		return -1
	}
	return 0
}

type ratedResult struct {
	n     int
	r, f1 float64
}

func evalRated(rows []evaldata.Rated, part int, f func(string) float64, pos, neg float64) ratedResult {
	var xs, ys []float64
	var c evaldata.Confusion
	for i, x := range rows {
		if !inPart(i, part) {
			continue
		}
		v := f(x.Text)
		xs = append(xs, v)
		ys = append(ys, x.Rating)
		c.Add(x.Class(), classOf(v, pos, neg))
	}
	return ratedResult{n: len(xs), r: evaldata.Pearson(xs, ys), f1: c.WeightedF1()}
}

type polarResult struct {
	n             int
	posF1, negF1  float64
	macro, accAll float64
}

func evalPolar(rows []evaldata.Comment, part int, f func(string) float64, pos, neg float64) polarResult {
	var c evaldata.Confusion
	for i, x := range rows {
		if !inPart(i, part) {
			continue
		}
		p, ok := x.Polarity()
		if !ok {
			continue
		}
		c.Add(p, classOf(f(x.Text), pos, neg))
	}
	n := 0
	for k := -1; k <= 1; k++ {
		n += c.Support(k)
	}
	return polarResult{n: n, posF1: c.F1(1), negF1: c.F1(-1), macro: c.MacroF1(-1, 1), accAll: c.Accuracy()}
}

// TestQualityReport prints the quality table (markdown) of earshot's scorer
// next to govader's, computed in the same run on shared/data:
//
//	go test ./enrich/sentiment -run TestQualityReport -v
//
// It asserts only floors that a broken scorer would fail.
func TestQualityReport(t *testing.T) {
	dir := dataDir(t)
	g := govader.NewSentimentIntensityAnalyzer()
	gov := func(s string) float64 { return g.PolarityScores(s).Compound }
	ours := Default()
	p := ours.p

	var b strings.Builder
	b.WriteString("\n| set | rows | govader r | earshot r | govader 3-class F1 | earshot 3-class F1 |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|\n")
	sets := []struct{ name, file string }{
		{"VADER movie reviews", evaldata.VADERMovies},
		{"VADER Amazon reviews", evaldata.VADERAmazon},
		{"VADER NYT editorials", evaldata.VADERNYT},
	}
	for _, s := range sets {
		rows, err := evaldata.VADER(dir, s.file)
		if err != nil {
			t.Fatalf("evaldata.VADER(%q): %v", s.file, err)
		}
		for _, part := range []int{partHeldOut, partAll} {
			a := evalRated(rows, part, gov, 0.05, -0.05)
			o := evalRated(rows, part, ours.Compound, p.posThreshold, p.negThreshold)
			fmt.Fprintf(&b, "| %s, %s | %d | %.3f | %.3f | %.3f | %.3f |\n",
				s.name, partName(part), o.n, a.r, o.r, a.f1, o.f1)
			if o.r < 0.3 || o.f1 < 0.45 {
				t.Errorf("%s (%s): r = %.3f, F1 = %.3f; want r > 0.3 and F1 > 0.45", s.name, partName(part), o.r, o.f1)
			}
		}
	}
	ge, err := evaldata.GoEmotionsDev(dir)
	if err != nil {
		t.Fatalf("evaldata.GoEmotionsDev: %v", err)
	}
	b.WriteString("\n| set | rows | govader pos F1 | earshot pos F1 | govader neg F1 | earshot neg F1 | govader mean | earshot mean |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, part := range []int{partHeldOut, partAll} {
		a := evalPolar(ge, part, gov, 0.05, -0.05)
		o := evalPolar(ge, part, ours.Compound, p.posThreshold, p.negThreshold)
		fmt.Fprintf(&b, "| GoEmotions dev, %s | %d | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n",
			partName(part), o.n, a.posF1, o.posF1, a.negF1, o.negF1, a.macro, o.macro)
		if o.macro < 0.5 {
			t.Errorf("GoEmotions (%s): mean pos/neg F1 = %.3f; want > 0.5", partName(part), o.macro)
		}
	}
	t.Log(b.String())
}

func partName(part int) string {
	switch part {
	case partDev:
		return "dev rows"
	case partHeldOut:
		return "held-out rows"
	}
	return "all rows"
}
