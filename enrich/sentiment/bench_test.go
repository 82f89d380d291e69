package sentiment

import (
	"os"
	"strings"
	"testing"

	"github.com/jonreiter/govader"

	"github.com/earshot-dev/earshot/enrich/internal/evaldata"
	"github.com/earshot-dev/earshot/enrich/internal/stagetest"
	"github.com/earshot-dev/earshot/pipeline"
)

// fallbackPosts are used when shared/data is absent.
var fallbackPosts = []string{
	"Honestly the new update is sooo good 😍 but the battery drains FAST @acme_help",
	"@acme why is my order STILL not here?? 3 weeks. never again https://t.co/abc123",
	"Just tried the oat latte at the new place downtown, not bad at all ☕",
	"lol this thread 😂😂 I can't",
	"The keynote was fine I guess. Nothing we didn't already know.",
	"Worst customer service ever. On hold for 2 hours and then they hung up 😡 #fail",
	"Congrats to the whole team on the launch!!! 🎉🎉",
	"is it just me or is the app kinda slow today",
}

// benchPosts returns tweet-length real posts: GoEmotions dev comments
// (Reddit, 1–60 words) when shared/data is there.
func benchPosts(b *testing.B) []string {
	d, err := evaldata.Dir()
	if err != nil {
		return fallbackPosts
	}
	ge, err := evaldata.GoEmotionsDev(d)
	if err != nil {
		b.Fatalf("GoEmotionsDev: %v", err)
	}
	out := make([]string, 0, 2000)
	for _, c := range ge[:2000] {
		out = append(out, c.Text)
	}
	return out
}

// BenchmarkScore (the lexicon scorer):
// go test ./enrich/sentiment -run '^$' -bench . -benchmem
func BenchmarkScore(b *testing.B) {
	posts := benchPosts(b)
	s := Default()
	b.ReportAllocs()
	c := stagetest.StartCPU(b)
	for i := 0; i < b.N; i++ {
		s.Score(posts[i%len(posts)])
	}
	c.Stop(b)
}

// benchModel is the embedded model, or the weights file that
// EARSHOT_SENTIMENT_WEIGHTS names (to compare two builds of the weights).
func benchModel(b *testing.B) *Model {
	if path := os.Getenv("EARSHOT_SENTIMENT_WEIGHTS"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		m, err := LoadModel(data)
		if err != nil {
			b.Fatal(err)
		}
		return m
	}
	m, err := DefaultModel()
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// articles joins consecutive posts into texts of about 1 KB.
func articles(posts []string) []string {
	var out []string
	for start := range posts {
		var sb strings.Builder
		for i := start; sb.Len() < 1000; i++ {
			sb.WriteString(posts[i%len(posts)])
			sb.WriteString(" ")
		}
		out = append(out, strings.TrimSpace(sb.String()))
	}
	return out
}

// BenchmarkModel is the learned model's Predict (lexicon signals included).
func BenchmarkModel(b *testing.B) { benchPredict(b, benchPosts(b)) }

// BenchmarkModelArticles is Predict on ~1 KB texts (comments joined), to
// read beside BenchmarkModel: the cost should grow gently with length.
func BenchmarkModelArticles(b *testing.B) { benchPredict(b, articles(benchPosts(b))) }

func benchPredict(b *testing.B, posts []string) {
	m := benchModel(b)
	b.ReportAllocs()
	c := stagetest.StartCPU(b)
	for i := 0; i < b.N; i++ {
		m.Predict(posts[i%len(posts)], "en")
	}
	c.Stop(b)
}

func BenchmarkGovader(b *testing.B) {
	posts := benchPosts(b)
	g := govader.NewSentimentIntensityAnalyzer()
	b.ReportAllocs()
	c := stagetest.StartCPU(b)
	for i := 0; i < b.N; i++ {
		g.PolarityScores(posts[i%len(posts)])
	}
	c.Stop(b)
}

// BenchmarkEnrich is the stage's cost per mention in batches of 256.
func BenchmarkEnrich(b *testing.B) {
	posts := benchPosts(b)
	e, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]*pipeline.Mention, 256)
	for i := range batch {
		batch[i] = &pipeline.Mention{Text: posts[i%len(posts)], Enrichment: pipeline.Enrichment{Lang: "en"}}
	}
	stagetest.BenchEnrich(b, e, batch)
}
