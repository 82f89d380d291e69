package model

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// refChars is addChars as it was first written: every n-gram hashed from
// its first byte. addChars must give the same features in the same order
// (Logits sums in feature order, so the order is part of the answer).
func refChars(e *Extractor, w []byte) {
	if e.o.MaxN == 0 {
		return
	}
	e.runes = e.runes[:0]
	e.runes = append(e.runes, -1) // "<"
	for k := 0; k < len(w); {
		_, n := utf8.DecodeRune(w[k:])
		e.runes = append(e.runes, k)
		k += n
	}
	e.runes = append(e.runes, len(w)) // ">"
	nr := len(e.runes)
	for n := int(e.o.MinN); n <= int(e.o.MaxN); n++ {
		for s := 0; s+n <= nr; s++ {
			if n == 1 || (s == 0 && n == nr) {
				continue
			}
			h := seed(kindChar)
			lo, hi := e.runes[s], 0
			if s+n < nr {
				hi = e.runes[s+n]
			} else {
				hi = len(w)
			}
			if lo < 0 {
				h = (h ^ '<') * fnvPrime
				lo = 0
			}
			h = hashBytes(h, w[lo:hi])
			if s+n == nr {
				h = (h ^ '>') * fnvPrime
			}
			e.addText(mix(h))
		}
	}
}

var charWords = []string{
	"a", "ab", "ba", "abc", "abcdefghijklmnop", "abcdefghijklmnopq", "ééééééééé", "good", "sooo", "disappointed", "don't", "x200", "café", "straße",
	"katastrophe", "الخدمة", "ممتازة", "बहुत", "😡", "naïve", "ｆｕｌｌｗｉｄｔｈ", "e\u0301",
	"\xff\xfe", "a\xffb", strings.Repeat("long", 40),
}

func TestAddCharsAsReference(t *testing.T) {
	for _, o := range []Options{DefaultOptions(), {Bits: 20, MinN: 1, MaxN: 3}, {Bits: 20, MinN: 3, MaxN: 6}, {Bits: 20, MinN: 2, MaxN: 2}, {Bits: 20, MinN: 4, MaxN: 9}} {
		got, want := NewExtractor(o), NewExtractor(o)
		// Each word twice: computed, then from the table of recent words;
		// "ab" and "ba" may share a slot, and the longest word has none.
		for _, w := range append(charWords, charWords...) {
			got.text, want.text = got.text[:0], want.text[:0]
			got.addChars([]byte(w), mix(hashString(seed(kindWord), w)))
			refChars(want, []byte(w))
			if !slices.Equal(got.text, want.text) {
				t.Errorf("addChars(%q) with n %d…%d = %v; want %v", w, o.MinN, o.MaxN, got.text, want.text)
			}
		}
	}
}

// TestAddCharsFlags checks that addChars tells negators and contrast words
// as the sets do, whether the word's n-grams are computed or come from the
// table of recent words.
func TestAddCharsFlags(t *testing.T) {
	words := append([]string{"not", "no", "don't", "never", "but", "aber", "however", "nicht", "لكن", "par", "nothing", "butter"}, charWords...)
	for _, o := range []Options{DefaultOptions(), {Bits: 20}} {
		e := NewExtractor(o)
		for _, w := range append(words, words...) {
			fl := e.addChars([]byte(w), mix(hashString(seed(kindWord), w)))
			neg, con := fl&wordNegator != 0, fl&wordContrast != 0
			if neg != isNegator([]byte(w)) || con != contrasts[w] {
				t.Errorf("addChars(%q) with n %d…%d: negator %v, contrast %v; want %v, %v", w, o.MinN, o.MaxN, neg, con, isNegator([]byte(w)), contrasts[w])
			}
		}
	}
}

func BenchmarkAddChars(b *testing.B) {
	words := [][]byte{[]byte("the"), []byte("battery"), []byte("disappointed"), []byte("is"), []byte("support"), []byte("café")}
	for _, impl := range []struct {
		name string
		f    func(*Extractor, []byte)
	}{{"ref", refChars}, {"new", (*Extractor).charGrams}, {"recent", func(e *Extractor, w []byte) { e.addChars(w, mix(hashBytes(seed(kindWord), w))) }}} {
		b.Run(impl.name, func(b *testing.B) {
			e := NewExtractor(DefaultOptions())
			for i := 0; i < b.N; i++ {
				e.text = e.text[:0]
				for _, w := range words {
					impl.f(e, w)
				}
			}
		})
	}
}

// TestExtractorLogitsAsLogits checks that Extractor.Logits, which leaves the
// text features' shared value out of each feature, sums exactly what
// Model.Logits of Extract does.
func TestExtractorLogitsAsLogits(t *testing.T) {
	o := DefaultOptions()
	w := make([]float32, NumClasses<<o.Bits)
	x := uint32(1)
	for i := range w {
		x = x*1664525 + 1013904223
		w[i] = float32(int32(x)) / (1 << 31)
	}
	m := Quantise(o, "test", w)
	texts := append([]string{"", "   ", "😡", "Not good, but the support was GREAT!!! #AcmeFail @acme https://t.co/x"}, charWords...)
	texts = append(texts, strings.Join(charWords, " "), strings.Repeat("sooo good and not bad at all. ", 40))
	a, b := NewExtractor(o), NewExtractor(o)
	for _, text := range texts {
		for _, lang := range []string{"", "en", "de"} {
			lex := Lex{Compound: 0.3, Pos: 2, Neg: -1, MinSent: -0.1, MaxSent: 0.5, LastSent: 0.2}
			want := m.Logits(a.Extract(text, lang, lex))
			if got := b.Logits(m, text, lang, lex); got != want || a.Empty() != b.Empty() {
				t.Errorf("Extractor.Logits(%q, %q) = %v (empty %v); Logits(Extract) = %v (empty %v)", text, lang, got, b.Empty(), want, a.Empty())
			}
		}
	}
}
