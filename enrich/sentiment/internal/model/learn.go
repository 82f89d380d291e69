package model

import (
	"math"
	"math/rand/v2"
)

// Example is one training text with its precomputed lexicon score.
type Example struct {
	Text   string
	Lang   string
	Lex    Lex
	Label  int     // Negative, Neutral or Positive
	Weight float32 // loss weight (class and source balance)
}

// TrainConfig are the learner's hyper-parameters.
type TrainConfig struct {
	Epochs int
	LR     float32 // AdaGrad step size
	L2     float32 // weight decay applied on each update of a weight
	Seed   uint64
	// AvgEpochs: the learned weights are the mean of the weights after
	// every step of the last AvgEpochs epochs (averaged SGD), 0 for the
	// weights after the last step.
	AvgEpochs int
	// Smooth: label smoothing, the target puts Smooth/NumClasses on every
	// class and 1-Smooth more on the gold one.
	Smooth float32
}

// Learner holds float weights and AdaGrad accumulators.
type Learner struct {
	o    Options
	w, g []float32
	ex   *Extractor
	// Averaged SGD (TrainConfig.AvgEpochs): u sums each update times the
	// number of averaged steps before it, t counts the averaged steps; the
	// mean of the weights over those steps is w - u/t.
	u []float64
	t float64
}

// NewLearner returns a learner with zero weights.
func NewLearner(o Options) *Learner {
	n := NumClasses << o.Bits
	return &Learner{o: o, w: make([]float32, n), g: make([]float32, n), ex: NewExtractor(o)}
}

// Train runs the epochs over xs in a seeded shuffled order.
func (l *Learner) Train(xs []Example, cfg TrainConfig) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	order := make([]int, len(xs))
	for i := range order {
		order[i] = i
	}
	avgFrom := cfg.Epochs - cfg.AvgEpochs
	if cfg.AvgEpochs > 0 && l.u == nil {
		l.u = make([]float64, len(l.w))
	}
	for ep := 0; ep < cfg.Epochs; ep++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		avg := cfg.AvgEpochs > 0 && ep >= avgFrom
		for _, i := range order {
			l.step(&xs[i], cfg, avg)
		}
	}
	if cfg.AvgEpochs > 0 && l.t > 0 {
		// w_T - u/T is the mean of w_1 … w_T (the weights after each averaged step).
		for i, u := range l.u {
			l.w[i] -= float32(u / l.t)
		}
		l.u, l.t = nil, 0
	}
}

// Blend sets l's weights to the mean of its own and others' (an ensemble
// of linear models is the linear model of their mean weights, so it costs
// nothing at prediction time).
func (l *Learner) Blend(others ...*Learner) {
	n := float32(1 + len(others))
	for i := range l.w {
		s := l.w[i]
		for _, o := range others {
			s += o.w[i]
		}
		l.w[i] = s / n
	}
}

func (l *Learner) step(x *Example, cfg TrainConfig, avg bool) {
	fs := l.ex.Extract(x.Text, x.Lang, x.Lex)
	z := l.logits(fs)
	p := Probs(z)
	var grad [NumClasses]float32
	for c := range grad {
		y := cfg.Smooth / NumClasses
		if c == x.Label {
			y += 1 - cfg.Smooth
		}
		grad[c] = x.Weight * (p[c] - y)
	}
	for _, f := range fs {
		base := int(f.Bucket) * NumClasses
		for c := 0; c < NumClasses; c++ {
			i := base + c
			gi := grad[c]*f.Value + cfg.L2*l.w[i]
			l.g[i] += gi * gi
			d := cfg.LR * gi / float32(math.Sqrt(float64(l.g[i])+1e-8))
			l.w[i] -= d
			if avg {
				l.u[i] -= l.t * float64(d)
			}
		}
	}
	if avg {
		l.t++
	}
}

func (l *Learner) logits(fs []Feature) [NumClasses]float32 {
	var acc [NumClasses]float32
	for _, f := range fs {
		i := int(f.Bucket) * NumClasses
		acc[0] += f.Value * l.w[i]
		acc[1] += f.Value * l.w[i+1]
		acc[2] += f.Value * l.w[i+2]
	}
	return acc
}

// Predict returns the float model's class probabilities (for validation
// during training, before quantisation).
func (l *Learner) Predict(text, lang string, lex Lex) [NumClasses]float32 {
	return Probs(l.logits(l.ex.Extract(text, lang, lex)))
}

// Model quantises the learned weights.
func (l *Learner) Model(name string) *Model { return Quantise(l.o, name, l.w) }

// AddBias adds d to the bias of class c (the bias feature has value 1).
func (l *Learner) AddBias(c int, d float32) {
	l.w[int(mix(seed(kindBias))&(1<<l.o.Bits-1))*NumClasses+c] += d
}

// AddLangBias adds d to the bias of class c for posts of language lang
// (the per-language bias feature, Options.LangBias).
func (l *Learner) AddLangBias(lang string, c int, d float32) {
	l.w[int(mix(hashString(seed(kindLang), lang))&(1<<l.o.Bits-1))*NumClasses+c] += d
}
