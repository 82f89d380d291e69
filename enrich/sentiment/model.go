package sentiment

import (
	"bytes"
	_ "embed"
	"fmt"
	"sync"

	"github.com/earshot-dev/earshot/enrich/sentiment/internal/model"
	"github.com/earshot-dev/earshot/pipeline"
)

// weights is the trained model (see MODEL.md; regenerate with
// `go run ./enrich/sentiment/internal/train`).
//
//go:embed weights.bin.gz
var weights []byte

// Model is earshot's learned sentiment classifier: a linear softmax over
// hashed word, word-bigram and character 2–5-gram features and the VADER
// lexicon score, trained on tweets in eight languages and Reddit comments.
// It is safe for concurrent use and allocates nothing per call once warm.
type Model struct {
	m   *model.Model
	lex *Scorer
	ex  sync.Pool
}

// Result is a model's answer for one text.
type Result struct {
	Score      float64 // P(positive) - P(negative), in [-1, 1]
	Label      string  // pipeline.SentimentPositive, Neutral or Negative
	Confidence float64 // the probability of Label
	Probs      [3]float64
}

var (
	modelOnce sync.Once
	modelDef  *Model
	modelErr  error
)

// DefaultModel returns the shared model built from the embedded weights.
func DefaultModel() (*Model, error) {
	modelOnce.Do(func() { modelDef, modelErr = LoadModel(weights) })
	return modelDef, modelErr
}

// LoadModel reads a weights file written by the trainer.
func LoadModel(data []byte) (*Model, error) {
	m, err := model.Read(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("load sentiment model: %w", err)
	}
	md := &Model{m: m, lex: SignalScorer()}
	o := m.Opts
	md.ex.New = func() any { return model.NewExtractor(o) }
	return md, nil
}

// Name is the model's training description (data, features, seed).
func (md *Model) Name() string { return md.m.Name }

// Predict scores text; lang is its ISO 639-1 language, or "" when unknown
// (the model still scores it: its features are shared across languages).
func (md *Model) Predict(text, lang string) Result {
	ex := md.ex.Get().(*model.Extractor)
	var lx model.Lex
	lx.Compound, lx.Pos, lx.Neg, lx.MinSent, lx.MaxSent, lx.LastSent = md.lex.SentenceSignals(text)
	z := ex.Logits(md.m, text, lang, lx)
	empty := ex.Empty()
	md.ex.Put(ex)
	if empty {
		// No words, no emoji: nothing to score.
		return Result{Label: pipeline.SentimentNeutral}
	}
	p := model.Probs(z)
	r := Result{Probs: [3]float64{float64(p[0]), float64(p[1]), float64(p[2])}}
	r.Score = r.Probs[model.Positive] - r.Probs[model.Negative]
	best := model.Neutral
	for c := range p {
		if p[c] > p[best] {
			best = c
		}
	}
	r.Confidence = r.Probs[best]
	r.Label = [...]string{pipeline.SentimentNegative, pipeline.SentimentNeutral, pipeline.SentimentPositive}[best]
	return r
}
