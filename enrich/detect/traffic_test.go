package detect

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// traffic builds synthetic enriched mentions for topic "acme" on platform
// "rss": steady chatter with a usual negative share, and a surge of
// negative mentions carrying #acmefire.
type traffic struct {
	rng *rand.Rand
	n   int
}

func newTraffic(seed uint64) *traffic { return &traffic{rng: rand.New(rand.NewPCG(seed, 7))} }

var steadyTexts = []string{
	"Acme kettle works fine, nothing special",
	"Comparing the Acme toaster with the Zenith one",
	"Anyone tried the Acme blender for smoothies",
	"Acme support answered my question about warranty",
	"Bought an Acme lamp for the office desk",
	"The Acme store downtown has a sale on kettles",
}

var negativeTexts = []string{
	"Acme kettle stopped heating after a week, disappointed",
	"Acme support kept me waiting on hold, annoying",
}

// mention returns one mention at t.
func (tr *traffic) mention(t time.Time, text string, hashtags []string, negative bool) *pipeline.Mention {
	tr.n++
	label := pipeline.SentimentNeutral
	score := 0.1
	if negative {
		label, score = pipeline.SentimentNegative, -0.6
	}
	return &pipeline.Mention{
		Schema:      pipeline.SchemaVersion,
		ID:          fmt.Sprintf("rss:m%06d", tr.n),
		Platform:    "rss",
		Source:      "rss/https://news.example.com/feed",
		Kind:        pipeline.KindPost,
		Author:      pipeline.Author{Handle: fmt.Sprintf("user%d", tr.rng.IntN(500))},
		Text:        text,
		CreatedAt:   t.UTC(),
		CollectedAt: t.UTC(),
		Enrichment: pipeline.Enrichment{
			Topics:    []string{"acme"},
			Sentiment: &pipeline.Sentiment{Score: score, Label: label},
			Hashtags:  hashtags,
			Lang:      "en",
		},
	}
}

// steady returns 4 to 8 mentions a minute over [from, to), one in five
// negative, in time order.
func (tr *traffic) steady(from, to time.Time) []*pipeline.Mention {
	var out []*pipeline.Mention
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		n := 4 + tr.rng.IntN(5)
		for i := range n {
			t := m.Add(time.Duration(i) * time.Minute / time.Duration(n))
			neg := tr.rng.IntN(5) == 0
			text := steadyTexts[tr.rng.IntN(len(steadyTexts))]
			if neg {
				text = negativeTexts[tr.rng.IntN(len(negativeTexts))]
			}
			out = append(out, tr.mention(t, text, nil, neg))
		}
	}
	return out
}

// surge returns n negative mentions with #acmefire spread over the minute
// starting at at.
func (tr *traffic) surge(at time.Time, n int) []*pipeline.Mention {
	out := make([]*pipeline.Mention, n)
	for i := range n {
		t := at.Add(time.Duration(i) * time.Minute / time.Duration(n))
		out[i] = tr.mention(t, "Acme X200 blender caught fire, smoke everywhere, dangerous #AcmeFire", []string{"acmefire"}, true)
	}
	return out
}

// testConfig is a 1m-resolution detect config that warms up in 30m.
func testConfig() Config {
	warm := 30 * time.Minute
	return Config{
		Resolutions: []time.Duration{time.Minute},
		Grace:       5 * time.Second,
		IdleAfter:   time.Second,
		Reorder:     300 * time.Millisecond,
		Upstream:    "-",
		LeaseTTL:    time.Second,
		BatchSize:   200,
		Consumer:    pipeline.ConsumerConfig{AckWait: time.Second},
		Detector:    DetectorConfig{Warmup: &warm},
	}
}

var testTopics = []pipeline.Topic{{ID: "acme", Query: "acme"}, {ID: "zenith", Query: "zenith"}}
