// Command train fits earshot's sentiment model on ../shared/data/sentiment-train
// and writes the weights file the sentiment stage embeds:
//
//	go run ./enrich/sentiment/internal/train            # writes enrich/sentiment/weights.bin.gz
//	go run ./enrich/sentiment/internal/train -cv        # also picks hyper-parameters by 3-fold CV
//
// It is seeded and single-threaded, so the same data and flags give the same
// bytes. Hyper-parameters are chosen by 3-fold cross-validation over the
// training rows, scored together with the development (even) rows of the
// VADER rating sets (-cv prints every point); the held-out SemEval split,
// xlmt_val, GoEmotions dev and the odd VADER rows are never read here.
package main

import (
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/earshot-dev/earshot/enrich/internal/evaldata"
	"github.com/earshot-dev/earshot/enrich/sentiment"
	"github.com/earshot-dev/earshot/enrich/sentiment/internal/model"
)

// hyper is one point of the search grid.
type hyper struct {
	Epochs int
	LR     float32
	L2     float32
	MLW    float32 // weight of a non-English xlmt row relative to an English one
	// Neutral is added to the neutral logit after training (a decision
	// threshold, so it is chosen on the same folds without retraining).
	Neutral float32
	Lex     float32 // loss weight of one lexicon-word example
}

// opts are the feature options (-norm changes NormPow).
var opts = model.DefaultOptions()

// neutralOffsets are the neutral-logit offsets tried by -cv.
var neutralOffsets = []float32{0.25, 0, -0.25, -0.5}

func (h hyper) String() string {
	return fmt.Sprintf("epochs=%d lr=%g l2=%g mlw=%g lex=%g neutral=%g", h.Epochs, h.LR, h.L2, h.MLW, h.Lex, h.Neutral)
}

// chosen are the shipped hyper-parameters, picked by `-cv` (see the model card).
var chosen = hyper{Epochs: 5, LR: 0.1, L2: 0, MLW: 3, Lex: 1, Neutral: 0}

// grid is what -cv searches (with every neutral offset). The shipped point
// was chosen from a wider search recorded in MODEL.md (learning rate, lexicon
// weight, feature norm).
var grid = []hyper{
	{Epochs: 5, LR: 0.2, MLW: 3, Lex: 1},
	{Epochs: 5, LR: 0.2, MLW: 3, Lex: 5},
	{Epochs: 5, LR: 0.1, MLW: 3, Lex: 1},
}

func main() {
	out := flag.String("out", filepath.Join("enrich", "sentiment", "weights.bin.gz"), "weights file to write")
	cv := flag.Bool("cv", false, "run 3-fold cross-validation over the grid and train with the best point")
	exclude := flag.String("exclude", "", "comma-separated sources to leave out (xlmt, semeval, goemotions)")
	noLex := flag.Bool("no-lexicon", false, "leave out the VADER lexicon words as one-word examples")
	seed := flag.Uint64("seed", 1, "shuffle seed")
	norm := flag.Int("norm", int(model.DefaultOptions().NormPow), "feature norm exponent, in tenths")
	langWords := flag.Bool("langwords", model.DefaultOptions().LangWords, "also a per-language feature for each word")
	only := flag.Bool("cv-shipped", false, "with -cv: search only the neutral offset around the shipped point")
	mlw := flag.Float64("mlw", -1, "with -cv: the non-English row weight of the grid (default: the grid's)")
	bits := flag.Int("bits", int(model.DefaultOptions().Bits), "log2 of the number of hash buckets")
	sents := flag.Bool("sentences", model.DefaultOptions().Sentences, "also the binned lexicon compounds of the most negative, most positive and last sentence")
	phrases := flag.Bool("phrases", true, "also the signal scorer's phrases and words as examples")
	flag.Parse()
	log.SetFlags(0)
	opts.NormPow = uint8(*norm)
	opts.LangWords = *langWords
	opts.Bits = uint8(*bits)
	opts.Sentences = *sents
	if *only {
		grid = []hyper{chosen}
	}
	if *mlw >= 0 {
		for i := range grid {
			grid[i].MLW = float32(*mlw)
		}
		chosen.MLW = float32(*mlw)
	}

	dir, err := evaldata.Dir()
	if err != nil {
		log.Fatal(err)
	}
	c, err := evaldata.LoadCorpus(dir)
	if err != nil {
		log.Fatal(err)
	}
	skip := strings.Split(*exclude, ",")
	lex := sentiment.SignalScorer()
	var xs []model.Example
	var groups []string
	for _, x := range c.Train {
		if slices.Contains(skip, x.Source) {
			continue
		}
		xs = append(xs, model.Example{Text: x.Text, Lang: x.Lang, Lex: signals(lex, x.Text), Label: x.Label + 1})
		g := x.Source
		if x.Source == evaldata.SourceXLMT {
			g = "xlmt-" + x.Lang
		}
		groups = append(groups, g)
	}
	if !*noLex {
		// The VADER lexicon's words as one-word examples: review and
		// editorial words that tweets rarely use still get a polarity.
		var words []string
		val := map[string]float64{}
		lex.LexiconWords(func(w string, v float64) {
			if v >= 1 || v <= -1 {
				words = append(words, w)
				val[w] = v
			}
		})
		if *phrases {
			// The signal scorer's phrases and words too ("class action",
			// "done with", "you rock"): their bigrams get a polarity.
			sentiment.SignalPhrases(func(p string, v float64) {
				if _, dup := val[p]; !dup {
					words = append(words, p)
				}
				val[p] = v
			})
		}
		slices.Sort(words)
		for _, w := range words {
			label := model.Positive
			if val[w] < 0 {
				label = model.Negative
			}
			xs = append(xs, model.Example{Text: w, Lang: "en", Lex: signals(lex, w), Label: label})
			groups = append(groups, "lexicon")
		}
	}
	log.Printf("training rows: %d (held out: %d SemEval tweets)", len(xs), len(c.SemEvalHeldOut))

	h := chosen
	if *cv {
		dev = vaderDev(dir, lex)
		best := -1.0
		for _, g := range grid {
			for _, d := range neutralOffsets {
				g.Neutral = d
				s := crossValidate(xs, groups, g, *seed)
				log.Printf("cv %v: mean macro-F1 over groups %.4f", g, s)
				if s > best {
					best, h = s, g
				}
			}
		}
		log.Printf("chosen by cv: %v", h)
	}
	weigh(xs, groups, h)
	l := model.NewLearner(opts)
	l.Train(xs, model.TrainConfig{Epochs: h.Epochs, LR: h.LR, L2: h.L2, Seed: *seed})
	l.AddBias(model.Neutral, h.Neutral)
	name := fmt.Sprintf("linear-hash%d-char%d-%d-norm%d/%s/seed%d/%v", opts.Bits, opts.MinN, opts.MaxN, opts.NormPow,
		sourcesName(skip, *noLex), *seed, h)
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := l.Model(name).WriteTo(f); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	st, err := os.Stat(*out)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s (%d bytes): %s", *out, st.Size(), name)
}

func signals(s *sentiment.Scorer, text string) model.Lex {
	var l model.Lex
	l.Compound, l.Pos, l.Neg, l.MinSent, l.MaxSent, l.LastSent = s.SentenceSignals(text)
	return l
}

func sourcesName(skip []string, noLex bool) string {
	var s []string
	for _, src := range []string{evaldata.SourceXLMT, evaldata.SourceSemEval, evaldata.SourceGoEmotions} {
		if !slices.Contains(skip, src) {
			s = append(s, src)
		}
	}
	if !noLex {
		s = append(s, "vaderlexicon")
	}
	return strings.Join(s, "+")
}

// weigh sets each example's loss weight: classes balanced within each
// group, every group's total weight proportional to its size, non-English
// rows times h.MLW, and each lexicon word h.Lex.
func weigh(xs []model.Example, groups []string, h hyper) {
	type key struct {
		g string
		c int
	}
	n := map[string]int{}
	nc := map[key]int{}
	for i, x := range xs {
		n[groups[i]]++
		nc[key{groups[i], x.Label}]++
	}
	for i := range xs {
		g := groups[i]
		w := float32(n[g]) / float32(model.NumClasses*nc[key{g, xs[i].Label}])
		if xs[i].Lang != "en" {
			w *= h.MLW
		}
		if g == "lexicon" {
			w = h.Lex
		}
		xs[i].Weight = w
	}
}

// crossValidate trains on 2 of 3 folds and scores the third, for each fold,
// and returns the mean over groups of the 3-class macro-F1.
func crossValidate(all []model.Example, groups []string, h hyper, seed uint64) float64 {
	key := h
	key.Neutral = 0
	probs, ok := foldCache[key]
	if !ok {
		probs = foldProbs(all, groups, h, seed)
		foldCache = map[hyper][][model.NumClasses]float32{key: probs}
	}
	conf := map[string]*evaldata.Confusion{}
	for i, x := range dev {
		p := probs[len(all)+i]
		p[model.Neutral] *= float32(math.Exp(float64(h.Neutral)))
		g := "vader-dev-" + x.Lang
		if conf[g] == nil {
			conf[g] = &evaldata.Confusion{}
		}
		conf[g].Add(x.Label-1, argmax(p)-1)
	}
	for i, x := range all {
		if groups[i] == "lexicon" {
			continue // one-word examples, not a kind of post
		}
		p := probs[i]
		p[model.Neutral] *= float32(math.Exp(float64(h.Neutral)))
		if conf[groups[i]] == nil {
			conf[groups[i]] = &evaldata.Confusion{}
		}
		conf[groups[i]].Add(x.Label-1, argmax(p)-1)
	}
	var names []string
	for g := range conf {
		names = append(names, g)
	}
	slices.Sort(names)
	var sum float64
	var line strings.Builder
	for _, g := range names {
		f := conf[g].MacroF1(-1, 0, 1)
		sum += f
		fmt.Fprintf(&line, " %s=%.3f", g, f)
	}
	log.Printf("cv %v:%s", h, line.String())
	return sum / float64(len(names))
}

// foldCache holds the out-of-fold probabilities of the last grid point.
var foldCache map[hyper][][model.NumClasses]float32

// foldProbs trains on 2 of 3 folds and predicts the third, for each fold.
func foldProbs(all []model.Example, groups []string, h hyper, seed uint64) [][model.NumClasses]float32 {
	out := make([][model.NumClasses]float32, len(all)+len(dev))
	const k = 3
	// Folds by a seeded permutation: the source files are ordered (xlmt
	// cycles through the labels), so i%k would put one label in one fold.
	foldOf := rand.New(rand.NewPCG(seed, 7)).Perm(len(all))
	for fold := 0; fold < k; fold++ {
		var tr []model.Example
		var trg []string
		for i, x := range all {
			if foldOf[i]%k != fold {
				tr = append(tr, x)
				trg = append(trg, groups[i])
			}
		}
		weigh(tr, trg, h)
		l := model.NewLearner(opts)
		l.Train(tr, model.TrainConfig{Epochs: h.Epochs, LR: h.LR, L2: h.L2, Seed: seed})
		for i, x := range all {
			if foldOf[i]%k != fold {
				continue
			}
			out[i] = l.Predict(x.Text, x.Lang, x.Lex)
		}
		// The VADER development rows: the mean of the fold models.
		for i, x := range dev {
			p := l.Predict(x.Text, "en", x.Lex)
			for c := range p {
				out[len(all)+i][c] += p[c] / k
			}
		}
	}
	return out
}

// dev are the development rows of the VADER rating sets (even rows; the
// odd rows are the held-out rows the quality report shows), scored in
// cross-validation beside the out-of-fold training rows. Lang holds the
// set's name.
var dev []model.Example

func vaderDev(dir string, lex *sentiment.Scorer) []model.Example {
	var out []model.Example
	for _, f := range []struct{ name, file string }{
		{"movies", evaldata.VADERMovies}, {"amazon", evaldata.VADERAmazon}, {"nyt", evaldata.VADERNYT},
	} {
		rows, err := evaldata.VADER(dir, f.file)
		if err != nil {
			log.Fatal(err)
		}
		for i, r := range rows {
			if i%2 == 0 {
				out = append(out, model.Example{Text: r.Text, Lang: f.name, Lex: signals(lex, r.Text), Label: r.Class() + 1})
			}
		}
	}
	return out
}

func argmax(p [model.NumClasses]float32) int {
	b := 0
	for c := range p {
		if p[c] > p[b] {
			b = c
		}
	}
	return b
}
