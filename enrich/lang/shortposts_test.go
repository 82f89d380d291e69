package lang

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/earshot-dev/earshot/enrich/internal/evaldata"
)

// eight are the languages of the sentiment data, whose tweets (xlmt) are
// the short-post language-ID set.
var eight = []string{"ar", "de", "en", "es", "fr", "hi", "it", "pt"}

// shortPosts returns the xlmt tweets of split ("train": development rows;
// "val": the reported rows) as labelled posts: the whole tweet, and its
// first 4 words.
func shortPosts(t testing.TB, split string) (full, short []labelled) {
	t.Helper()
	dir := evaldata.DirOrSkip(t)
	rows, err := evaldata.XLMT(dir, split)
	if err != nil {
		t.Fatalf("XLMT(%s): %v", split, err)
	}
	hi := 0
	for _, r := range rows {
		if r.Lang == "hi" {
			hi++
			if os.Getenv("EARSHOT_LANG_ODD_HI") != "" && hi%2 == 1 {
				continue // built the development table (hinglishgen -even)
			}
		}
		var words []string
		for _, w := range strings.Fields(r.Text) {
			if w == "RT" || strings.HasPrefix(w, "@") || strings.HasPrefix(w, "http") {
				continue
			}
			words = append(words, w)
		}
		full = append(full, labelled{r.Lang, strings.Join(words, " ")})
		short = append(short, labelled{r.Lang, firstWords(strings.Join(words, " "), 4)})
	}
	return full, short
}

type idScore struct {
	n, ok, und, wrong map[string]int
}

func scoreID(rows []labelled, detect func(string) string) idScore {
	s := idScore{map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}}
	for _, r := range rows {
		got := detect(r.text)
		s.n[r.lang]++
		switch got {
		case r.lang:
			s.ok[r.lang]++
		case "":
			s.und[r.lang]++
		default:
			s.wrong[r.lang]++
		}
	}
	return s
}

func (s idScore) acc(lang string) float64 {
	if lang == "" {
		var ok, n int
		for _, l := range eight {
			ok += s.ok[l]
			n += s.n[l]
		}
		return float64(ok) / float64(n)
	}
	return float64(s.ok[lang]) / float64(s.n[lang])
}

func (s idScore) wrongShare() float64 {
	var w, n int
	for _, l := range eight {
		w += s.wrong[l]
		n += s.n[l]
	}
	return float64(w) / float64(n)
}

func shortPostTable(t testing.TB, split string, names []string, detects []func(string) string) string {
	full, short := shortPosts(t, split)
	var b strings.Builder
	fmt.Fprintf(&b, "\n| detector | set | all |")
	for _, l := range eight {
		fmt.Fprintf(&b, " %s |", l)
	}
	b.WriteString(" confident wrong |\n|---|---|---:|" + strings.Repeat("---:|", len(eight)+1) + "\n")
	for i, d := range detects {
		for _, set := range []struct {
			name string
			rows []labelled
		}{{"tweet", full}, {"first 4 words", short}} {
			s := scoreID(set.rows, d)
			fmt.Fprintf(&b, "| %s | %s | %.1f%% |", names[i], set.name, 100*s.acc(""))
			for _, l := range eight {
				fmt.Fprintf(&b, " %.1f%% |", 100*s.acc(l))
			}
			fmt.Fprintf(&b, " %.1f%% |\n", 100*s.wrongShare())
		}
	}
	return b.String()
}

// TestShortPosts prints language-ID accuracy on the xlmt_val tweets of the
// eight sentiment languages, whole and cut to 4 words:
//
//	go test ./enrich/lang -run TestShortPosts -v
func TestShortPosts(t *testing.T) {
	d, err := NewDetector(eight, 0)
	if err != nil {
		t.Fatal(err)
	}
	split := "val"
	if s := os.Getenv("EARSHOT_LANG_SPLIT"); s != "" {
		split = s // "train": the development rows
	}
	t.Log(shortPostTable(t, split, []string{"earshot"}, []func(string) string{
		func(s string) string { c, _ := d.Detect(s); return c },
	}))
}
