package lang

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/earshot-dev/earshot/enrich/internal/stagetest"
)

// The 4- and 5-grams were looked up in table.long (a hashIndex of 16-byte
// slots, 2^21 of them); they are now in table.lidx (see compactLong). formerTallyWords is tallyWords as it was (commit 3846bfd),
// word for word, run on a table built as it was (parseTableLayout, without
// compactLong), so the tests below compare the two layouts on every text.

var (
	formerOnce  sync.Once
	formerTable *table
	formerErr   error
)

func loadFormerTable() (*table, error) {
	formerOnce.Do(func() {
		formerTable, formerErr = parseTableLayout(ngramsGz)
		if formerErr == nil {
			formerErr = formerTable.addLatinHindi(hinglishGz)
		}
	})
	return formerTable, formerErr
}

// formerTallyWords is the scorer of commit 3846bfd.
func formerTallyWords(d *Detector, a *tally, s []byte, top int) {
	t := d.t
	sum := &a.sum
	var w [maxOrder]rune // the last runes of the current word, w[4] the latest
	wn := 0              // runes of the current word so far
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
		w[0], w[1], w[2], w[3], w[4] = w[1], w[2], w[3], w[4], r
		wn++
		order := min(wn, top)
		a.counts[order-1]++
		floorPen := backoffPenalty * float32(order-1)
		a.penSum += floorPen
		hi0 := sum[t.hi]
		lat := [3]float32{noLatin, noLatin, noLatin} // romanised Hindi, by order
		key := uint64(r)
		for o := 1; o <= order; o++ {
			idx := &t.index
			switch o {
			case 2:
				key |= uint64(w[3]) << 21
			case 3:
				key |= uint64(w[2]) << 42
			case 4:
				key = extendKey(key, w[1])
				idx = &t.long
			case 5:
				key = extendKey(key, w[0])
				idx = &t.long
			}
			sl := idx.find(key)
			if sl == nil {
				if o >= 3 {
					break // no longer n-gram has this one as its suffix (see table.long)
				}
				continue
			}
			if o <= 3 {
				lat[o-1] = sl.lat
			}
			v := sl.val
			rel := t.prel[v>>8 : v>>8+v&0xff]
			lg := t.plang[v>>8:][:len(rel)]
			for i, x := range rel {
				sum[lg[i]] += x // in the postings' order, as before the split: bit-identical sums
			}
		}
		if r < 0x900 || r > 0x97f {
			hiVal := t.floor[0][t.hi] - floorPen + sum[t.hi] - hi0
			sum[t.hi] += t.latinLogP(&lat, order) - latinPenalty - hiVal
		}
	}
}

// formerDetector is a detector on the former table and scorer.
func formerDetector(t testing.TB) *Detector {
	t.Helper()
	ft, err := loadFormerTable()
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDetector(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	d.t = ft
	d.ref = formerTallyWords
	d.gate = 0 // the single pass of the time (the former table has no lidx)
	return d
}

// TestLongIndexKeys: every 4- and 5-gram of the former index is in the
// new one with the same value (its postings' offset and count), and the
// new one holds no other key and is at most 3/4 full.
func TestLongIndexKeys(t *testing.T) {
	ft, err := loadFormerTable()
	if err != nil {
		t.Fatal(err)
	}
	nt, err := loadTable()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range ft.long.slots {
		if s.key == 0 {
			continue
		}
		n++
		if v, ok := nt.lidx.get(s.key); !ok || v != s.val {
			t.Fatalf("key %#x: new index %v %#x, former %#x", s.key, ok, v, s.val)
		}
	}
	m := 0
	for _, s := range nt.lidx.slots {
		if s.hi != 0 {
			m++
		}
	}
	if m != n || n == 0 {
		t.Errorf("new index holds %d keys, the former %d", m, n)
	}
	if 4*m > 3*len(nt.lidx.slots) {
		t.Errorf("new index %d of %d slots full; want at most 3/4", m, len(nt.lidx.slots))
	}
}

// TestLongIndexBitIdentical checks that the new layout changes no answer:
// on every evaluation text (see evalTexts) and every whole xlmt tweet cut
// to 1 to 6 words, without a declared language, and on every 4th with the
// right one and with a wrong one, the detector gives the language and
// confidence the former layout and scorer give, bit for bit, and the same
// tally with 4- and 5-grams (top 5) on every text's scan.
//
//	go test ./enrich/lang -run TestLongIndexBitIdentical -v
func TestLongIndexBitIdentical(t *testing.T) {
	cur, err := NewDetector(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	cur.gate = 0 // 4- and 5-grams on every short text, as then (see TestLongGateAlways)
	prev := formerDetector(t)
	texts := evalTexts(t)
	for _, split := range []string{"train", "val"} {
		full, _ := shortPosts(t, split)
		for _, r := range full {
			for k := 1; k <= 6; k++ {
				texts = append(texts, labelled{r.lang, firstWords(r.text, k)})
			}
		}
	}
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
						continue
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
		t.Errorf("%d of %d answers differ from the former layout's; first: %s", len(diffs), answers.Load(), diffs[0])
	}

	tallyDiffs := 0
	for _, r := range append(texts, labelled{"en", strings.Repeat("abcde", 100)}) {
		s := Clean(nil, r.text[:min(len(r.text), maxScan)])
		var got, want tally
		cur.tallyWords(&got, s, maxOrder)
		formerTallyWords(prev, &want, s, maxOrder)
		if got != want {
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

// BenchmarkLongIndex times the scorer with 4- and 5-grams (top 5) on the
// xlmt_val tweets whole and cut to 4 words, cleaned beforehand: the former
// layout and scorer beside the current ones, in the same process. Compare
// the two in the same run:
//
//	go test ./enrich/lang -run '^$' -bench LongIndex -benchtime 20000x -count 5
func BenchmarkLongIndex(b *testing.B) {
	cur, err := NewDetector(nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	prev := formerDetector(b)
	full, short := shortPosts(b, "val")
	for _, set := range []struct {
		name string
		rows []labelled
	}{{"tweets", full}, {"4words", short}} {
		var texts [][]byte
		for _, r := range set.rows {
			texts = append(texts, Clean(nil, r.text[:min(len(r.text), maxScan)]))
		}
		for _, sc := range []struct {
			name string
			f    func(a *tally, s []byte)
		}{
			{"former", func(a *tally, s []byte) { formerTallyWords(prev, a, s, maxOrder) }},
			{"new", func(a *tally, s []byte) { cur.tallyWords(a, s, maxOrder) }},
			{"trigrams", func(a *tally, s []byte) { cur.tallyWords(a, s, 3) }},
		} {
			b.Run(set.name+"/"+sc.name, func(b *testing.B) {
				var a tally
				c := stagetest.StartCPU(b)
				for i := 0; i < b.N; i++ {
					a = tally{}
					sc.f(&a, texts[i%len(texts)])
				}
				c.Stop(b)
			})
		}
	}
}
