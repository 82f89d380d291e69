package sentiment

import "testing"

func TestSplitHashtags(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Switching to Globex. #AcmeFail 👋", "Switching to Globex. Acme Fail 👋"},
		{"#EpicFail!", "Epic Fail!"},
		{"#acmefail and #AI stay", "#acmefail and #AI stay"},
		{"no tags here", "no tags here"},
		{"#", "#"},
	} {
		if got := splitHashtags(tt.in); got != tt.want {
			t.Errorf("splitHashtags(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// The model's signal scorer hears what customer posts say that the VADER
// lexicon does not; the lexicon scorer (the quality report's baseline) is
// left as it was.
func TestSignalScorer(t *testing.T) {
	for _, tt := range []struct {
		text    string
		negSign bool // want the signal compound below the lexicon scorer's
	}{
		{"Total #EpicFail", true},
		{"I'm done with this phone", true},
		{"Switching to another carrier", true},
		{"Support took forever to reply", true},
		{"They are facing a class action", true},
		{"The battery bug is back", true},
	} {
		sig, _, _ := SignalScorer().Signals(tt.text)
		lex, _, _ := Default().Signals(tt.text)
		if sig >= 0 || sig >= lex {
			t.Errorf("%q: signal compound %.2f, lexicon %.2f; want the signal negative and below the lexicon's", tt.text, sig, lex)
		}
	}
	if sig, _, _ := SignalScorer().Signals("Replaced it, no questions asked. You rock!"); sig <= 0.5 {
		t.Errorf("praise: signal compound %.2f; want above 0.5", sig)
	}
	if c := Default().Compound("Total #EpicFail"); c != 0 {
		t.Errorf("lexicon scorer on a camel-case tag: compound %.2f; want 0 (unchanged)", c)
	}
}

// A post that turns (a fault, then praise) shows it in its sentence
// compounds: the most negative, the most positive and the last sentence.
func TestSentenceSignals(t *testing.T) {
	s := SignalScorer()
	text := "The hinge broke after a week. Support replaced it the next day. You rock!"
	c, p, n, lo, hi, last := s.SentenceSignals(text)
	c2, p2, n2 := s.Signals(text)
	if c != c2 || p != p2 || n != n2 {
		t.Errorf("SentenceSignals compound/pos/neg = %.3f %.3f %.3f; Signals = %.3f %.3f %.3f", c, p, n, c2, p2, n2)
	}
	if lo >= 0 || hi <= 0 || last != hi {
		t.Errorf("SentenceSignals(%q): min %.2f, max %.2f, last %.2f; want a negative min and the last sentence the most positive", text, lo, hi, last)
	}
	// One sentence: all three are its compound (before the '!' emphasis).
	if _, _, _, lo, hi, last := s.SentenceSignals("I hate it"); lo >= 0 || lo != hi || hi != last {
		t.Errorf("one sentence: min %.2f, max %.2f, last %.2f; want one negative value", lo, hi, last)
	}
	if _, _, _, lo, hi, last := s.SentenceSignals(""); lo != 0 || hi != 0 || last != 0 {
		t.Errorf("empty text: min %.2f, max %.2f, last %.2f; want 0", lo, hi, last)
	}
}
