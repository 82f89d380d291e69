// Command train fits earshot's sentiment model on ../shared/data/sentiment-train
// and writes the weights file the sentiment stage embeds:
//
//	go run ./enrich/sentiment/internal/train            # writes enrich/sentiment/weights.bin.gz
//	go run ./enrich/sentiment/internal/train -cv        # also picks hyper-parameters by 3-fold CV
//
// It is seeded and single-threaded, so the same data and flags give the same
// bytes. It also trains on the training documents of the VADER rating sets
// (evaldata.VADERParts). Hyper-parameters are chosen by 3-fold
// cross-validation over the training rows (-cv prints every point); the
// held-out SemEval split, xlmt_val, GoEmotions dev and the VADER sets'
// development and held-out rows are never read here.
package main

import (
	"flag"
	"fmt"
	"hash/fnv"
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
	// VW weighs the VADER rating sets' training rows relative to their
	// size share (0: not trained on, only scored in cross-validation).
	VW float32
	// VNat: the VADER rows keep their sets' class frequencies (the other
	// groups are class-balanced).
	VNat bool
	// Avg: averaged SGD over the last Avg epochs (0: the last weights).
	Avg int
	// Smooth: label smoothing.
	Smooth float32
	// Ens: the mean weights of Ens models trained with shuffle seeds
	// seed, seed+1, … (1: one model).
	Ens int
}

// opts are the feature options (-norm changes NormPow).
var opts = model.DefaultOptions()

// neutralOffsets are the neutral-logit offsets tried by -cv.
var neutralOffsets = []float32{0.25, 0, -0.25, -0.5}

func (h hyper) String() string {
	s := fmt.Sprintf("epochs=%d lr=%g l2=%g mlw=%g lex=%g vw=%g vnat=%v neutral=%g", h.Epochs, h.LR, h.L2, h.MLW, h.Lex, h.VW, h.VNat, h.Neutral)
	// Only when set, so that the shipped model's name (and bytes) stay
	// what they were for the points before these options.
	if h.Avg > 0 {
		s += fmt.Sprintf(" avg=%d", h.Avg)
	}
	if h.Smooth > 0 {
		s += fmt.Sprintf(" smooth=%g", h.Smooth)
	}
	if h.Ens > 1 {
		s += fmt.Sprintf(" ens=%d", h.Ens)
	}
	return s
}

// chosen are the shipped hyper-parameters, picked by `-cv` (see the model card).
var chosen = hyper{Epochs: 8, LR: 0.1, L2: 0, MLW: 3, Lex: 1, Neutral: 0, VW: 2, VNat: true, Ens: 3}

// grid is what -cv searches (with every neutral offset). The shipped point
// was chosen from a wider search recorded in MODEL.md (learning rate, lexicon
// weight, feature norm).
var grid = []hyper{
	{Epochs: 5, LR: 0.1, MLW: 3, Lex: 1, VW: 0},
	{Epochs: 5, LR: 0.1, MLW: 3, Lex: 1, VW: 1},
	{Epochs: 5, LR: 0.1, MLW: 3, Lex: 1, VW: 2},
	{Epochs: 5, LR: 0.1, MLW: 3, Lex: 1, VW: 4},
	{Epochs: 5, LR: 0.1, MLW: 3, Lex: 1, VW: 1, VNat: true},
	{Epochs: 5, LR: 0.1, MLW: 3, Lex: 1, VW: 2, VNat: true},
	{Epochs: 5, LR: 0.1, MLW: 3, Lex: 1, VW: 4, VNat: true},
}

func main() {
	out := flag.String("out", filepath.Join("enrich", "sentiment", "weights.bin.gz"), "weights file to write")
	cv := flag.Bool("cv", false, "run 3-fold cross-validation over the grid and train with the best point")
	exclude := flag.String("exclude", "", "comma-separated sources to leave out (xlmt, semeval, goemotions, vader)")
	noLex := flag.Bool("no-lexicon", false, "leave out the VADER lexicon words as one-word examples")
	seed := flag.Uint64("seed", 1, "shuffle seed")
	norm := flag.Int("norm", int(model.DefaultOptions().NormPow), "feature norm exponent, in tenths")
	langWords := flag.Bool("langwords", model.DefaultOptions().LangWords, "also a per-language feature for each word")
	only := flag.Bool("cv-shipped", false, "with -cv: search only the neutral offset around the shipped point")
	mlw := flag.Float64("mlw", -1, "with -cv: the non-English row weight of the grid (default: the grid's)")
	bits := flag.Int("bits", int(model.DefaultOptions().Bits), "log2 of the number of hash buckets")
	sents := flag.Bool("sentences", model.DefaultOptions().Sentences, "also the binned lexicon compounds of the most negative, most positive and last sentence")
	seeds := flag.Bool("seedwords", true, "also the seed words of the seven other languages (seedwords.go) as examples")
	phrases := flag.Bool("phrases", true, "also the signal scorer's phrases and words as examples")
	epochs := flag.Int("epochs", 0, "epochs (default: the shipped or the grid's)")
	lr := flag.Float64("lr", 0, "AdaGrad learning rate (default: the shipped or the grid's)")
	vnat := flag.String("vnat", "", "true or false: whether the VADER rows keep their class frequencies (default: the shipped one; with -cv, the grid's)")
	vw := flag.Float64("vw", -1, "the VADER training rows' weight (default: the shipped one; with -cv, the grid's)")
	avg := flag.Int("avg", -1, "averaged SGD over the last N epochs, 0 off (default: the shipped or the grid's)")
	smooth := flag.Float64("smooth", -1, "label smoothing (default: the shipped or the grid's)")
	ens := flag.Int("ens", 0, "the mean of N models of consecutive shuffle seeds (default: the shipped or the grid's)")
	langNeutral := flag.Bool("lang-neutral", false, "choose a neutral-logit offset per language on the out-of-fold probabilities of the chosen point")
	minN := flag.Int("minn", int(model.DefaultOptions().MinN), "shortest character n-gram")
	maxN := flag.Int("maxn", int(model.DefaultOptions().MaxN), "longest character n-gram")
	l2 := flag.Float64("l2", -1, "L2 weight decay per update (default: the shipped or the grid's)")
	flag.Parse()
	log.SetFlags(0)
	opts.NormPow = uint8(*norm)
	opts.LangWords = *langWords
	opts.Bits = uint8(*bits)
	opts.Sentences = *sents
	opts.MinN, opts.MaxN = uint8(*minN), uint8(*maxN)
	if *only {
		grid = []hyper{chosen}
	}
	if *mlw >= 0 {
		for i := range grid {
			grid[i].MLW = float32(*mlw)
		}
		chosen.MLW = float32(*mlw)
	}
	if *vw >= 0 {
		for i := range grid {
			grid[i].VW = float32(*vw)
		}
		chosen.VW = float32(*vw)
	}
	for i := range grid {
		if *epochs > 0 {
			grid[i].Epochs = *epochs
		}
		if *lr > 0 {
			grid[i].LR = float32(*lr)
		}
	}
	for _, h := range append([]*hyper{&chosen}, ptrs(grid)...) {
		if *avg >= 0 {
			h.Avg = *avg
		}
		if *smooth >= 0 {
			h.Smooth = float32(*smooth)
		}
		if *ens > 0 {
			h.Ens = *ens
		}
		if *l2 >= 0 {
			h.L2 = float32(*l2)
		}
	}
	if *epochs > 0 {
		chosen.Epochs = *epochs
	}
	if *lr > 0 {
		chosen.LR = float32(*lr)
	}
	if *vnat != "" {
		for i := range grid {
			grid[i].VNat = *vnat == "true"
		}
		chosen.VNat = *vnat == "true"
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
	docs := make([]string, len(xs))
	if !slices.Contains(skip, evaldata.SourceVADER) {
		vx, vg, vd := vaderTrain(dir, lex)
		xs, groups, docs = append(xs, vx...), append(groups, vg...), append(docs, vd...)
	}
	if *seeds {
		for _, lang := range evaldata.Languages {
			sw := seedWords[lang]
			for _, w := range sw.pos {
				xs = append(xs, model.Example{Text: w, Lang: lang, Lex: signals(lex, w), Label: model.Positive})
				groups = append(groups, "lexicon")
			}
			for _, w := range sw.neg {
				xs = append(xs, model.Example{Text: w, Lang: lang, Lex: signals(lex, w), Label: model.Negative})
				groups = append(groups, "lexicon")
			}
		}
	}
	docs = append(docs, make([]string, len(xs)-len(docs))...)
	log.Printf("training rows: %d (held out: %d SemEval tweets)", len(xs), len(c.SemEvalHeldOut))

	h := chosen
	if *cv {
		best := -1.0
		for _, g := range grid {
			for _, d := range neutralOffsets {
				g.Neutral = d
				s := crossValidate(xs, groups, docs, g, *seed)
				log.Printf("cv %v: mean macro-F1 over groups %.4f", g, s)
				if s > best {
					best, h = s, g
				}
			}
		}
		log.Printf("chosen by cv: %v", h)
	}
	var langOff map[string]float32
	if *langNeutral {
		key := h
		key.Neutral = 0
		probs, ok := foldCache[key]
		if !ok {
			probs = foldProbs(xs, groups, docs, h, *seed)
		}
		langOff = perLangNeutral(xs, groups, probs, h.Neutral)
	}
	weigh(xs, groups, h)
	if h.VW == 0 {
		skip = append(skip, evaldata.SourceVADER)
	}
	l := fit(trainable(xs), h, *seed)
	l.AddBias(model.Neutral, h.Neutral)
	for _, lang := range evaldata.Languages {
		if d, ok := langOff[lang]; ok && d != h.Neutral {
			l.AddLangBias(lang, model.Neutral, d-h.Neutral)
		}
	}
	name := fmt.Sprintf("linear-hash%d-char%d-%d-norm%d/%s/seed%d/%v", opts.Bits, opts.MinN, opts.MaxN, opts.NormPow,
		sourcesName(skip, *noLex), *seed, h)
	if langOff != nil {
		name += "/neutral-by-lang"
		for _, lang := range evaldata.Languages {
			name += fmt.Sprintf(" %s=%g", lang, langOff[lang])
		}
	}
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
	for _, src := range []string{evaldata.SourceXLMT, evaldata.SourceSemEval, evaldata.SourceGoEmotions, evaldata.SourceVADER} {
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
		if strings.HasPrefix(g, "vader-") {
			if h.VNat {
				w = 1
			}
			w *= h.VW
		}
		xs[i].Weight = w
	}
}

// crossValidate trains on 2 of 3 folds and scores the third, for each fold,
// and returns the mean over groups of the 3-class macro-F1.
func crossValidate(all []model.Example, groups, docs []string, h hyper, seed uint64) float64 {
	key := h
	key.Neutral = 0
	probs, ok := foldCache[key]
	if !ok {
		probs = foldProbs(all, groups, docs, h, seed)
		foldCache = map[hyper][][model.NumClasses]float32{key: probs}
	}
	conf := map[string]*evaldata.Confusion{}
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
		if *verbose {
			log.Printf("cv %v: %s confusion [gold][pred] %v", h, g, *conf[g])
		}
	}
	log.Printf("cv %v:%s", h, line.String())
	return sum / float64(len(names))
}

var verbose = flag.Bool("v", false, "with -cv: print each group's confusion matrix")

// foldCache holds the out-of-fold probabilities of the last grid point.
var foldCache map[hyper][][model.NumClasses]float32

// foldProbs trains on 2 of 3 folds and predicts the third, for each fold.
// Rows with a document (the VADER sets' reviews and editorials) are folded
// by document, so no fold trains on one sentence of a review and scores the
// next; a row of weight 0 is scored but never trained on.
func foldProbs(all []model.Example, groups, docs []string, h hyper, seed uint64) [][model.NumClasses]float32 {
	out := make([][model.NumClasses]float32, len(all))
	const k = 3
	// Folds by a seeded permutation: the source files are ordered (xlmt
	// cycles through the labels), so i%k would put one label in one fold.
	foldOf := rand.New(rand.NewPCG(seed, 7)).Perm(len(all))
	for i, d := range docs {
		if d != "" {
			f := fnv.New32a()
			fmt.Fprintf(f, "%d:%s", seed, d)
			foldOf[i] = int(f.Sum32() % k)
		}
	}
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
		l := fit(trainable(tr), h, seed)
		for i, x := range all {
			if foldOf[i]%k != fold {
				continue
			}
			out[i] = l.Predict(x.Text, x.Lang, x.Lex)
		}
	}
	return out
}

// fit trains h.Ens models (at least one) on xs, with shuffle seeds seed,
// seed+1, …, and returns the mean of their weights.
func fit(xs []model.Example, h hyper, seed uint64) *model.Learner {
	cfg := func(s uint64) model.TrainConfig {
		return model.TrainConfig{Epochs: h.Epochs, LR: h.LR, L2: h.L2, Seed: s, AvgEpochs: h.Avg, Smooth: h.Smooth}
	}
	l := model.NewLearner(opts)
	l.Train(xs, cfg(seed))
	var others []*model.Learner
	for k := 1; k < h.Ens; k++ {
		o := model.NewLearner(opts)
		o.Train(xs, cfg(seed+uint64(k)))
		others = append(others, o)
	}
	if len(others) > 0 {
		l.Blend(others...)
	}
	return l
}

func ptrs(hs []hyper) []*hyper {
	out := make([]*hyper, len(hs))
	for i := range hs {
		out[i] = &hs[i]
	}
	return out
}

// trainable leaves out the rows of weight 0.
func trainable(xs []model.Example) []model.Example {
	out := make([]model.Example, 0, len(xs))
	for _, x := range xs {
		if x.Weight > 0 {
			out = append(out, x)
		}
	}
	return out
}

// vaderTrain returns the training rows of the VADER rating sets
// (evaldata.PartTrain: whole documents; the other documents' rows are the
// development and held-out rows, never read here), with their groups and
// documents.
func vaderTrain(dir string, lex *sentiment.Scorer) (xs []model.Example, groups, docs []string) {
	for _, f := range []struct{ name, file string }{
		{"movies", evaldata.VADERMovies}, {"amazon", evaldata.VADERAmazon}, {"nyt", evaldata.VADERNYT},
	} {
		rows, err := evaldata.VADER(dir, f.file)
		if err != nil {
			log.Fatal(err)
		}
		parts := evaldata.VADERParts(f.file, rows)
		for i, r := range rows {
			if parts[i] != evaldata.PartTrain {
				continue
			}
			doc, _, _ := strings.Cut(r.ID, "_")
			xs = append(xs, model.Example{Text: r.Text, Lang: "en", Lex: signals(lex, r.Text), Label: r.Class() + 1})
			groups = append(groups, "vader-"+f.name)
			docs = append(docs, f.name+":"+doc)
		}
	}
	return xs, groups, docs
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
