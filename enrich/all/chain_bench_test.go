package all_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jonreiter/govader"

	"github.com/earshot-dev/earshot/enrich/internal/sample"
	"github.com/earshot-dev/earshot/enrich/internal/stagetest"
	"github.com/earshot-dev/earshot/pipeline"
)

// The whole enrichment chain (entities, lang, sentiment, topics with 1,000
// rules, dedup, respond) on the sample posts, next to two baselines measured
// in the same run: govader alone (sentiment only) and the simplest keyword
// matcher (1,000 keywords, strings.Contains on lower-cased text).
//
//	go test -run '^$' -bench 'Chain|Baseline' -benchmem ./enrich/all/
//
// ns/op is per mention; mentions/s/core = 1e9 / ns/op (single goroutine).

// benchRules are n generated topic rules of the shapes analysts write,
// and the sample's own brand topics, so matching work is realistic.
func benchRules(n int) []pipeline.Topic {
	return append(sample.Rules(n, "t"), sample.Topics()...)
}

func chain(b *testing.B, topics []pipeline.Topic) []pipeline.Enricher {
	b.Helper()
	var out []pipeline.Enricher
	for _, name := range pipeline.DefaultEnrichers() {
		f, _ := pipeline.EnricherFactoryFor(name)
		st, err := f(pipeline.EnricherEnv{Topics: topics, Logger: nil})
		if err != nil {
			b.Fatalf("stage %s: %v", name, err)
		}
		out = append(out, st)
	}
	return out
}

// fresh copies the sample mentions without their enrichment.
func fresh(src []*pipeline.Mention) []*pipeline.Mention {
	out := make([]*pipeline.Mention, len(src))
	for i, m := range src {
		c := *m
		c.Enrichment = pipeline.Enrichment{}
		out[i] = &c
	}
	return out
}

// articles are ~1 KB articles built from the sample posts.
func articles() []*pipeline.Mention { return sample.Articles() }

func BenchmarkChain(b *testing.B) { benchChain(b, sample.Mentions()) }

// BenchmarkChainArticles is the whole chain on ~1 KB articles: each
// stage's cost must grow gently with text length.
func BenchmarkChainArticles(b *testing.B) { benchChain(b, articles()) }

func benchChain(b *testing.B, ms []*pipeline.Mention) {
	st := chain(b, benchRules(1000))
	ctx := context.Background()
	b.ReportAllocs()
	c := stagetest.StartCPU(b)
	for i := 0; i < b.N; {
		batch := fresh(ms)
		if len(batch) > b.N-i {
			batch = batch[:b.N-i]
		}
		pipeline.RunChain(ctx, st, batch, nil)
		i += len(batch)
	}
	c.Stop(b)
}

func BenchmarkChainStages(b *testing.B) { benchChainStages(b, sample.Mentions()) }

// BenchmarkChainStagesArticles is each stage alone on ~1 KB articles.
func BenchmarkChainStagesArticles(b *testing.B) { benchChainStages(b, articles()) }

func benchChainStages(b *testing.B, ms []*pipeline.Mention) {
	st := chain(b, benchRules(1000))
	ctx := context.Background()
	for k, s := range st {
		b.Run(s.Name(), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; {
				batch := fresh(ms)
				pipeline.RunChain(ctx, st[:k], batch, nil) // inputs the stage expects
				if len(batch) > b.N-i {
					batch = batch[:b.N-i]
				}
				b.StartTimer()
				_ = s.Enrich(ctx, batch)
				b.StopTimer()
				i += len(batch)
			}
		})
	}
}

func BenchmarkBaselineGovader(b *testing.B) {
	texts := sample.Texts()
	an := govader.NewSentimentIntensityAnalyzer()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = an.PolarityScores(texts[i%len(texts)])
	}
}

func BenchmarkBaselineKeywords(b *testing.B) {
	texts := sample.Texts()
	var kws []string
	for _, t := range benchRules(1000) {
		kws = append(kws, strings.ToLower(strings.Fields(strings.Trim(t.Query, `"#@(`))[0]))
	}
	b.ReportAllocs()
	b.ResetTimer()
	hits := 0
	for i := 0; i < b.N; i++ {
		low := strings.ToLower(texts[i%len(texts)])
		for _, k := range kws {
			if strings.Contains(low, k) {
				hits++
			}
		}
	}
	_ = hits
}

// TestChainEnrichesSample checks the benchmark measures real work: the
// chain fills every stage's fields on the sample posts.
func TestChainEnrichesSample(t *testing.T) {
	var st []pipeline.Enricher
	for _, name := range pipeline.DefaultEnrichers() {
		f, _ := pipeline.EnricherFactoryFor(name)
		s, err := f(pipeline.EnricherEnv{Topics: benchRules(1000)})
		if err != nil {
			t.Fatalf("stage %s: %v", name, err)
		}
		st = append(st, s)
	}
	ms := fresh(sample.Mentions())
	pipeline.RunChain(context.Background(), st, ms, nil)
	var topics, sentiment, lang, tags, flagged int
	for _, m := range ms {
		if len(m.Enrichment.Errors) > 0 {
			t.Errorf("mention %s: stage errors %v", m.ID, m.Enrichment.Errors)
		}
		if len(m.Enrichment.Topics) > 0 {
			topics++
		}
		if m.Enrichment.Sentiment != nil {
			sentiment++
		}
		if m.Enrichment.Lang != "" {
			lang++
		}
		if len(m.Enrichment.Hashtags) > 0 {
			tags++
		}
		if m.Enrichment.NeedsResponse {
			flagged++
		}
		if len(m.Enrichment.Versions) != len(st) {
			t.Errorf("mention %s versions = %v; want one per stage", m.ID, m.Enrichment.Versions)
		}
	}
	if topics == 0 || sentiment != len(ms) || lang < len(ms)/2 || tags == 0 || flagged == 0 {
		t.Errorf("of %d mentions: %d with topics, %d sentiment, %d lang, %d hashtags, %d needs-response; want every stage to do work",
			len(ms), topics, sentiment, lang, tags, flagged)
	}
}
