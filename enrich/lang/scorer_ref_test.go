package lang

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/earshot-dev/earshot/enrich/internal/evaldata"
)

// The scorer's postings were an array of structs (posting: rel, lang);
// they are now two arrays (table.plang, table.prel). refTallyWords is
// tallyWords as it was, reading the postings as structs rebuilt from the
// table, so the tests below compare the two scorers on every text.

var (
	refPostsOnce sync.Once
	refPostsArr  []posting
)

func refPosts(t *table) []posting {
	refPostsOnce.Do(func() {
		refPostsArr = make([]posting, len(t.prel))
		for i := range refPostsArr {
			refPostsArr[i] = posting{rel: t.prel[i], lang: t.plang[i]}
		}
	})
	return refPostsArr
}

// refTallyWords is the scorer before the postings were split (commit
// 2e0c6c8), word for word but for where it reads the postings.
func refTallyWords(d *Detector, a *tally, s []byte, _ int) {
	t := d.t
	posts := refPosts(t)
	sum := &a.sum
	var w [3]rune // the last runes of the current word
	wn := 0       // runes of the current word so far
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRune(s[i:])
		}
		i += n
		if r >= utf8.RuneSelf && unicode.IsMark(r) {
			continue // a combining accent of a decomposed letter
		}
		if r == ' ' || r == '\'' {
			wn = 0
			continue
		}
		w[0], w[1], w[2] = w[1], w[2], r
		wn++
		order := min(wn, 3)
		a.counts[order-1]++
		// The n-gram's log-probability per language, backing off to the
		// shorter n-gram ending at the same rune when a language's table
		// lacks it (each step back costs backoffPenalty): a table keeps
		// only each language's most frequent n-grams, so a missing trigram
		// says little, and the bare floor would let small, flat tables
		// (Danish, Welsh, Zulu) win texts with rare words or brand names.
		// Every language is first given the floor for this rune (added for
		// all runes at once by score); a language with the n-gram, or a
		// shorter one, gets the difference.
		floorPen := backoffPenalty * float32(order-1)
		a.penSum += floorPen
		// A posting's rel is what its language gains over its floor (the
		// backoff steps are counted in floorPen), and a bigram's or
		// trigram's rel is relative to the language's n-gram one order
		// down (see table.chain): adding the rune's unigram, bigram and
		// trigram postings leaves each language with its longest n-gram.
		hi0 := sum[t.hi]
		lat := [3]float32{noLatin, noLatin, noLatin} // romanised Hindi, by order
		for o := 1; o <= order; o++ {
			var key uint64
			switch o {
			case 1:
				key = uint64(r)
			case 2:
				key = uint64(w[1])<<21 | uint64(r)
			default:
				key = uint64(w[0])<<42 | uint64(w[1])<<21 | uint64(r)
			}
			sl := t.index.find(key)
			if sl == nil {
				continue
			}
			lat[o-1] = sl.lat
			v := sl.val
			for _, p := range posts[v>>8 : v>>8+v&0xff] {
				sum[p.lang] += p.rel
			}
		}
		// Hindi scores the text as Devanagari (lingua's model) or as
		// romanised Hindi, whichever the rune is written in.
		if r < 0x900 || r > 0x97f {
			// What Hindi's table gave this rune: the floor, raised by
			// what the loop above added.
			hiVal := t.floor[0][t.hi] - floorPen + sum[t.hi] - hi0
			sum[t.hi] += t.latinLogP(&lat, order) - latinPenalty - hiVal
		}
	}
}

// evalTexts are the texts the scorer is checked on: every xlmt
// tweet (train and val, whole and cut to 4 words), the ~1 KB texts of
// joined tweets, the VADER snippets, the GoEmotions dev comments and the
// hand-written posts.
func evalTexts(t testing.TB) []labelled {
	t.Helper()
	var out []labelled
	for _, split := range []string{"train", "val"} {
		full, short := shortPosts(t, split)
		out = append(append(append(out, full...), short...), longTexts(t, split)...)
	}
	dir, err := evaldata.Dir()
	if err != nil {
		t.Fatalf("evaldata.Dir: %v", err)
	}
	for _, f := range []string{"movieReviewSnippets_GroundTruth.txt", "amazonReviewSnippets_GroundTruth.txt", "nytEditorialSnippets_GroundTruth.txt"} {
		rows, err := evaldata.VADER(dir, f)
		if err != nil {
			t.Fatalf("VADER(%s): %v", f, err)
		}
		for _, r := range rows {
			out = append(out, labelled{"en", r.Text})
		}
	}
	comments, err := evaldata.GoEmotionsDev(dir)
	if err != nil {
		t.Fatalf("GoEmotionsDev: %v", err)
	}
	for _, c := range comments {
		out = append(out, labelled{"en", c.Text})
	}
	return append(append(out, loadPosts(t, "testdata/posts.tsv")...), loadPosts(t, "testdata/other.tsv")...)
}

// sameResult reports whether two results are bit for bit the same.
func sameResult(a, b Result) bool {
	return a.Detected == b.Detected && a.Lang == b.Lang &&
		math.Float64bits(a.DetectedConfidence) == math.Float64bits(b.DetectedConfidence) &&
		math.Float64bits(a.Confidence) == math.Float64bits(b.Confidence)
}

// declFor is the declared language of text i: none, its own, or another.
func declFor(decl, lang string, i int) string {
	switch decl {
	case "right":
		return lang
	case "wrong":
		d := eight[(i+1)%len(eight)]
		if d == lang {
			d = "nl"
		}
		return d
	}
	return ""
}

// TestScorerBitIdentical checks that the current scorer changes no
// answer: on every evaluation text (see evalTexts) without a declared
// language, and on every 4th with the right one and with a wrong one, the detector gives
// the language and confidence, bit for bit, that it gives with the
// previous scorer (refTallyWords), and its tally of every text's words
// (each language's sum, the n-gram counts, the penalties) is the previous
// scorer's, bit for bit. Two goroutines share the detector, as the
// enrich workers do.
//
//	go test ./enrich/lang -run TestScorerBitIdentical -v
func TestScorerBitIdentical(t *testing.T) {
	cur, err := NewDetector(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	prev, err := NewDetector(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	prev.ref = refTallyWords
	// The previous scorer read n-grams of up to 3 runes; the current one
	// reads the same with 4- and 5-grams off (as on texts longer than
	// shortLetters).
	cur.short, prev.short = -1, -1
	texts := evalTexts(t)
	decls := []string{"", "right", "wrong"}
	const workers = 2
	var mu sync.Mutex
	var diffs []string
	var answers atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(texts); i += workers {
				r := texts[i]
				for k, decl := range decls {
					if k > 0 && i%4 != 0 {
						continue // declared right or wrong: every 4th text (the test's time)
					}
					d := declFor(decl, r.lang, i)
					answers.Add(1)
					if got, want := cur.Resolve(r.text, d), prev.Resolve(r.text, d); !sameResult(got, want) {
						mu.Lock()
						diffs = append(diffs, fmt.Sprintf("declared %q: now %+v, before %+v: %.80q", d, got, want, r.text))
						mu.Unlock()
					}
				}
			}
		})
	}
	wg.Wait()
	if len(diffs) > 0 {
		t.Errorf("%d of %d answers differ from the previous scorer's; first: %s", len(diffs), answers.Load(), diffs[0])
	}

	// The tallies themselves, on each text's scan read in order.
	tallyDiffs := 0
	for _, r := range texts {
		s := Clean(nil, r.text[:min(len(r.text), maxScan)])
		var got, want tally
		cur.tallyWords(&got, s, 3)
		refTallyWords(prev, &want, s, 3)
		same := got.counts == want.counts && math.Float32bits(got.penSum) == math.Float32bits(want.penSum)
		for l := range cur.t.codes {
			same = same && math.Float32bits(got.sum[l]) == math.Float32bits(want.sum[l])
		}
		if !same {
			if tallyDiffs == 0 {
				t.Errorf("tally of %.80q: now %v, before %v", s, got.sum[:len(cur.t.codes)], want.sum[:len(cur.t.codes)])
			}
			tallyDiffs++
		}
	}
	if tallyDiffs > 0 {
		t.Errorf("the tally differs on %d of %d texts", tallyDiffs, len(texts))
	}
	t.Logf("%d texts, %d answers each way", len(texts), answers.Load())
}

// TestScorerBitIdenticalEdges: the same on texts the evaluation sets may
// lack: long words, no spaces, apostrophes, decomposed accents,
// Devanagari, Cyrillic.
func TestScorerBitIdenticalEdges(t *testing.T) {
	d, err := NewDetector(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{
		strings.Repeat("a", 600),
		"l'été à paris c'est très beau",
		"e\u0301te\u0301 cafe\u0301 nai\u0308ve",
		"नमस्ते दुनिया, आप कैसे हैं",
		"Привет мир, как дела",
		"supercalifragilisticexpialidocious antidisestablishmentarianism",
		"yeh movie bahut achhi thi yaar, must watch",
	}
	for _, text := range texts {
		s := Clean(nil, text)
		var got, want tally
		d.tallyWords(&got, s, 3)
		refTallyWords(d, &want, s, 3)
		if got != want {
			t.Errorf("tally of %.60q: now %v, before %v", s, got.sum[:len(d.t.codes)], want.sum[:len(d.t.codes)])
		}
	}
}
