//go:build ablation

// The ablation report measures each rule's contribution; it is a report,
// not a test, so it builds only with -tags ablation:
//
//	go test -tags ablation -run TestAblation -v ./enrich/sentiment

package sentiment

import (
	"fmt"
	"testing"

	"github.com/earshot-dev/earshot/enrich/internal/evaldata"
)

// TestAblation shows, on the development rows only (even rows of each set,
// the rows the rules and constants were tuned on), what each of earshot's
// changes to VADER is worth:
//
//	go test -tags ablation ./enrich/sentiment -run TestAblation -v
func TestAblation(t *testing.T) {
	dir := dataDir(t)
	base := Default()
	variants := []struct {
		name string
		mod  func(*params)
	}{
		{"shipped", func(*params) {}},
		{"no negativity weight", func(p *params) { p.negWeight = 1 }},
		{"no stems", func(p *params) { p.stems = false }},
		{"weak words kept", func(p *params) { p.minAbs = 0 }},
		{"no concession", func(p *params) { p.concede = false }},
		{"boosters never valenced", func(p *params) { p.boosterLex = false }},
		{"no elongation emphasis", func(p *params) { p.elongIncr = 0 }},
		{"negation scope 1", func(p *params) { p.negScope = 1 }},
		{"thresholds ±0.2", func(p *params) { p.posThreshold, p.negThreshold = 0.2, -0.2 }},
	}
	var sets [][]evaldata.Rated
	for _, f := range []string{evaldata.VADERMovies, evaldata.VADERAmazon, evaldata.VADERNYT} {
		rows, err := evaldata.VADER(dir, f)
		if err != nil {
			t.Fatal(err)
		}
		sets = append(sets, rows)
	}
	ge, err := evaldata.GoEmotionsDev(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%-24s %-13s %-13s %-13s %s", "variant (dev rows)", "movies r/F1", "amazon r/F1", "nyt r/F1", "goemotions pos/neg F1")
	for _, v := range variants {
		p := base.p
		v.mod(&p)
		s := newScorer(base.lx, p)
		line := ""
		for _, rows := range sets {
			r := evalRated(rows, partDev, s.Compound, p.posThreshold, p.negThreshold)
			line += " " + fmtPair(r.r, r.f1)
		}
		g := evalPolar(ge, partDev, s.Compound, p.posThreshold, p.negThreshold)
		t.Logf("%-24s%s  %s", v.name, line, fmtPair(g.posF1, g.negF1))
	}
}

func fmtPair(a, b float64) string { return fmt.Sprintf("%.3f/%.3f  ", a, b) }

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
