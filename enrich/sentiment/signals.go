package sentiment

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/earshot-dev/earshot/enrich/sentiment/internal/model"
)

// The learned model's lexicon signals (Scorer.Signals) come from a scorer
// that knows a little more than the lexicon scorer does about what posts to
// a brand say, and reads camel-case hashtags as words. The lexicon scorer
// itself (Score, Default) is unchanged, so it stays the baseline that the
// quality report calls "lexicon (previous)".

// signalIdioms are multi-word expressions of customer posts: leaving for a
// competitor, giving up on a product, waiting, product failures and their
// opposite (VADER's -4 … 4 scale). They are kinds of phrase, not posts:
// none names a product or brand.
var signalIdioms = map[string]float64{
	"done with": -1.8, "switching to": -1.5, "going back to": -1.0, "never again": -2.5,
	"took forever": -2.0, "took ages": -1.8, "took weeks": -1.5, "took months": -1.8,
	"took a week": -1.2, "took a month": -1.5, "still waiting": -1.8,
	"class action": -2.0, "gave up": -1.5, "give up": -1.2,
	"no questions asked": 1.5, "you rock": 2.5, "you guys rock": 2.5, "above and beyond": 2.5,
}

// signalWords are product-failure words the VADER lexicon lacks.
var signalWords = map[string]float64{
	"recall": -1.2, "recalled": -1.2, "recalls": -1.2, "bug": -1.2, "bugs": -1.2, "buggy": -2.0,
	"glitch": -1.5, "glitches": -1.5, "glitchy": -1.8, "dropouts": -1.2, "outage": -1.5,
	"unresponsive": -1.5, "overheating": -1.5, "overheats": -1.5,
}

var (
	signalOnce   sync.Once
	signalScorer *Scorer
	signalErr    error
)

// SignalScorer returns the shared scorer whose Signals the learned model is
// trained and run with: the lexicon scorer's lexicon with signalIdioms and
// signalWords added, reading the parts of camel-case hashtags ("#AcmeFail"
// is "Acme Fail"). It panics only if the compiled-in lexicon cannot be read.
func SignalScorer() *Scorer {
	signalOnce.Do(func() {
		lx, err := buildLexicon()
		if err != nil {
			signalErr = err
			return
		}
		for p, v := range signalIdioms {
			lx.idioms[p] = v
			first, _, _ := strings.Cut(p, " ")
			e := lx.words[first]
			e.flags |= fIdiom
			lx.words[first] = e
		}
		for w, v := range signalWords {
			if e, ok := lx.words[w]; !ok || e.flags&fLex == 0 {
				e.val, e.flags = v, e.flags|fLex
				lx.words[w] = e
			}
		}
		signalScorer = newScorer(lx, defaultParams())
		signalScorer.splitTags = true
	})
	if signalErr != nil {
		panic("sentiment: " + signalErr.Error())
	}
	return signalScorer
}

// splitHashtags rewrites camel-case hashtags as their words ("#AcmeFail" →
// "Acme Fail"); text without one is returned as is.
func splitHashtags(text string) string {
	if !strings.Contains(text, "#") {
		return text
	}
	var b strings.Builder
	rest := text
	for {
		i := strings.IndexByte(rest, '#')
		if i < 0 {
			break
		}
		b.WriteString(rest[:i])
		rest = rest[i+1:]
		j := 0
		for j < len(rest) {
			r, n := utf8.DecodeRuneInString(rest[j:])
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
				break
			}
			j += n
		}
		if parts := model.TagParts(rest[:j]); parts != nil {
			b.WriteString(strings.Join(parts, " "))
		} else {
			b.WriteByte('#')
			b.WriteString(rest[:j])
		}
		rest = rest[j:]
	}
	b.WriteString(rest)
	return b.String()
}

// SignalPhrases calls f with each phrase and word that SignalScorer adds to
// the lexicon, and its valence (the trainer uses them as examples, as it
// does the lexicon's words).
func SignalPhrases(f func(phrase string, valence float64)) {
	for p, v := range signalIdioms {
		f(p, v)
	}
	for w, v := range signalWords {
		f(w, v)
	}
}
