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
