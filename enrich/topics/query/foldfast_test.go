package query

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestFoldTableAgrees checks the table path folds exactly as the general
// path (NFKD, rune by rune) does: every rune below tableFoldEnd alone,
// after a letter and before a combining mark, every pair of a sample of
// them, and random words mixing them with ASCII and other scripts.
func TestFoldTableAgrees(t *testing.T) {
	var fast, slow Tokenizer
	check := func(w string) {
		t.Helper()
		got := string(fast.fold(nil, w))
		want := string(slow.foldGeneral(nil, w))
		if got != want {
			t.Fatalf("fold(%q) = %q; the general path gives %q", w, got, want)
		}
	}
	var sample []rune
	tabled := 0
	for r := rune(utf8.RuneSelf); r < tableFoldEnd; r++ {
		check(string(r))
		check("a" + string(r))
		check(string(r) + "\u0301") // a combining acute after it
		check(string(r) + "Z" + string(r))
		if runeFold[r] != noTableFold {
			tabled++
		}
		if r%7 == 0 {
			sample = append(sample, r)
		}
	}
	if tabled < 1500 {
		t.Errorf("%d runes fold by table; want most of the %d below %#x", tabled, tableFoldEnd-utf8.RuneSelf, tableFoldEnd)
	}
	for _, a := range sample {
		for _, b := range sample {
			check(string(a) + string(b))
		}
	}
	extra := []rune("aZ9*?ßİıǅŉﬁ\u0301\u0308\u0483\u064b한글가각\u1100\u1161\u11a8\ud7b0ㄱㅏ東京丽ｶﾞがパ😀👍🏽\u200d\ufe0fनमस्ते\u093c\ufffd")
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for range 1 + rng.IntN(8) {
			if k := rng.IntN(4); k == 0 {
				b.WriteRune(extra[rng.IntN(len(extra))])
			} else if k == 1 {
				b.WriteRune(rune(rng.IntN(0x20000)))
			} else {
				b.WriteRune(utf8.RuneSelf + rune(rng.IntN(tableFoldEnd-utf8.RuneSelf)))
			}
		}
		check(b.String())
	}
	check("caf\xe9") // invalid UTF-8
	// Every rune of the Basic Multilingual Plane and the emoji, alone and
	// after a letter, and the pairs of a sample of them.
	var wide []rune
	for r := rune(tableFoldEnd); r < 0x20000; r++ {
		if r >= 0xD800 && r < 0xE000 {
			continue
		}
		check(string(r))
		check("a" + string(r) + "b")
		if r%389 == 0 {
			wide = append(wide, r)
		}
	}
	for _, a := range wide {
		for _, b := range wide {
			check(string(a) + string(b))
		}
	}
}

// FuzzFoldTable: the table path folds any text as the general path does.
func FuzzFoldTable(f *testing.F) {
	for _, s := range []string{"Café", "Straße", "ǅemal", "Ελληνικά", "Привет", "مرحبا", "e\u0301", "\xff", "가\u11a8", "ㄱㅏ", "東京", "😀", "नमस्ते"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, w string) {
		var fast, slow Tokenizer
		if got, want := string(fast.fold(nil, w)), string(slow.foldGeneral(nil, w)); got != want {
			t.Errorf("fold(%q) = %q; the general path gives %q", w, got, want)
		}
	})
}

// BenchmarkFoldWords folds the words of a French and German text with the
// table (fold) and with the general path (NFKD), alternately, same run:
//
//	go test ./enrich/topics/query -run '^$' -bench FoldWords -count 3
func BenchmarkFoldWords(b *testing.B) {
	words := strings.Fields("Pourquoi l'équipe n'a-t-elle rien répondu à ma réclamation ? Déçu. " +
		"Die Lieferung kam schon wieder zu spät, und der Kundenservice antwortet nicht. Größte Enttäuschung. " +
		"¿Por qué no responde? Llevo semanas esperando mi reembolso. Péssimo atendimento, não recomendo.")
	for _, c := range []struct {
		name string
		fold func(t *Tokenizer, dst []byte, w string) []byte
	}{
		{"table", (*Tokenizer).fold},
		{"general", (*Tokenizer).foldGeneral},
	} {
		b.Run(c.name, func(b *testing.B) {
			var t Tokenizer
			var dst []byte
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				dst = dst[:0]
				for _, w := range words {
					dst = c.fold(&t, dst, w)
				}
			}
		})
	}
}
