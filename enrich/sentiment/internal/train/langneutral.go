package main

import (
	"fmt"
	"log"
	"math"
	"slices"
	"strings"

	"github.com/earshot-dev/earshot/enrich/internal/evaldata"
	"github.com/earshot-dev/earshot/enrich/sentiment/internal/model"
)

// langOffsets are the neutral-logit offsets -lang-neutral chooses from for
// each language.
var langOffsets = []float32{-0.5, -0.375, -0.25, -0.125, 0, 0.125, 0.25, 0.375, 0.5}

// langOf is the language of a cross-validation group: xlmt-XX is XX, every
// other group (SemEval, GoEmotions, the VADER sets) English.
func langOf(group string) string {
	if l, ok := strings.CutPrefix(group, "xlmt-"); ok {
		return l
	}
	return "en"
}

// perLangNeutral chooses a neutral-logit offset for each language on the
// out-of-fold probabilities probs (at neutral offset 0), the one with the
// best mean macro-F1 over that language's groups, and returns them. It also
// logs an honest estimate of what they give: each half of the rows (by
// index parity) labelled with the offsets chosen on the other half, as the
// mean macro-F1 over groups, beside the same rows at the single offset
// global.
func perLangNeutral(all []model.Example, groups []string, probs [][model.NumClasses]float32, global float32) map[string]float32 {
	// choose picks each language's offset on the rows with parity part
	// (-1: all rows).
	choose := func(part int) map[string]float32 {
		out := map[string]float32{}
		for _, lang := range evaldata.Languages {
			best, bestF := global, -1.0
			for _, o := range langOffsets {
				conf := map[string]*evaldata.Confusion{}
				for i, x := range all {
					g := groups[i]
					if g == "lexicon" || langOf(g) != lang || (part >= 0 && i%2 != part) {
						continue
					}
					if conf[g] == nil {
						conf[g] = &evaldata.Confusion{}
					}
					conf[g].Add(x.Label-1, label(probs[i], o)-1)
				}
				if f := meanF1(conf); f > bestF+1e-9 {
					best, bestF = o, f
				}
			}
			out[lang] = best
		}
		return out
	}
	even, odd := choose(0), choose(1)
	nested := map[string]*evaldata.Confusion{}
	single := map[string]*evaldata.Confusion{}
	for i, x := range all {
		g := groups[i]
		if g == "lexicon" {
			continue
		}
		other := even
		if i%2 == 0 {
			other = odd
		}
		if nested[g] == nil {
			nested[g], single[g] = &evaldata.Confusion{}, &evaldata.Confusion{}
		}
		nested[g].Add(x.Label-1, label(probs[i], other[langOf(g)])-1)
		single[g].Add(x.Label-1, label(probs[i], global)-1)
	}
	log.Printf("lang-neutral: offsets chosen on even rows %v, on odd rows %v", even, odd)
	log.Printf("lang-neutral: nested (each half at the other half's offsets) mean macro-F1 %.4f, single offset %g %.4f", meanF1(nested), global, meanF1(single))
	logGroups("lang-neutral nested", nested)
	all2 := choose(-1)
	log.Printf("lang-neutral: offsets chosen on all rows %v", all2)
	return all2
}

func label(p [model.NumClasses]float32, neutral float32) int {
	p[model.Neutral] *= float32(math.Exp(float64(neutral)))
	return argmax(p)
}

func meanF1(conf map[string]*evaldata.Confusion) float64 {
	var s float64
	for _, c := range conf {
		s += c.MacroF1(-1, 0, 1)
	}
	return s / float64(len(conf))
}

func logGroups(prefix string, conf map[string]*evaldata.Confusion) {
	var names []string
	for g := range conf {
		names = append(names, g)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, g := range names {
		b.WriteString(" " + g + "=")
		fmt.Fprintf(&b, "%.3f", conf[g].MacroF1(-1, 0, 1))
	}
	log.Printf("%s:%s", prefix, b.String())
}
