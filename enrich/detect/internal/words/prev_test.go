package words

// TermsN as it was before session 6's changes (FieldsSeq, a Go map of
// stopwords, strings.ToLower before the lookups), kept so that tests and
// BenchmarkTermsVsPrevious compare the current code with it.

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/earshot-dev/earshot/enrich/internal/evaldata"
	"github.com/earshot-dev/earshot/enrich/internal/sample"
	"github.com/earshot-dev/earshot/enrich/internal/stagetest"
)

// prevIsWord is isWord as package unicode answers it.
func prevIsWord(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// prevTermsN is TermsN before session 6: Terms with at most n (at most MaxTerms) terms: the first n of
// Terms, found without reading the texts further.
func prevTermsN(dst []string, n int, texts ...string) []string {
	n = min(n, MaxTerms)
	start := len(dst)
	for _, text := range texts {
		for chunk := range strings.FieldsSeq(text) {
			if len(dst)-start >= n {
				return dst
			}
			if prevSkipChunk(chunk) {
				continue
			}
			dst = prevAppendTokens(dst, start, n, chunk)
		}
	}
	return dst
}

// prevSkipChunk is skipChunk as it was.
func prevSkipChunk(c string) bool {
	switch c[0] {
	case '@', '#', '$':
		return true
	}
	return strings.Contains(c, "://") || strings.HasPrefix(c, "www.")
}

func prevAppendTokens(dst []string, start, limit int, chunk string) []string {
	i := 0
	for i < len(chunk) {
		// Skip to the next letter or digit.
		if c := chunk[i]; c < utf8.RuneSelf {
			if !prevIsASCIIWord(c) {
				i++
				continue
			}
		} else if r, n := utf8.DecodeRuneInString(chunk[i:]); !prevIsWord(r) {
			i += n
			continue
		}
		// ASCII runes take the fast path; upper and apos say whether the
		// token needs lower-casing and apostrophe handling at all.
		j, runes, letters := i, 0, 0
		upper, apos := false, false
	scan:
		for j < len(chunk) {
			if c := chunk[j]; c < utf8.RuneSelf {
				switch {
				case 'a' <= c && c <= 'z':
					letters++
				case 'A' <= c && c <= 'Z':
					letters++
					upper = true
				case '0' <= c && c <= '9':
				case c == '\'':
					apos = true
					j++
					continue
				default:
					break scan
				}
				runes++
				j++
				continue
			}
			r, n := utf8.DecodeRuneInString(chunk[j:])
			switch {
			case r == '’':
				apos = true
			case prevIsWord(r):
				runes++
				if unicode.IsLetter(r) {
					letters++
				}
				upper = true // let ToLower decide
			default:
				break scan
			}
			j += n
		}
		tok := chunk[i:j]
		i = j
		if runes < MinRunes || runes > MaxRunes || letters == 0 {
			continue
		}
		if apos {
			tok = strings.TrimRight(tok, "'’")
		}
		if upper {
			tok = strings.ToLower(tok)
		}
		if apos {
			if prevStop[strings.ReplaceAll(tok, "’", "'")] {
				continue
			}
			if k := strings.IndexAny(tok, "'’"); k > 0 {
				// "acme's" counts as "acme"; "don't" is a stopword either way.
				tok = tok[:k]
				if utf8.RuneCountInString(tok) < MinRunes {
					continue
				}
			}
		}
		if prevStop[tok] || prevContainsFrom(dst, start, tok) {
			continue
		}
		dst = append(dst, tok)
		if len(dst)-start >= limit {
			return dst
		}
	}
	return dst
}

// prevStop is stop as a Go map; it holds function words of English, Spanish, French, German and
// Portuguese that are at least MinRunes long; they say nothing about what
// moved.
var prevStop = func() map[string]bool {
	m := map[string]bool{}
	for _, list := range []string{
		// English
		`the and for are but not you all any can had her was one our out has him his how its may new now old see two who boy did get let put say she too use
		that with have this will your from they been were said each which their what there when them than then these some would make like into time more
		very just also only over such here most even much well back after other many those where while about could should because being does doing done
		don't can't won't isn't aren't wasn't didn't doesn't i'm i've it's you're we're they're let's what's there's
		him her hers his its our ours their theirs yours myself yourself itself ourselves themselves
		am is be an as at by if in it of on or so to up us we me my no do go he oh ok
		via amp rt lol get got gets going went come came really still yet ever never always again today yesterday tomorrow`,
		// Spanish
		`que los las del por con una para como más pero sus les muy sin sobre este esta entre cuando todo también hasta desde
		donde quien porque está están ser fue son hay era tiene mis tus nos ese eso esa`,
		// French
		`les des une est pas pour qui que dans par sur avec plus tout mais ont sont ces son ses aux été être fait comme nous vous
		elle ils leur cette très sans aussi`,
		// German
		`der die und den das dem des ein eine einer eines ist nicht sich mit auf für von auch als wie bei nach aus noch wird sind
		hat haben oder aber wenn nur vor zum zur über sie ihr ich wir`,
		// Portuguese
		`não uma com para por mais dos das como mas foi ele ela seu sua ou quando muito nos já está também só pelo pela até isso
		entre depois sem mesmo aos seus quem nas esse essa`,
	} {
		for w := range strings.FieldsSeq(list) {
			if utf8.RuneCountInString(w) >= MinRunes {
				m[w] = true
			}
		}
	}
	return m
}()

func prevContainsFrom(xs []string, start int, x string) bool {
	for _, v := range xs[start:] {
		if v == x {
			return true
		}
	}
	return false
}

func prevIsASCIIWord(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// articleTexts builds ~1 KB articles (title, text) from the sample posts as
// enrich/all's chain benchmark does: the posts of one language joined in
// file order until the text passes 1,000 bytes, the next post the title.
func articleTexts() (titles, texts []string) {
	byLang := map[string][]string{}
	var langs []string
	for _, m := range sample.Mentions() {
		if _, ok := byLang[m.Lang]; !ok {
			langs = append(langs, m.Lang)
		}
		byLang[m.Lang] = append(byLang[m.Lang], m.Text)
	}
	for _, l := range langs {
		posts := byLang[l]
		for start := range posts {
			var b strings.Builder
			for i := start; b.Len() < 1000; i++ {
				b.WriteString(posts[i%len(posts)])
				b.WriteString(" ")
			}
			titles = append(titles, posts[(start+1)%len(posts)])
			texts = append(texts, strings.TrimSpace(b.String()))
		}
	}
	return titles, texts
}

// realTexts are the sample posts, the articles, and the real snippets of
// shared/data (VADER's movie, Amazon and NYT sets, GoEmotions' Reddit
// comments), each also upper-cased.
func realTexts(t *testing.T) []string {
	t.Helper()
	var texts []string
	for _, m := range sample.Mentions() {
		texts = append(texts, m.Text, m.Title)
	}
	titles, arts := articleTexts()
	texts = append(append(texts, titles...), arts...)
	dir, err := evaldata.Dir()
	if err != nil {
		t.Fatalf("evaluation data: %v (set %s)", err, evaldata.EnvDir)
	}
	for _, f := range []string{evaldata.VADERMovies, evaldata.VADERAmazon, evaldata.VADERNYT} {
		rs, err := evaldata.VADER(dir, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			texts = append(texts, r.Text)
		}
	}
	cs, err := evaldata.GoEmotionsDev(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		texts = append(texts, c.Text)
	}
	for _, s := range texts[:len(texts):len(texts)] {
		texts = append(texts, strings.ToUpper(s))
	}
	return texts
}

// TestTermsNAgreesWithPrevious: TermsN returns what the previous code did,
// term for term, on every real text alone, after a kept dst prefix, with a
// title, and for every n.
func TestTermsNAgreesWithPrevious(t *testing.T) {
	texts := realTexts(t)
	check := func(dst []string, n int, in ...string) {
		got := strings.Join(TermsN(slices.Clone(dst), n, in...), "|")
		want := strings.Join(prevTermsN(slices.Clone(dst), n, in...), "|")
		if got != want {
			t.Fatalf("TermsN(%q, %d, %q) = %q; want the previous code's %q", dst, n, in, got, want)
		}
	}
	for k, s := range texts {
		check(nil, MaxTerms, s)
		check([]string{"kept", "acme"}, MaxTerms, s)
		check(nil, MaxTerms, texts[(k+1)%len(texts)], s)
		if k%16 == 0 {
			for n := range MaxTerms + 2 {
				check(nil, n, s, texts[(k+7)%len(texts)])
			}
		}
	}
	t.Logf("%d texts agree", len(texts))
}

func FuzzTermsNAgreesWithPrevious(f *testing.F) {
	for _, s := range sample.Texts() {
		f.Add(s, "Acme's X200 is AWFUL — Don’t buy", 32)
	}
	f.Fuzz(func(t *testing.T, a, b string, n int) {
		n = n & 63
		got := strings.Join(TermsN([]string{"x"}, n, a, b), "|")
		want := strings.Join(prevTermsN([]string{"x"}, n, a, b), "|")
		if got != want {
			t.Errorf("TermsN(%d, %q, %q) = %q; want the previous code's %q", n, a, b, got, want)
		}
	})
}

// BenchmarkTermsVsPrevious times Terms and the previous code on the same
// texts (the sample posts; the ~1 KB articles with their titles), in
// blocks of 16 texts, alternately and each first every other block, and
// reports the medians over blocks: a pause of the process (a busy machine)
// lands in one block of one side and moves no median.
//
//	go test -run '^$' -bench TermsVsPrevious -benchtime 40000x -count 3 ./enrich/detect/internal/words/
func BenchmarkTermsVsPrevious(b *testing.B) {
	titles, arts := articleTexts()
	posts := sample.Texts()
	for _, c := range []struct {
		name          string
		titles, texts []string
	}{{"posts", make([]string, len(posts)), posts}, {"articles", titles, arts}} {
		b.Run(c.name, func(b *testing.B) {
			var dst []string
			cur := func(k int) { dst = Terms(dst[:0], c.titles[k], c.texts[k]) }
			prev := func(k int) { dst = prevTermsN(dst[:0], MaxTerms, c.titles[k], c.texts[k]) }
			stagetest.BenchPair(b, len(c.texts), cur, prev, "prev")
		})
	}
}

// TestRuneTables: isWord, class and isSpace answer as package unicode
// does, for every rune past ASCII.
func TestRuneTables(t *testing.T) {
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		if got, want := isWord(r), prevIsWord(r); got != want {
			t.Fatalf("isWord(%U) = %v; want %v", r, got, want)
		}
		if got, want := class(r)&classLetter != 0, unicode.IsLetter(r); got != want {
			t.Fatalf("class(%U) letter = %v; want %v", r, got, want)
		}
		if got, want := class(r)&classCased != 0, unicode.ToLower(r) != r; got != want {
			t.Fatalf("class(%U) cased = %v; want %v", r, got, want)
		}
		if got, want := isSpace(r), unicode.IsSpace(r); got != want {
			t.Fatalf("isSpace(%U) = %v; want %v", r, got, want)
		}
	}
}

func TestSkipChunk(t *testing.T) {
	for _, c := range []string{"a", "@x", "#x", "$x", "www.x", "http://x", "a:b", "a::b", "a:/b", "a:b://c", "x:", ":", "://", "a:b:/", "WWW.x", "ab:c:d://"} {
		if got, want := skipChunk(c, strings.Contains(c, ":")), prevSkipChunk(c); got != want {
			t.Errorf("skipChunk(%q) = %v; want %v", c, got, want)
		}
	}
}
