package sentiment

import (
	"context"
	"testing"

	"github.com/earshot-dev/earshot/pipeline"
)

// regressionPosts are posts of issue 9 (and the README's examples) with the
// label a person gives them. Three of the four English demo posts
// are here; the model still gets the fourth wrong (demo_posts_test.go,
// MODEL.md).
var regressionPosts = []struct {
	text, lang, want string
}{
	{"Die neue #Acme Home App ist eine Katastrophe. Routinen weg, Widget weg. Wer testet sowas? #AcmeFail",
		"de", pipeline.SentimentNegative},
	{"Die neue #Acme Home App ist eine Katastrophe", "de", pipeline.SentimentNegative},
	{"I love my new Aero Pro, best buds ever!", "en", pipeline.SentimentPositive},
	// Issue 9's demo post: a product failure, slow support, leaving for a
	// competitor, and a camel-case #AcmeFail.
	{"Returned my #AcmeAero today. Battery bug, left bud dropouts, and support took a week to reply. Switching to Globex. #AcmeFail 👋",
		"en", pipeline.SentimentNegative},
	// Issue 9's demo post: a fault, "done with" after "but", and a recall
	// it is ironically glad of (the sentence-level lexicon features).
	{"Brew lid popped open mid-boil and splashed my hand. Not badly hurt, but I'm done with this kettle. Glad there's a recall now.",
		"en", pipeline.SentimentNegative},
	// Issue 9's demo post: a fault, then a quick replacement and praise.
	{"My Aero Pro case hinge broke after 4 months. Acme replaced the whole set in 3 days, no questions asked. Impressed. @AcmeSupport you rock!",
		"en", pipeline.SentimentPositive},
	// Short posts whose one sentiment word the seed words teach
	// (internal/train/seedwords.go).
	{"Merci pour la réponse rapide, tout fonctionne !", "fr", pipeline.SentimentPositive},
	{"الخدمة ممتازة شكرا", "ar", pipeline.SentimentPositive},
	{"The Aero Pro is awesome", "en", pipeline.SentimentPositive},
	{"sooo disappointed with @acme, my X200 arrived broken 😡", "en", pipeline.SentimentNegative},
	// With the language undetermined, a post is still scored.
	{"I love my new Aero Pro, best buds ever!", "", pipeline.SentimentPositive},
	{"sooo disappointed with @acme, my X200 arrived broken 😡", "", pipeline.SentimentNegative},
	{"Die neue #Acme Home App ist eine Katastrophe", "", pipeline.SentimentNegative},
}

func TestRegressionPosts(t *testing.T) {
	e, err := New(DefaultConfig())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, p := range regressionPosts {
		m := &pipeline.Mention{Text: p.text, Enrichment: pipeline.Enrichment{Lang: p.lang}}
		if err := e.Enrich(context.Background(), []*pipeline.Mention{m}); err != nil {
			t.Fatalf("Enrich: %v", err)
		}
		if s := m.Enrichment.Sentiment; s.Label != p.want {
			t.Errorf("Enrich(%q, lang %q) = %s (%.2f, confidence %.2f); want %s", p.text, p.lang, s.Label, s.Score, s.Confidence, p.want)
		}
	}
}
