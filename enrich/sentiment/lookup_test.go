package sentiment

import (
	"testing"

	"github.com/earshot-dev/earshot/enrich/internal/evaldata"
)

// TestRecentLookupAsLookup checks that the table of recent words answers
// as the lexicon lookup does, for every word of the GoEmotions dev comments
// (most words twice or more, so from the table) and of the test posts, in
// both scorers, with and without elongation.
func TestRecentLookupAsLookup(t *testing.T) {
	texts := append([]string{"sooo goooood", "gooood", "happily", "don't", "ain't", "Finalllly!", "kinda sorta", "ab ba"}, fallbackPosts...)
	if d, err := evaldata.Dir(); err == nil {
		ge, err := evaldata.GoEmotionsDev(d)
		if err != nil {
			t.Fatalf("GoEmotionsDev: %v", err)
		}
		for _, c := range ge {
			texts = append(texts, c.Text)
		}
	}
	for _, s := range []*Scorer{Default(), SignalScorer()} {
		sc := s.pool.New().(*scratch)
		tok := s.pool.New().(*scratch)
		words, hits := 0, 0
		for _, text := range texts {
			s.tokenize(tok, text)
			for i := range tok.toks {
				tk := &tok.toks[i]
				if tk.kind != kWord {
					continue
				}
				w := append([]byte(nil), tok.word(tk)...)
				for _, elong := range []bool{tk.elong, !tk.elong} {
					we, wok := s.lookup(sc, w, elong)
					ge, gok := s.lookupRecent(sc, w, elong)
					if ge != we || gok != wok {
						t.Fatalf("lookupRecent(%q, elong %v) = %+v, %v; lookup = %+v, %v", w, elong, ge, gok, we, wok)
					}
					words++
					if again, _ := s.lookupRecent(sc, w, elong); again == we {
						hits++
					}
				}
			}
		}
		if words < 100 || hits != words {
			t.Errorf("%d words looked up, %d answered again as looked up", words, hits)
		}
	}
}
