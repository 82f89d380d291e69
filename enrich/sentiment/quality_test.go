package sentiment

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jonreiter/govader"

	"github.com/earshot-dev/earshot/enrich/internal/evaldata"
)

// dataDir finds shared/data; a run without it skips, except in CI.
func dataDir(t *testing.T) string {
	t.Helper()
	d := evaldata.DirOrSkip(t)
	return d
}

// Rows are split by position: even rows (0, 2, …) were the development half
// that the lexicon scorer's rules and constants were tuned on; odd rows are
// held out. The ablation report uses the development half.
const (
	partAll = -1
	partDev = 0
)

func inPart(i, part int) bool { return part == partAll || i%2 == part }

func classOf(v, pos, neg float64) int {
	switch {
	case v >= pos:
		return 1
	case v <= neg:
		return -1
	}
	return 0
}

// classifier is one of the compared systems: a 3-class label (-1, 0, 1) for
// a text in a language ("" unknown).
type classifier struct {
	name  string
	label func(text, lang string) int
}

func classifiers(t *testing.T) []classifier {
	g := govader.NewSentimentIntensityAnalyzer()
	prev := Default()
	m, err := DefaultModel()
	if err != nil {
		t.Fatalf("DefaultModel: %v", err)
	}
	if path := os.Getenv("EARSHOT_SENTIMENT_WEIGHTS"); path != "" {
		// Another weights file, e.g. one trained with -exclude.
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if m, err = LoadModel(data); err != nil {
			t.Fatal(err)
		}
		t.Logf("model: %s", m.Name())
	}
	cls := []classifier{
		{"govader", func(s, _ string) int { return classOf(g.PolarityScores(s).Compound, 0.05, -0.05) }},
		{"lexicon (previous)", func(s, _ string) int { return classOf(prev.Compound(s), 0.05, -0.05) }},
		{"model, language undetermined", func(s, _ string) int { return labelClass(m.Predict(s, "").Label) }},
		{"model", func(s, lang string) int { return labelClass(m.Predict(s, lang).Label) }},
	}
	if path := os.Getenv("EARSHOT_SENTIMENT_BASELINE"); path != "" {
		// A previous weights file, measured beside the model in the same
		// run (before and after a retrain).
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := LoadModel(data)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("baseline: %s", b.Name())
		base := classifier{"baseline model", func(s, lang string) int { return labelClass(b.Predict(s, lang).Label) }}
		cls = append(cls[:len(cls)-1:len(cls)-1], base, cls[len(cls)-1])
	}
	return cls
}

func labelClass(label string) int {
	switch label {
	case "positive":
		return 1
	case "negative":
		return -1
	}
	return 0
}

// macroRecall is the unweighted mean recall over the three classes
// (SemEval-2017 task 4A's primary measure).
func macroRecall(c *evaldata.Confusion) float64 {
	var sum float64
	for k := 0; k < 3; k++ {
		n := c[k][0] + c[k][1] + c[k][2]
		if n > 0 {
			sum += float64(c[k][k]) / float64(n)
		}
	}
	return sum / 3
}

type goldText struct {
	text, lang string
	gold       int
}

// TestQuality prints, for govader, the previous lexicon scorer and the
// learned model, computed in the same run on data the model was never
// trained or tuned on:
//
//	go test ./enrich/sentiment -run TestQuality -v
//
// EARSHOT_SENTIMENT_WEIGHTS=FILE measures another weights file instead of
// the embedded one; EARSHOT_SENTIMENT_BASELINE=FILE adds a column for a
// previous weights file.
// English: 3-class macro-F1 on the VADER sets (evaldata.PartHeldOut: odd
// rows of the documents the model never trained on), GoEmotions dev
// and earshot's held-out SemEval split (with macro-recall); other languages:
// macro-F1 per language on xlmt_val (English rows repeating a training text
// left out). It asserts floors a broken model fails, and that the model is
// ahead of govader on the tweet and Reddit sets.
func TestQuality(t *testing.T) {
	dir := dataDir(t)
	cls := classifiers(t)
	corpus, err := evaldata.LoadCorpus(dir)
	if err != nil {
		t.Fatalf("LoadCorpus: %v", err)
	}
	type set struct {
		name string
		rows []goldText
	}
	var english []set
	for _, s := range []struct{ name, file string }{
		{"VADER movie reviews", evaldata.VADERMovies},
		{"VADER Amazon reviews", evaldata.VADERAmazon},
		{"VADER NYT editorials", evaldata.VADERNYT},
		{"VADER tweets", evaldata.VADERTweets},
	} {
		rows, err := evaldata.VADER(dir, s.file)
		if err != nil {
			if s.file == evaldata.VADERTweets && errors.Is(err, os.ErrNotExist) {
				continue
			}
			t.Fatalf("evaldata.VADER(%q): %v", s.file, err)
		}
		var gs []goldText
		parts := evaldata.VADERParts(s.file, rows)
		for i, r := range rows {
			if parts[i] == evaldata.PartHeldOut {
				gs = append(gs, goldText{r.Text, "en", r.Class()})
			}
		}
		english = append(english, set{s.name + " (held-out rows)", gs})
	}
	ge, err := evaldata.GoEmotionsDev(dir)
	if err != nil {
		t.Fatalf("GoEmotionsDev: %v", err)
	}
	var gs []goldText
	for _, c := range ge {
		if p, ok := c.Polarity(); ok {
			gs = append(gs, goldText{c.Text, "en", p})
		}
	}
	english = append(english, set{"GoEmotions dev", gs})
	gs = nil
	for _, x := range corpus.SemEvalHeldOut {
		gs = append(gs, goldText{x.Text, "en", x.Label})
	}
	english = append(english, set{"SemEval held-out tweets", gs})
	semevalIdx := len(english) - 1

	var b strings.Builder
	fmt.Fprintf(&b, "\n| English set | rows |")
	for _, c := range cls {
		fmt.Fprintf(&b, " %s |", c.name)
	}
	b.WriteString("\n|---|---:|" + strings.Repeat("---:|", len(cls)) + "\n")
	var semevalConf []evaldata.Confusion
	for si, s := range english {
		fmt.Fprintf(&b, "| %s, 3-class macro-F1 | %d |", s.name, len(s.rows))
		f1 := make([]float64, len(cls))
		confs := make([]evaldata.Confusion, len(cls))
		for ci, c := range cls {
			for _, r := range s.rows {
				confs[ci].Add(r.gold, c.label(r.text, r.lang))
			}
			f1[ci] = confs[ci].MacroF1(-1, 0, 1)
			fmt.Fprintf(&b, " %.3f |", f1[ci])
		}
		b.WriteString("\n")
		if si == semevalIdx {
			semevalConf = confs
		}
		if model := f1[len(cls)-1]; model < f1[0] && !strings.HasPrefix(s.name, "VADER") {
			t.Errorf("%s: model macro-F1 %.3f is below govader's %.3f", s.name, model, f1[0])
		}
	}
	fmt.Fprintf(&b, "| SemEval held-out tweets, macro-recall | %d |", len(english[semevalIdx].rows))
	for ci := range cls {
		fmt.Fprintf(&b, " %.3f |", macroRecall(&semevalConf[ci]))
	}
	b.WriteString("\n")
	if r := macroRecall(&semevalConf[len(cls)-1]); r < 0.55 {
		t.Errorf("SemEval held-out macro-recall = %.3f; want > 0.55", r)
	}

	fmt.Fprintf(&b, "\n| xlmt_val language | rows |")
	for _, c := range cls {
		fmt.Fprintf(&b, " %s |", c.name)
	}
	b.WriteString("\n|---|---:|" + strings.Repeat("---:|", len(cls)) + "\n")
	mean := make([]float64, len(cls))
	for _, lang := range evaldata.Languages {
		n := 0
		confs := make([]evaldata.Confusion, len(cls))
		for _, x := range corpus.Val {
			if x.Lang != lang {
				continue
			}
			n++
			for ci, c := range cls {
				confs[ci].Add(x.Label, c.label(x.Text, x.Lang))
			}
		}
		note := ""
		if lang == "en" {
			note = fmt.Sprintf(" (%d repeats of training tweets left out)", corpus.ValDropped)
		}
		fmt.Fprintf(&b, "| %s%s | %d |", lang, note, n)
		for ci := range cls {
			f := confs[ci].MacroF1(-1, 0, 1)
			mean[ci] += f / float64(len(evaldata.Languages))
			fmt.Fprintf(&b, " %.3f |", f)
			// Floors a broken model fails (one class for everything scores
			// 0.17). Hindi's labels (SAIL 2015) are noisy: its floor is low.
			floor := 0.45
			if lang == "hi" {
				floor = 0.25
			}
			if ci == len(cls)-1 && f < floor {
				t.Errorf("xlmt_val %s: model macro-F1 = %.3f; want > %.2f", lang, f, floor)
			}
		}
		b.WriteString("\n")
	}
	// Four decimals: the mean sits close to the 0.60 goal, where
	// three do not tell which side of it a model is.
	fmt.Fprintf(&b, "| mean of the 8 | |")
	for ci := range cls {
		fmt.Fprintf(&b, " %.4f |", mean[ci])
	}
	b.WriteString("\n")
	t.Log(b.String())
}
