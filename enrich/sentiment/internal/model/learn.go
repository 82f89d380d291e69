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
}

// Learner holds float weights and AdaGrad accumulators.
type Learner struct {
	o    Options
	w, g []float32
	ex   *Extractor
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
	for ep := 0; ep < cfg.Epochs; ep++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			l.step(&xs[i], cfg)
		}
	}
}

func (l *Learner) step(x *Example, cfg TrainConfig) {
	fs := l.ex.Extract(x.Text, x.Lang, x.Lex)
	z := l.logits(fs)
	p := Probs(z)
	var grad [NumClasses]float32
	for c := range grad {
		y := float32(0)
		if c == x.Label {
			y = 1
		}
		grad[c] = x.Weight * (p[c] - y)
	}
	for _, f := range fs {
		base := int(f.Bucket) * NumClasses
		for c := 0; c < NumClasses; c++ {
			i := base + c
			gi := grad[c]*f.Value + cfg.L2*l.w[i]
			l.g[i] += gi * gi
			l.w[i] -= cfg.LR * gi / float32(math.Sqrt(float64(l.g[i])+1e-8))
		}
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
