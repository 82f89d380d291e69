package sentiment

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"testing"
)

// TestEmbeddedWeights checks that the embedded weights are the ones the
// stage version names, load, and score a fixed set of posts as recorded
// when they were trained (go run ./enrich/sentiment/internal/train). A
// retrained model changes WeightsDigest (and so Version) and this table.
func TestEmbeddedWeights(t *testing.T) {
	sum := sha256.Sum256(weights)
	if got := hex.EncodeToString(sum[:])[:12]; got != WeightsDigest {
		t.Fatalf("weights.bin.gz digest = %s; WeightsDigest = %s (set it, and so Version, when the weights change)", got, WeightsDigest)
	}
	m, err := DefaultModel()
	if err != nil {
		t.Fatalf("DefaultModel: %v", err)
	}
	for _, r := range recorded {
		got := m.Predict(r.text, r.lang)
		if got.Label != r.label || math.Abs(got.Score-r.score) > 0.0005 {
			t.Errorf("Predict(%q, %q) = %s %.3f; recorded %s %.3f", r.text, r.lang, got.Label, got.Score, r.label, r.score)
		}
	}
}

// recorded are the embedded model's answers when it was trained (not
// always the right ones, though all of these are: "yaar ye phone bahut bekar
// hai" is a complaint, which the model calls negative by a narrow margin;
// the weights before these called it positive by a hair; see MODEL.md, Hindi).
var recorded = []struct {
	text, lang, label string
	score             float64
}{
	{"I love my new Aero Pro, best buds ever!", "en", "positive", 0.993},
	{"sooo disappointed with @acme, my X200 arrived broken 😡", "en", "negative", -0.935},
	{"The keynote was fine I guess. Nothing we didn't already know.", "en", "neutral", 0.060},
	{"Die neue #Acme Home App ist eine Katastrophe", "de", "negative", -0.589},
	{"El pedido llegó tarde otra vez y nadie contestó el teléfono", "es", "neutral", -0.122},
	{"Merci pour la réponse rapide, tout fonctionne !", "fr", "positive", 0.315},
	{"Che bello, finalmente è arrivato 😍", "it", "positive", 0.848},
	{"Péssimo atendimento, nunca mais compro", "pt", "negative", -0.488},
	{"الخدمة ممتازة شكرا", "ar", "positive", 0.693},
	{"yaar ye phone bahut bekar hai", "hi", "negative", -0.079},
	{"@acme https://t.co/x", "", "neutral", 0.108},
	{"", "", "neutral", 0.000},
}
