package sentiment

import (
	"testing"

	"github.com/earshot-dev/earshot/pipeline"
)

func TestScoreLabels(t *testing.T) {
	tests := []struct {
		text string
		want string
	}{
		{"", pipeline.SentimentNeutral},
		{"   ", pipeline.SentimentNeutral},
		{"The package arrived on Tuesday.", pipeline.SentimentNeutral},
		{"I love this phone", pipeline.SentimentPositive},
		{"I hate this phone", pipeline.SentimentNegative},
		{"This is not good", pipeline.SentimentNegative},
		{"I don't like it", pipeline.SentimentNegative},
		{"I didn’t like it", pipeline.SentimentNegative}, // typographic apostrophe
		{"not bad at all", pipeline.SentimentPositive},
		{"The screen is nice but the battery is awful", pipeline.SentimentNegative},
		{"The battery is awful but the screen is gorgeous", pipeline.SentimentPositive},
		{"Although the screen is nice, the battery is awful", pipeline.SentimentNegative},
		{"sooo good", pipeline.SentimentPositive},
		{"gooood", pipeline.SentimentPositive},
		{"this update is trash", pipeline.SentimentNegative},
		{"new album is fire 🔥🔥", pipeline.SentimentPositive},
		{"🙄", pipeline.SentimentNegative},
		{"😍😍😍", pipeline.SentimentPositive},
		{"meh :(", pipeline.SentimentNegative},
		{"see you there :)", pipeline.SentimentPositive},
		{"i <3 it", pipeline.SentimentPositive},
		{"@happyhappy @greatjoy check https://example.com/love-awesome", pipeline.SentimentNeutral},
		{"No. 1 in the league", pipeline.SentimentNeutral},
		{"no problems so far", pipeline.SentimentPositive},
		{"have had no issues with it", pipeline.SentimentPositive},
		{"waste of money", pipeline.SentimentNegative},
		{"it's not only good but great", pipeline.SentimentPositive},
		{"ugh, my flight got cancelled again", pipeline.SentimentNegative},
		{"Kind of disappointed", pipeline.SentimentNegative},
	}
	for _, tt := range tests {
		if got := Score(tt.text); got.Label != tt.want {
			t.Errorf("Score(%q) = %+v; want label %s", tt.text, got, tt.want)
		}
	}
}

// TestScoreOrdering checks the direction of each rule: the first text of a
// pair must score strictly above the second.
func TestScoreOrdering(t *testing.T) {
	tests := []struct {
		rule, higher, lower string
	}{
		{"intensifier", "the food is very good", "the food is good"},
		{"dampener", "the food is good", "the food is somewhat good"},
		{"capitals", "the food is GOOD", "the food is good"},
		{"exclamation", "the food is good!!!", "the food is good"},
		{"elongation", "the food is goooood", "the food is good"},
		{"negative intensifier", "the service was bad", "the service was really bad"},
		{"negative capitals", "the service was bad", "the service was BAD"},
		{"post intensifier", "that was funny af", "that was funny"},
		{"booster with own valence", "the cast was super", "the cast was"},
		{"booster as intensifier", "terribly funny", "funny"},
		{"emoji", "ok 😊", "ok"},
		{"negated positive", "good", "not good"},
		{"negation scope ends at comma", "not here, but good", "not good"},
		{"contrast per sentence", "Great start. It was slow but fine", "Great start, it was slow but fine"},
	}
	for _, tt := range tests {
		h, l := Score(tt.higher).Score, Score(tt.lower).Score
		if !(h > l) {
			t.Errorf("%s: Score(%q) = %.3f, Score(%q) = %.3f; want the first higher", tt.rule, tt.higher, h, tt.lower, l)
		}
	}
}

func TestScoreRange(t *testing.T) {
	texts := []string{
		"GREAT GREAT GREAT GREAT GREAT!!!!!!!!!! 😍😍😍😍😍😍😍😍😍😍 love love love",
		"HATE HATE HATE awful terrible worst!!!!! 😡😡😡😡😡",
		"\x00\xff\xfe invalid utf8 good",
		"a'-'b -- '' ... !!! ??? #### @ http:// :) :( :",
	}
	for _, s := range texts {
		if v := Score(s).Score; v < -1 || v > 1 {
			t.Errorf("Score(%q) = %v; want within [-1, 1]", s, v)
		}
	}
}

func TestScoreAllocs(t *testing.T) {
	s := Default()
	text := "Honestly the new update is sooo good 😍 but the battery drains FAST, not great!! @support https://t.co/x"
	s.Score(text) // warm the pool
	if n := testing.AllocsPerRun(100, func() { s.Score(text) }); n != 0 {
		t.Errorf("Score allocates %v times per call; want 0", n)
	}
}

func FuzzScore(f *testing.F) {
	for _, s := range []string{"not bad :)", "sooo gooood!!!", "😂😂 lol", "Although it's nice, BUT no"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := Score(s)
		if v.Score < -1 || v.Score > 1 || v.Score != v.Score {
			t.Errorf("Score(%q) = %v; want a number within [-1, 1]", s, v.Score)
		}
	})
}
