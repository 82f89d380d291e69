package model

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

func features(t *testing.T, text string) map[uint32]bool {
	t.Helper()
	e := NewExtractor(DefaultOptions())
	out := map[uint32]bool{}
	for _, f := range e.Extract(text, "", Lex{}) {
		out[f.Bucket] = true
	}
	return out
}

func same(a, b map[uint32]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func TestExtractNormalises(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"SOOOO good", "soo good", true},        // case, elongation
		{"@acme rocks", "@someone rocks", true}, // every handle is @user
		{"see https://a.example/x", "see http", true},
		{"love it!!!", "love it!", true},   // repeated symbols count once
		{"don’t like", "don't like", true}, // typographic apostrophe
		{"#acmefail", "acmefail", true},    // hashtags are words
		{"good", "not good", false},
		{"not good", "good not", false}, // negation scope and bigrams
	}
	for _, tt := range tests {
		if got := same(features(t, tt.a), features(t, tt.b)); got != tt.same {
			t.Errorf("features(%q) == features(%q) is %v; want %v", tt.a, tt.b, got, tt.same)
		}
	}
	e := NewExtractor(DefaultOptions())
	if e.Extract("   ", "en", Lex{}); !e.Empty() {
		t.Error("Extract(blank).Empty() = false; want true")
	}
	if e.Extract("😡", "", Lex{}); e.Empty() {
		t.Error("Extract(emoji).Empty() = true; want false")
	}
}

func TestNegationScope(t *testing.T) {
	e := NewExtractor(DefaultOptions())
	plain := map[uint32]bool{}
	for _, f := range e.Extract("bad", "", Lex{}) {
		plain[f.Bucket] = true
	}
	negated := func(text string) bool {
		n := 0
		for _, f := range e.Extract(text, "", Lex{}) {
			if f.Bucket == mix(hashString(seed(kindWord), "bad")^seed(kindNeg))&(1<<DefaultOptions().Bits-1) {
				n++
			}
		}
		return n > 0
	}
	for text, want := range map[string]bool{
		"not bad":            true,
		"nicht bad":          true,
		"isn't bad":          true,
		"not sure. bad":      false, // punctuation ends the scope
		"bad":                false,
		"no way, bad anyway": false,
	} {
		if got := negated(text); got != want {
			t.Errorf("Extract(%q) has negated \"bad\" = %v; want %v", text, got, want)
		}
	}
}

func TestQuantiseRoundTrip(t *testing.T) {
	o := DefaultOptions()
	o.Bits = 10
	w := make([]float32, NumClasses<<o.Bits)
	for i := range w {
		w[i] = float32(math.Sin(float64(i))) * 2
	}
	m := Quantise(o, "test", w)
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	r, err := Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if r.Name != "test" || r.Opts != o || r.Buckets() != 1<<o.Bits {
		t.Fatalf("Read = %q %+v %d buckets; want test %+v %d", r.Name, r.Opts, r.Buckets(), o, 1<<o.Bits)
	}
	fs := []Feature{{Bucket: 3, Value: 0.5}, {Bucket: 700, Value: 1}}
	got := r.Logits(fs)
	for c := 0; c < NumClasses; c++ {
		want := 0.5*w[3*NumClasses+c] + w[700*NumClasses+c]
		if math.Abs(float64(got[c]-want)) > 0.02 { // int8 steps of 2/127
			t.Errorf("Logits class %d = %v; want %v ± 0.02", c, got[c], want)
		}
	}
	if _, err := Read(bytes.NewReader([]byte("not gzip"))); !errors.Is(err, ErrFormat) {
		t.Errorf("Read(garbage) = %v; want ErrFormat", err)
	}
	raw := buf.Bytes()
	if _, err := Read(bytes.NewReader(raw[:len(raw)/2])); !errors.Is(err, ErrFormat) {
		t.Errorf("Read(truncated) = %v; want ErrFormat", err)
	}
}

func TestLearnerSeparates(t *testing.T) {
	o := DefaultOptions()
	o.Bits = 14
	xs := []Example{
		{Text: "great lovely happy", Label: Positive, Weight: 1},
		{Text: "awful terrible sad", Label: Negative, Weight: 1},
		{Text: "the train leaves at nine", Label: Neutral, Weight: 1},
	}
	run := func() [NumClasses]float32 {
		l := NewLearner(o)
		l.Train(xs, TrainConfig{Epochs: 20, LR: 0.5, Seed: 3})
		return l.Predict("lovely", "", Lex{})
	}
	p := run()
	if p[Positive] < p[Negative] || p[Positive] < p[Neutral] {
		t.Errorf("Predict(lovely) = %v; want positive first", p)
	}
	if q := run(); q != p {
		t.Errorf("training twice with one seed gave %v and %v; want the same", p, q)
	}
}

func TestTagParts(t *testing.T) {
	for _, tt := range []struct {
		tag  string
		want string
	}{
		{"AcmeFail", "Acme Fail"},
		{"iPhoneBug", "i Phone Bug"},
		{"USAToday", "USA Today"},
		{"NeverAgain2024", "Never Again 2024"},
		{"acmefail", ""},
		{"AI", ""},
		{"acme_fail", ""},
	} {
		if got := strings.Join(TagParts(tt.tag), " "); got != tt.want {
			t.Errorf("TagParts(%q) = %q; want %q", tt.tag, got, tt.want)
		}
	}
}

// A word after "but" in the same sentence is a feature of its own; the
// scope ends with the sentence.
func TestContrast(t *testing.T) {
	marked := mix(hashString(seed(kindWord), "slow")^seed(kindContrast)) & (1<<DefaultOptions().Bits - 1)
	for _, tt := range []struct {
		text string
		want bool
	}{
		{"nice screen but slow", true},
		{"schön, aber slow", true},
		{"nice screen. slow", false},
		{"nice screen but ok. slow", false},
		{"slow", false},
	} {
		if got := features(t, tt.text)[marked]; got != tt.want {
			t.Errorf("%q: contrast feature of \"slow\" present = %v; want %v", tt.text, got, tt.want)
		}
	}
}

// A camel-case hashtag gives its parts as words; a one-case tag does not.
func TestTagPartWords(t *testing.T) {
	fail := mix(hashString(seed(kindWord), "fail")) & (1<<DefaultOptions().Bits - 1)
	if !features(t, "so much #AcmeFail.")[fail] {
		t.Errorf("#AcmeFail: no feature for the word \"fail\"")
	}
	if features(t, "so much #acmefail.")[fail] {
		t.Errorf("#acmefail: a feature for the word \"fail\"; want none (no marked parts)")
	}
}
