//go:build knownmisses

// One of the four English demo posts of issue 9, with the label a person
// gives it. The shipped model labels it wrong (MODEL.md, known
// limitations), so this test is behind a build tag and fails (the other
// three, "Returned my #AcmeAero …", "Brew lid popped open …" and "… Acme
// replaced the whole set … you rock!", are right now and in
// regression_test.go):
//
//	go test -tags knownmisses -run TestDemoPosts -v ./enrich/sentiment
package sentiment

import (
	"testing"

	"github.com/earshot-dev/earshot/pipeline"
)

func TestDemoPosts(t *testing.T) {
	m, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ text, lang, want string }{
		{"Reminder that the original #AcmePulse is the subject of a class action about recording after the wake word. Mute button is your friend.",
			"en", pipeline.SentimentNegative},
	} {
		r := m.Predict(p.text, p.lang)
		if r.Label != p.want {
			t.Errorf("Predict(%q, %q) = %s (%.2f, confidence %.2f); want %s", p.text, p.lang, r.Label, r.Score, r.Confidence, p.want)
		}
	}
}
