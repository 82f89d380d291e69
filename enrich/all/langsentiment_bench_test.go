package all_test

import (
	"context"
	"testing"

	"github.com/jonreiter/govader"

	"github.com/earshot-dev/earshot/enrich/internal/sample"
	"github.com/earshot-dev/earshot/enrich/internal/stagetest"
	"github.com/earshot-dev/earshot/enrich/lang"
	"github.com/earshot-dev/earshot/enrich/sentiment"
)

// The lang and sentiment stages together (issue 9's cost budget: 20,000
// posts per second per core), next to govader alone, on the sample posts in
// the same run:
//
//	go test -run '^$' -bench 'LangSentiment|GovaderCPU' ./enrich/all/
//
// cpu-ns/op is process CPU per mention (posts/s/core = 1e9 / cpu-ns/op).
func BenchmarkLangSentiment(b *testing.B) {
	l, err := lang.New(lang.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	s, err := sentiment.New(sentiment.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	src := sample.Mentions()
	ctx := context.Background()
	b.ReportAllocs()
	c := stagetest.StartCPU(b)
	for i := 0; i < b.N; {
		b.StopTimer()
		batch := fresh(src)
		if len(batch) > b.N-i {
			batch = batch[:b.N-i]
		}
		b.StartTimer()
		_ = l.Enrich(ctx, batch)
		_ = s.Enrich(ctx, batch)
		i += len(batch)
	}
	c.Stop(b)
}

func BenchmarkGovaderCPU(b *testing.B) {
	texts := sample.Texts()
	an := govader.NewSentimentIntensityAnalyzer()
	b.ReportAllocs()
	c := stagetest.StartCPU(b)
	for i := 0; i < b.N; i++ {
		_ = an.PolarityScores(texts[i%len(texts)])
	}
	c.Stop(b)
}
