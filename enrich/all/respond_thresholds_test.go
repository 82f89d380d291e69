package all_test

import (
	"fmt"
	"testing"

	"github.com/earshot-dev/earshot/enrich/internal/evaldata"
	"github.com/earshot-dev/earshot/enrich/respond"
	"github.com/earshot-dev/earshot/enrich/sentiment"
	"github.com/earshot-dev/earshot/pipeline"
)

// TestRespondThresholds re-derives the respond stage's sentiment
// thresholds for the shipped sentiment model and checks that the stage's
// defaults are the derived ones (a retrained model must re-derive them):
//
//	go test ./enrich/all -run TestRespondThresholds -v
//
// The rule of respond before the learned model was the lexicon scorer's
// compound: at or below -0.3 a complaint, at or above +0.5 a veto on a
// complaint cue. The model's answer is a label and its probability, so the
// stage now asks for the label with at least a confidence, chosen on the
// development rows of the three VADER rating sets (evaldata.PartDev: the
// even rows of the documents the model never trained on), which no model
// was trained on and no reported figure uses (the lexicon scorer was tuned
// on the even rows):
//
//   - complaint_confidence is the smallest (in steps of 0.01) at which the
//     negative label is at least as precise as the old cut-off was on the
//     same rows: the queue stays as trustworthy as it was, with as many
//     complaints as that allows;
//   - positive_confidence is the smallest at which the positive label is
//     right at least 9 times in 10. A veto throws away a complaint phrase,
//     and a sarcastic complaint ("oh great, the app crashed AGAIN … love
//     that for me") reads positive to a bag of words, so the veto asks for
//     more than the old cut-off's precision (0.71 on these rows).
func TestRespondThresholds(t *testing.T) {
	dir, err := evaldata.Dir()
	if err != nil {
		t.Fatal(err)
	}
	m, err := sentiment.DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	lex := sentiment.Default()
	type row struct {
		gold     int
		compound float64
		label    string
		conf     float64
	}
	var rows []row
	for _, f := range []string{evaldata.VADERMovies, evaldata.VADERAmazon, evaldata.VADERNYT} {
		rs, err := evaldata.VADER(dir, f)
		if err != nil {
			t.Fatal(err)
		}
		parts := evaldata.VADERParts(f, rs)
		for i, r := range rs {
			if parts[i] != evaldata.PartDev { // neither trained on nor reported
				continue
			}
			p := m.Predict(r.Text, "en")
			rows = append(rows, row{r.Class(), lex.Compound(r.Text), p.Label, p.Confidence})
		}
	}
	precision := func(gold int, pick func(row) bool) (float64, int) {
		n, ok := 0, 0
		for _, r := range rows {
			if pick(r) {
				n++
				if r.gold == gold {
					ok++
				}
			}
		}
		if n == 0 {
			return 0, 0
		}
		return float64(ok) / float64(n), n
	}
	derive := func(name string, gold int, label string, old func(row) bool, target float64) float64 {
		want, nOld := precision(gold, old)
		if target > 0 {
			t.Logf("%s: old rule precision %.3f on %d rows; target %.2f", name, want, nOld, target)
			want = target
		}
		for c := 34; c <= 100; c++ {
			th := float64(c) / 100
			p, n := precision(gold, func(r row) bool { return r.label == label && r.conf >= th })
			if p >= want {
				t.Logf("%s: wanted precision %.3f (old rule: %d rows); %s at confidence >= %.2f: precision %.3f on %d rows (of %d)",
					name, want, nOld, label, th, p, n, len(rows))
				return th
			}
		}
		t.Fatalf("%s: no confidence reaches the old precision %.3f", name, want)
		return 0
	}
	neg := derive("complaint", -1, pipeline.SentimentNegative, func(r row) bool { return r.compound <= -0.3 }, 0)
	pos := derive("positive veto", 1, pipeline.SentimentPositive, func(r row) bool { return r.compound >= 0.5 }, 0.9)
	if got := fmt.Sprintf("%.2f", respond.DefaultComplaintConfidence); got != fmt.Sprintf("%.2f", neg) {
		t.Errorf("respond.DefaultComplaintConfidence = %s; derived %.2f", got, neg)
	}
	if got := fmt.Sprintf("%.2f", respond.DefaultPositiveConfidence); got != fmt.Sprintf("%.2f", pos) {
		t.Errorf("respond.DefaultPositiveConfidence = %s; derived %.2f", got, pos)
	}
}
