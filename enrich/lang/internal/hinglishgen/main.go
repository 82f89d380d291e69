// Command hinglishgen builds the romanised-Hindi character n-gram table of
// the lang stage (hinglish.tsv.gz): lingua-go's Hindi model knows only
// Devanagari, but Hindi on social media is mostly written in Latin letters.
// It counts, in the Hindi tweets of ../shared/data/sentiment-train/xlmt_train.tsv
// (cleaned as the detector cleans text), the unigrams, and the bigrams and
// trigrams inside words, and writes their conditional log-probabilities:
//
//	go run ./enrich/lang/internal/hinglishgen -out enrich/lang/hinglish.tsv.gz
//
// The output depends only on the data (sorted, no randomness).
package main

import (
	"compress/gzip"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"sort"
	"unicode"
	"unicode/utf8"

	"github.com/earshot-dev/earshot/enrich/internal/evaldata"
	"github.com/earshot-dev/earshot/enrich/lang"
)

// minCount is the fewest occurrences an n-gram needs to be kept; keep are
// the most n-grams kept per order (as the lingua-derived table: 200/800/2500).
const minCount = 3

var keep = [3]int{200, 800, 2500}

func main() {
	out := flag.String("out", "enrich/lang/hinglish.tsv.gz", "file to write")
	even := flag.Bool("even", false, "use only the even Hindi rows (to tune the detector on the odd ones)")
	flag.Parse()
	log.SetFlags(0)
	dir, err := evaldata.Dir()
	if err != nil {
		log.Fatal(err)
	}
	rows, err := evaldata.XLMT(dir, "train")
	if err != nil {
		log.Fatal(err)
	}
	var counts [3]map[string]int
	for i := range counts {
		counts[i] = map[string]int{}
	}
	prefix := [3]map[string]int{{}, {}, {}} // count of the context of each order
	var buf []byte
	texts, hi := 0, 0
	for _, r := range rows {
		if r.Lang != "hi" {
			continue
		}
		hi++
		if *even && hi%2 == 0 {
			continue
		}
		texts++
		buf = lang.Clean(buf[:0], r.Text)
		var w []rune
		flush := func() {
			for i := range w {
				counts[0][string(w[i:i+1])]++
				prefix[0][""]++
				if i >= 1 {
					counts[1][string(w[i-1:i+1])]++
					prefix[1][string(w[i-1:i])]++
				}
				if i >= 2 {
					counts[2][string(w[i-2:i+1])]++
					prefix[2][string(w[i-2:i])]++
				}
			}
			w = w[:0]
		}
		for i := 0; i < len(buf); {
			c, n := utf8.DecodeRune(buf[i:])
			i += n
			if unicode.IsMark(c) {
				continue
			}
			if c == ' ' || c == '\'' {
				flush()
				continue
			}
			w = append(w, c)
		}
		flush()
	}
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	fmt.Fprintf(zw, "# romanised Hindi n-grams from %d xlmt_train tweets: order, n-gram, ln P(last rune | the runes before)\n", texts)
	for o := 0; o < 3; o++ {
		type ng struct {
			s string
			n int
		}
		var list []ng
		for s, n := range counts[o] {
			if n >= minCount {
				list = append(list, ng{s, n})
			}
		}
		sort.Slice(list, func(i, j int) bool {
			if list[i].n != list[j].n {
				return list[i].n > list[j].n
			}
			return list[i].s < list[j].s
		})
		if len(list) > keep[o] {
			list = list[:keep[o]]
		}
		for _, g := range list {
			ctx := ""
			if o > 0 {
				r := []rune(g.s)
				ctx = string(r[:len(r)-1])
			}
			lp := math.Log(float64(g.n) / float64(prefix[o][ctx]))
			fmt.Fprintf(zw, "%d\t%s\t%.2f\n", o+1, g.s, lp)
		}
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s from %d tweets", *out, texts)
}
