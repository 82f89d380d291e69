package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

var tinyExamples = []Example{
	{Text: "love it, great", Lang: "en", Label: Positive, Weight: 1},
	{Text: "awful, broke again", Lang: "en", Label: Negative, Weight: 1},
	{Text: "arrived on tuesday", Lang: "en", Label: Neutral, Weight: 1},
	{Text: "ist eine Katastrophe", Lang: "de", Label: Negative, Weight: 2},
	{Text: "che bello", Lang: "it", Label: Positive, Weight: 0.5},
}

// TestAveragedWeights checks averaged SGD's shortcut (w - u/t) against the
// plain mean of the weights after every step of the averaged epochs.
func TestAveragedWeights(t *testing.T) {
	o := DefaultOptions()
	o.Bits = 12
	cfg := TrainConfig{Epochs: 3, LR: 0.1, Seed: 1, AvgEpochs: 2, Smooth: 0.1}
	got := NewLearner(o)
	got.Train(tinyExamples, cfg)

	// The same steps, with the mean taken the long way.
	ref := NewLearner(o)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	order := []int{0, 1, 2, 3, 4}
	sum := make([]float64, len(ref.w))
	n := 0
	for ep := 0; ep < cfg.Epochs; ep++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			ref.step(&tinyExamples[i], cfg, false)
			if ep >= cfg.Epochs-cfg.AvgEpochs {
				for k, v := range ref.w {
					sum[k] += float64(v)
				}
				n++
			}
		}
	}
	moved := 0
	for k := range sum {
		want := sum[k] / float64(n)
		if math.Abs(float64(got.w[k])-want) > 1e-5 {
			t.Fatalf("averaged weight %d = %g; the mean of the steps' weights is %g", k, got.w[k], want)
		}
		if math.Abs(want-float64(ref.w[k])) > 1e-4 {
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("the averaged weights equal the last step's: the test compares nothing")
	}
}

// TestBlendIsMeanModel checks that a blend of learners predicts with the
// mean of their weights.
func TestBlendIsMeanModel(t *testing.T) {
	o := DefaultOptions()
	o.Bits = 12
	a, b := NewLearner(o), NewLearner(o)
	a.Train(tinyExamples, TrainConfig{Epochs: 2, LR: 0.1, Seed: 1})
	b.Train(tinyExamples, TrainConfig{Epochs: 2, LR: 0.1, Seed: 2})
	want := make([]float32, len(a.w))
	for k := range want {
		want[k] = (a.w[k] + b.w[k]) / 2
	}
	a.Blend(b)
	for k := range want {
		if a.w[k] != want[k] {
			t.Fatalf("blended weight %d = %g; want %g", k, a.w[k], want[k])
		}
	}
}
