package query

import (
	"slices"
	"syscall"
	"testing"
	"time"
	"unicode"

	"github.com/earshot-dev/earshot/enrich/internal/evaldata"
	"github.com/earshot-dev/earshot/enrich/internal/sample"
)

// TestRuneClassAgrees checks the rune class tables against the Unicode
// tables for every code point: the rune classes and how a rune folds.
func TestRuneClassAgrees(t *testing.T) {
	var tok, wtok Tokenizer
	var ftok, fwtok formerTokenizer
	wtok.Wildcards, fwtok.Wildcards = true, true
	var got, want []byte
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if wordRune(r) != formerWordRune(r) || markRune(r) != formerMarkRune(r) || soloRune(r) != formerSoloRune(r) {
			t.Fatalf("U+%04X: word, mark, solo = %v %v %v; want %v %v %v", r,
				wordRune(r), markRune(r), soloRune(r), formerWordRune(r), formerMarkRune(r), formerSoloRune(r))
		}
		got, want = tok.foldRune(got[:0], r), ftok.foldRune(want[:0], r)
		if string(got) != string(want) {
			t.Fatalf("foldRune(U+%04X) = %q; want %q", r, got, want)
		}
		got, want = wtok.foldRune(got[:0], r), fwtok.foldRune(want[:0], r)
		if string(got) != string(want) {
			t.Fatalf("foldRune(U+%04X) with wildcards = %q; want %q", r, got, want)
		}
	}
}

// tokenizerTexts are the sample posts and, when shared/data is there, its
// texts alone and joined into ~1.2 KB texts.
func tokenizerTexts(t testing.TB) []string {
	t.Helper()
	texts := sample.Texts()
	for _, m := range sample.Articles() {
		texts = append(texts, m.Title, m.Text)
	}
	real := evaldata.TextsIfAny(t)
	texts = append(texts, real...)
	return append(texts, evaldata.Joined(real, 1200, 5)...)
}

// TestTokenizeMatchesFormer checks Tokenize gives the tokens, folded forms
// and sigils the former tokenizer gave, in every mode, on real texts.
func TestTokenizeMatchesFormer(t *testing.T) {
	texts := tokenizerTexts(t)
	for _, mode := range []struct{ wild, noSigils bool }{{false, false}, {false, true}, {true, false}} {
		var got Tokenizer
		var want formerTokenizer
		got.Wildcards, got.NoSigils = mode.wild, mode.noSigils
		want.Wildcards, want.NoSigils = mode.wild, mode.noSigils
		for _, s := range texts {
			got.Reset()
			want.Reset()
			got.Tokenize(s)
			want.Tokenize(s)
			if !slices.Equal(got.Tokens, want.Tokens) || !slices.Equal(got.Sigils, want.Sigils) || string(got.Buf) != string(want.Buf) {
				t.Fatalf("wildcards=%v nosigils=%v: Tokenize(%q) = %v %v %q; want (former) %v %v %q", mode.wild, mode.noSigils, s,
					got.Tokens, got.Sigils, got.Buf, want.Tokens, want.Sigils, want.Buf)
			}
		}
	}
}

// FuzzTokenizeMatchesFormer compares the two tokenizers on any text.
func FuzzTokenizeMatchesFormer(f *testing.F) {
	for _, s := range sample.Texts() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got Tokenizer
		var want formerTokenizer
		got.Tokenize(s)
		want.Tokenize(s)
		if !slices.Equal(got.Tokens, want.Tokens) || !slices.Equal(got.Sigils, want.Sigils) || string(got.Buf) != string(want.Buf) {
			t.Fatalf("Tokenize(%q) = %v %v %q; want (former) %v %v %q", s, got.Tokens, got.Sigils, got.Buf, want.Tokens, want.Sigils, want.Buf)
		}
	})
}

// BenchmarkTokenizeFormer is Tokenize beside the former tokenizer on the
// sample posts and the ~1 KB sample articles, in the same run:
//
//	go test -run '^$' -bench 'TokenizeFormer' -benchtime 20000x ./enrich/topics/query/
func BenchmarkTokenizeFormer(b *testing.B) {
	posts := sample.Texts()
	var articles []string
	for _, m := range sample.Articles() {
		articles = append(articles, m.Text)
	}
	for _, set := range []struct {
		name  string
		texts []string
	}{{"posts", posts}, {"articles", articles}} {
		b.Run(set.name+"/former", func(b *testing.B) {
			var t formerTokenizer
			start, i := cpuTime(), 0
			for ; b.Loop(); i++ {
				t.Reset()
				t.Tokenize(set.texts[i%len(set.texts)])
			}
			b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(i), "cpu-ns/op")
		})
		b.Run(set.name+"/new", func(b *testing.B) {
			var t Tokenizer
			start, i := cpuTime(), 0
			for ; b.Loop(); i++ {
				t.Reset()
				t.Tokenize(set.texts[i%len(set.texts)])
			}
			b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(i), "cpu-ns/op")
		})
	}
}

// cpuTime is the CPU time this process has used: benchmarks report it per
// operation as cpu-ns/op, steadier than ns/op on a shared machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
