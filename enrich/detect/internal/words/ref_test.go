package words

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// refTerms is Terms before its ASCII fast path: the reference the fast
// path must agree with.
func refTerms(dst []string, texts ...string) []string {
	start := len(dst)
	for _, text := range texts {
		for chunk := range strings.FieldsSeq(text) {
			if len(dst)-start >= MaxTerms {
				return dst
			}
			if prevSkipChunk(chunk) {
				continue
			}
			dst = refAppendTokens(dst, start, chunk)
		}
	}
	return dst
}

func refAppendTokens(dst []string, start int, chunk string) []string {
	i := 0
	for i < len(chunk) {
		// Skip to the next letter or digit.
		r, n := utf8.DecodeRuneInString(chunk[i:])
		if !isWord(r) {
			i += n
			continue
		}
		j, runes, letters := i, 0, 0
		for j < len(chunk) {
			r, n := utf8.DecodeRuneInString(chunk[j:])
			if !isWord(r) && !(r == '\'' || r == '’') {
				break
			}
			if isWord(r) {
				runes++
				if unicode.IsLetter(r) {
					letters++
				}
			}
			j += n
		}
		tok := chunk[i:j]
		i = j
		if runes < MinRunes || runes > MaxRunes || letters == 0 {
			continue
		}
		tok = strings.ToLower(strings.TrimRight(tok, "'’"))
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
		if prevStop[tok] || prevContainsFrom(dst, start, tok) {
			continue
		}
		dst = append(dst, tok)
		if len(dst)-start >= MaxTerms {
			return dst
		}
	}
	return dst
}

func TestTermsAgreesWithReference(t *testing.T) {
	texts := []string{
		"Acme's new X200 blender is AWFUL, awful! Don’t buy it; it doesn’t work. O'Reilly's ROCK'N'ROLL",
		"Überraschung: die KÜCHE brennt — ÉCOLE, Straße, İstanbul, ΑΘΗΝΑ, Москва 2024 x2 3d",
		"recall: see https://acme.example/help and www.acme.example @AcmeSupport #AcmeFire $ACME '''quoted''' ’tis",
		"naïve café résumé coöperate ﬁnance e\u0301clair ЁЖ 東京 タワー 123abc abc123 ___ --- a'b'c",
	}
	for _, a := range texts {
		for _, b := range texts {
			texts = append(texts, a+" "+strings.ToUpper(b))
		}
	}
	for _, tx := range texts {
		got, want := strings.Join(Terms(nil, tx), "|"), strings.Join(refTerms(nil, tx), "|")
		if got != want {
			t.Errorf("Terms(%q) = %q; want the reference's %q", tx, got, want)
		}
	}
}

func FuzzTermsAgreesWithReference(f *testing.F) {
	f.Add("Acme's X200 is AWFUL — Don’t buy")
	f.Fuzz(func(t *testing.T, s string) {
		got, want := strings.Join(Terms(nil, s), "|"), strings.Join(refTerms(nil, s), "|")
		if got != want {
			t.Errorf("Terms(%q) = %q; want the reference's %q", s, got, want)
		}
	})
}

// BenchmarkTermsVsReference times Terms and the reference alternately on
// the same article, so the ratio holds on a busy machine.
func BenchmarkTermsVsReference(b *testing.B) {
	var sb strings.Builder
	s := []string{"The Acme update broke everything on my phone, the app crashes every time I open it.",
		"Reports say Acme is recalling thousands of units after complaints about overheating.",
		"Why is the refund process so slow? I returned the item a month ago.",
		"Die neue App von Acme ist eine Katastrophe, das Update hat alles gelöscht."}
	for i := 0; sb.Len() < 1000; i++ {
		sb.WriteString(s[i%len(s)])
		sb.WriteByte(' ')
	}
	text := sb.String()
	var dst []string
	var fast, ref time.Duration
	for b.Loop() {
		t0 := time.Now()
		dst = Terms(dst[:0], text)
		t1 := time.Now()
		dst = refTerms(dst[:0], text)
		fast, ref = fast+t1.Sub(t0), ref+time.Since(t1)
	}
	b.ReportMetric(float64(ref)/float64(fast), "speedup")
}

// termsNAgrees checks that TermsN(n) is the first n of Terms, for every n.
func termsNAgrees(t *testing.T, s string) {
	t.Helper()
	all := Terms([]string{"kept"}, s, "second text "+s)
	for n := 0; n <= MaxTerms+1; n++ {
		want := all[:1+min(n, len(all)-1)]
		if got := TermsN([]string{"kept"}, n, s, "second text "+s); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("TermsN(%d, %q) = %q; want the first %d of Terms, %q", n, s, got, n, want)
		}
	}
}

func TestTermsNIsTheFirstNOfTerms(t *testing.T) {
	long := strings.Repeat("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon ", 3) +
		"phi chi psi omega one two three four five six seven eight nine ten eleven twelve"
	for _, s := range []string{"", "a b", long, strings.ToUpper(long), "Acme's new X200 blender is AWFUL, awful! Don’t buy it; #AcmeFire https://acme.example/x"} {
		termsNAgrees(t, s)
	}
}

func FuzzTermsNIsTheFirstNOfTerms(f *testing.F) {
	f.Add("Acme's X200 is AWFUL — Don’t buy, alpha beta gamma delta epsilon zeta eta theta iota kappa lambda")
	f.Fuzz(termsNAgrees)
}
