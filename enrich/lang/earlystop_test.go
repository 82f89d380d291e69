package lang

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/earshot-dev/earshot/enrich/internal/stagetest"
)

// longTexts joins the xlmt tweets of split, per language, into texts of
// about 1 KB (articles), starting every 5th tweet: the long-text check,
// from tweets nobody tuned on when split is "val".
func longTexts(t testing.TB, split string) []labelled {
	t.Helper()
	full, _ := shortPosts(t, split)
	by := map[string][]string{}
	for _, r := range full {
		by[r.lang] = append(by[r.lang], r.text)
	}
	var out []labelled
	for _, l := range eight {
		texts := by[l]
		for start := 0; start < len(texts); start += 5 {
			var b strings.Builder
			for i := start; b.Len() < 1000; i++ {
				b.WriteString(texts[i%len(texts)])
				b.WriteString(" ")
			}
			out = append(out, labelled{l, strings.TrimSpace(b.String())})
		}
	}
	return out
}

// TestEarlyStopAgrees checks that stopping once the lead is safe (the
// default) gives the answers reading the whole scan gives: on whole
// tweets, on ~1 KB texts of joined tweets and on the hand-written posts,
// without and with a (right or wrong) declared language.
//
//	go test ./enrich/lang -run TestEarlyStopAgrees -v
func TestEarlyStopAgrees(t *testing.T) {
	split := "val"
	if s := os.Getenv("EARSHOT_LANG_SPLIT"); s != "" {
		split = s // "train": the development rows
	}
	early, err := NewDetector(eight, 0)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := NewDetector(eight, 0)
	if err != nil {
		t.Fatal(err)
	}
	whole.stop = 0
	tweets, _ := shortPosts(t, split)
	sets := []struct {
		name string
		rows []labelled
	}{
		{split + " tweets", tweets},
		{split + " ~1 KB texts", longTexts(t, split)},
		{"hand-written posts", append(loadPosts(t, "testdata/posts.tsv"), loadPosts(t, "testdata/other.tsv")...)},
	}
	var b strings.Builder
	b.WriteString("\n| set | texts | declared | same answer | right, whole scan | right, early stop | largest confidence change |\n|---|---:|---|---:|---:|---:|---:|\n")
	for _, set := range sets {
		for _, decl := range []string{"none", "right", "wrong"} {
			same, rightW, rightE := 0, 0, 0
			var worst float64
			for i, r := range set.rows {
				declared := ""
				switch decl {
				case "right":
					declared = r.lang
				case "wrong":
					declared = eight[(i+1)%len(eight)]
					if declared == r.lang {
						declared = "nl"
					}
				}
				w, e := whole.Resolve(r.text, declared), early.Resolve(r.text, declared)
				if w.Lang == e.Lang && w.Detected == e.Detected {
					same++
				} else if testing.Verbose() && len(set.rows) < 5000 {
					t.Logf("%s, declared %q: whole %+v, early %+v: %q", set.name, declared, w, e, r.text)
				}
				if w.Lang == r.lang {
					rightW++
				}
				if e.Lang == r.lang {
					rightE++
				}
				worst = max(worst, math.Abs(w.Confidence-e.Confidence), math.Abs(w.DetectedConfidence-e.DetectedConfidence))
			}
			n := len(set.rows)
			fmt.Fprintf(&b, "| %s | %d | %s | %.2f%% | %d | %d | %.1e |\n", set.name, n, decl,
				100*float64(same)/float64(n), rightW, rightE, worst)
			if float64(same) < 0.999*float64(n) || rightE < rightW {
				t.Errorf("%s, declared %s: early stop gives the whole scan's answer on %d of %d, right on %d (whole scan %d); want at least 99.9%% the same and no fewer right",
					set.name, decl, same, n, rightE, rightW)
			}
		}
	}
	t.Log(b.String())
}

// BenchmarkDetectLength times Detect with early stopping (the default)
// and reading the whole scan, alternately on the same texts: whole tweets
// and ~1 KB texts. Compare the two in the same run:
//
//	go test ./enrich/lang -run '^$' -bench DetectLength -count 3
func BenchmarkDetectLength(b *testing.B) {
	early, err := NewDetector(eight, 0)
	if err != nil {
		b.Fatal(err)
	}
	whole, err := NewDetector(eight, 0)
	if err != nil {
		b.Fatal(err)
	}
	whole.stop = 0
	tweets, _ := shortPosts(b, "val")
	long := longTexts(b, "val")
	for _, set := range []struct {
		name string
		rows []labelled
	}{{"tweets", tweets}, {"1KB", long}} {
		for _, d := range []struct {
			name string
			d    *Detector
		}{{"early", early}, {"whole", whole}} {
			b.Run(set.name+"/"+d.name, func(b *testing.B) {
				b.ReportAllocs()
				c := stagetest.StartCPU(b)
				for i := 0; i < b.N; i++ {
					d.d.Detect(set.rows[i%len(set.rows)].text)
				}
				c.Stop(b)
			})
		}
	}
}

// TestReadCoversEveryWord: read's chunks, in their spread order, cover
// every word of the scan exactly once: with a lead that is never safe, it
// tallies what reading the scan in order tallies (the same n-gram counts,
// the same sums up to float rounding), on texts with long words, no
// spaces, apostrophes, multi-byte letters and chunk-sized pieces.
func TestReadCoversEveryWord(t *testing.T) {
	d, err := NewDetector(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	d.stop = 1e9 // never safe: read every chunk
	texts := []string{
		strings.Repeat("a", 600),
		strings.Repeat("abcdefgh ", 70),
		strings.Repeat("l'été à paris c'est très beau ", 20),
		strings.Repeat("x", chunkBytes-1) + " " + strings.Repeat("y", chunkBytes) + " " + strings.Repeat("z", 3*chunkBytes),
		strings.Repeat("Привет мир ", 40),
		strings.Repeat("नमस्ते दुनिया ", 30),
	}
	for _, p := range loadPosts(t, "testdata/posts.tsv") {
		texts = append(texts, strings.Repeat(p.text+" ", 6))
	}
	for _, text := range texts {
		s := Clean(nil, text[:min(len(text), maxScan)])
		for _, top := range []int{3, maxOrder} {
			var got, want tally
			d.read(&got, s, -1, top)
			d.tallyWords(&want, s, top)
			if got.counts != want.counts || math.Abs(float64(got.penSum-want.penSum)) > 1e-2 {
				t.Fatalf("read(%.40q…, top %d) counts %v, penalties %v; reading in order: %v, %v", s, top, got.counts, got.penSum, want.counts, want.penSum)
			}
			for l := range d.t.codes {
				if diff := math.Abs(float64(got.sum[l] - want.sum[l])); diff > 1e-2*max(1, math.Abs(float64(want.sum[l]))/100) {
					t.Fatalf("read(%.40q…, top %d) sum[%s] = %v; reading in order: %v", s, top, d.t.codes[l], got.sum[l], want.sum[l])
				}
			}
		}
	}
}
