package all_test

import (
	"context"
	"testing"

	"github.com/earshot-dev/earshot/enrich/internal/sample"
	"github.com/earshot-dev/earshot/pipeline"
)

// TestRespondOnModelSentiment runs the whole default chain (entities, lang,
// the learned sentiment model, topics, dedup, respond) on posts with the
// answer a community manager would give: complaints and questions to the
// brand are in the response queue, praise is not, even when it tells of a
// fault first (issue 9's demo post).
func TestRespondOnModelSentiment(t *testing.T) {
	var stages []pipeline.Enricher
	for _, name := range pipeline.DefaultEnrichers() {
		f, _ := pipeline.EnricherFactoryFor(name)
		st, err := f(pipeline.EnricherEnv{Topics: sample.Topics()})
		if err != nil {
			t.Fatalf("stage %s: %v", name, err)
		}
		stages = append(stages, st)
	}
	for i, p := range []struct {
		text string
		want bool
	}{
		{"My Aero Pro case hinge broke after 4 months. Acme replaced the whole set in 3 days, no questions asked. Impressed. @AcmeSupport you rock!", false},
		{"Thank you @acme for the quick help yesterday!", false},
		{"@acme love the new colours on the Rocket 3", false},
		{"Returned my #AcmeAero today. Battery bug, left bud dropouts, and support took a week to reply. Switching to Globex. #AcmeFail 👋", true},
		{"@AcmeSupport my order never arrived and nobody answers the phone", true},
		{"@acme how do I reset my password?", true},
		{"@acme this is a disgrace, I am so angry with you", true},
		{"@AcmeSupport the app keeps crashing since the update", true},
		// Sarcasm the model reads as positive: the complaint phrase counts.
		{"oh great, the acme app crashed AGAIN during checkout. love that for me. never again.", true},
		{"@acme I want a refund. Charged twice for the same order and customer support keeps closing my ticket.", true},
	} {
		m := &pipeline.Mention{ID: "twitter:" + string(rune('a'+i)), Platform: "twitter", Kind: pipeline.KindPost, Text: p.text}
		for _, st := range stages {
			if err := st.Enrich(context.Background(), []*pipeline.Mention{m}); err != nil {
				t.Fatalf("%s: %v", st.Name(), err)
			}
		}
		if got := m.Enrichment.NeedsResponse; got != p.want {
			s := m.Enrichment.Sentiment
			t.Errorf("%q: needs_response %v (sentiment %s %.2f, topics %v); want %v", p.text, got, s.Label, s.Confidence, m.Enrichment.Topics, p.want)
		}
	}
}
