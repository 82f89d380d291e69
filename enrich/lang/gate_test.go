package lang

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/earshot-dev/earshot/enrich/internal/sample"
	"github.com/earshot-dev/earshot/enrich/internal/stagetest"
)

// TestTallyLongMatches: the trigram tally of a text plus tallyLong is the
// tally with 4- and 5-grams in one pass (tallyWords with top maxOrder), up
// to the order of the float additions: the same n-gram counts, and every
// language's sum and the penalties within 1e-5 of their size, on every evaluation
// text (see evalTexts) and every whole xlmt tweet cut to 1 to 6 words.
func TestTallyLongMatches(t *testing.T) {
	d, err := NewDetector(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	texts := evalTexts(t)
	for _, split := range []string{"train", "val"} {
		full, _ := shortPosts(t, split)
		for _, r := range full {
			for k := 1; k <= 6; k++ {
				texts = append(texts, labelled{r.lang, firstWords(r.text, k)})
			}
		}
	}
	texts = append(texts, labelled{"hi", "नमस्ते दोस्तों आज मौसम अच्छा है yaar kya baat hai"})
	bad, worst := 0, 0.0
	for _, r := range texts {
		s := Clean(nil, r.text[:min(len(r.text), maxScan)])
		var got, want tally
		d.tallyWords(&got, s, 3)
		d.tallyLong(&got, s)
		d.tallyWords(&want, s, maxOrder)
		// Relative to the size of the sums: float32 sums of a few
		// thousand nats round differently in the last bits.
		rel := func(x, y float32) float64 {
			return math.Abs(float64(x-y)) / (1 + math.Abs(float64(y)))
		}
		diff := rel(got.penSum, want.penSum)
		for l := range d.t.codes {
			diff = max(diff, rel(got.sum[l], want.sum[l]))
		}
		worst = max(worst, diff)
		if got.counts != want.counts || diff > 1e-5 {
			if bad == 0 {
				t.Errorf("tally of %.80q: counts %v, want %v; largest difference %g", s, got.counts, want.counts, diff)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d tallies differ", bad, len(texts))
	}
	t.Logf("%d texts, largest relative difference %.2g", len(texts), worst)
}

// TestLongGateAlways: with the gate always open (every short text gets the
// 4- and 5-grams, as a second pass) the answers are the former single
// pass's, up to rounding: the same languages and confidences within 1e-3,
// without a declared language and with the right and a wrong one.
func TestLongGateAlways(t *testing.T) {
	two, err := NewDetector(eight, 0)
	if err != nil {
		t.Fatal(err)
	}
	one, err := NewDetector(eight, 0)
	if err != nil {
		t.Fatal(err)
	}
	two.gate, one.gate = 2, 0
	var texts []labelled
	for _, split := range []string{"train", "val"} {
		full, short := shortPosts(t, split)
		texts = append(append(texts, full...), short...)
	}
	for _, p := range loadPosts(t, "testdata/posts.tsv") {
		texts = append(texts, p, labelled{p.lang, firstWords(p.text, 3)})
	}
	n, diffs := 0, 0
	for i, r := range texts {
		for _, decl := range []string{"", "right", "wrong"} {
			dl := declFor(decl, r.lang, i)
			a, b := two.Resolve(r.text, dl), one.Resolve(r.text, dl)
			n++
			if a.Detected != b.Detected || a.Lang != b.Lang ||
				math.Abs(a.DetectedConfidence-b.DetectedConfidence) > 1e-3 || math.Abs(a.Confidence-b.Confidence) > 1e-3 {
				if diffs == 0 {
					t.Errorf("declared %q: two passes %+v, one pass %+v: %.80q", dl, a, b, r.text)
				}
				diffs++
			}
		}
	}
	if diffs > 0 {
		t.Errorf("%d of %d answers differ", diffs, n)
	}
}

// TestLongGate prints, before (4- and 5-grams on every short text) and
// after (only when the trigrams' confidence is below the gate), accuracy on
// the xlmt tweets whole and cut to 4 words and on the hand-written posts
// whole and cut to 3 words, and the share of texts given the 4- and
// 5-grams. The gate was chosen on the train rows:
//
//	EARSHOT_LANG_SPLIT=train EARSHOT_LANG_GATE=0.9,0.99,0.999 go test ./enrich/lang -run TestLongGate$ -v
//	go test ./enrich/lang -run TestLongGate$ -v   # xlmt_val, the gate kept
func TestLongGate(t *testing.T) {
	split := "val"
	if s := os.Getenv("EARSHOT_LANG_SPLIT"); s != "" {
		split = s
	}
	gates := []float64{0, longGate}
	if s := os.Getenv("EARSHOT_LANG_GATE"); s != "" {
		gates = []float64{0}
		for _, f := range strings.Split(s, ",") {
			g, err := strconv.ParseFloat(f, 64)
			if err != nil {
				t.Fatal(err)
			}
			gates = append(gates, g)
		}
	}
	var names []string
	var detects []func(string) string
	var longs []*int
	for _, g := range gates {
		d, err := NewDetector(eight, 0)
		if err != nil {
			t.Fatal(err)
		}
		d.gate = g
		name := fmt.Sprintf("gate %g", g)
		if g == 0 {
			name = "before (no gate)"
		}
		names = append(names, name)
		detects = append(detects, func(s string) string { c, _ := d.Detect(s); return c })
		longs = append(longs, new(int))
	}
	var b strings.Builder
	b.WriteString(shortPostTable(t, split, names, detects))
	full, short := shortPosts(t, split)
	for i, g := range gates {
		d, _ := NewDetector(eight, 0)
		shorts := 0
		for _, set := range [][]labelled{full, short} {
			for _, r := range set {
				isShort, long := needsLong(d, r.text, g)
				if isShort {
					shorts++
				}
				if long {
					*longs[i]++
				}
			}
		}
		fmt.Fprintf(&b, "\n%s: %d of the %d texts of at most %d letters (of %d) given the 4- and 5-grams",
			names[i], *longs[i], shorts, shortLetters, len(full)+len(short))
	}
	posts := loadPosts(t, "testdata/posts.tsv")
	b.WriteString("\n\n| detector | hand-written posts | first 3 words | confident wrong (3 words) |\n|---|---:|---:|---:|\n")
	for _, g := range gates {
		d, err := NewDetector(nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		d.gate = g
		var ok, ok3, wrong3 int
		for _, p := range posts {
			if c, _ := d.Detect(p.text); c == p.lang {
				ok++
			}
			switch c, _ := d.Detect(firstWords(p.text, 3)); c {
			case p.lang:
				ok3++
			case "":
			default:
				wrong3++
			}
		}
		n := float64(len(posts))
		fmt.Fprintf(&b, "| gate %g | %.1f%% | %.1f%% | %.1f%% |\n", g, 100*float64(ok)/n, 100*float64(ok3)/n, 100*float64(wrong3)/n)
	}
	t.Log(b.String())
}

// needsLong reports whether text is short (at least minLetters and at
// most shortLetters letters) and whether d, with the gate g, scores its 4-
// and 5-grams (without a declared language; g 0: every short text).
func needsLong(d *Detector, text string, g float64) (short, long bool) {
	s := Clean(nil, text[:min(len(text), maxScan)])
	letters := 0
	for _, r := range string(s) {
		if unicode.IsLetter(r) {
			letters++
		}
	}
	if letters > d.short || letters < minLetters {
		return false, false
	}
	if g == 0 {
		return true, true
	}
	var a tally
	if !d.read(&a, s, -1, 3) || a.counts[0] == 0 {
		return true, false
	}
	_, sure := d.result(&a, -1)
	return true, sure < g
}

// BenchmarkLongGate times the detector with the gate against the former
// single pass (4- and 5-grams on every short text), alternating in blocks
// on the same texts (see stagetest.BenchPair): the sample posts with their
// declared language, as the stage resolves them, and the xlmt_val tweets
// whole and cut to 4 words.
//
//	go test ./enrich/lang -run '^$' -bench LongGate -benchtime 20000x -count 5
func BenchmarkLongGate(b *testing.B) {
	cur, err := NewDetector(nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	former, err := NewDetector(nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	former.gate = 0
	full, short := shortPosts(b, "val")
	var posts []labelled // declared language, text
	for _, m := range sample.Mentions() {
		posts = append(posts, labelled{m.Lang, m.Text})
	}
	for _, set := range []struct {
		name string
		rows []labelled
	}{{"posts", posts}, {"tweets", full}, {"4words", short}} {
		decl := set.name == "posts"
		b.Run(set.name, func(b *testing.B) {
			run := func(d *Detector) func(k int) {
				return func(k int) {
					r := set.rows[k]
					if decl {
						d.Resolve(r.text, r.lang)
					} else {
						d.Resolve(r.text, "")
					}
				}
			}
			stagetest.BenchPair(b, len(set.rows), run(cur), run(former), "former")
		})
	}
}
