package all_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/jonreiter/govader"

	"github.com/earshot-dev/earshot/enrich/internal/sample"
	"github.com/earshot-dev/earshot/enrich/internal/stagetest"
	"github.com/earshot-dev/earshot/enrich/lang"
	"github.com/earshot-dev/earshot/enrich/sentiment"
	"github.com/earshot-dev/earshot/pipeline"
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

// TestChainHeap checks the whole chain's memory budget (issue 9: under
// 300 MB): the live heap after building every stage (with 1,000 topic
// rules) and enriching the sample posts.
func TestChainHeap(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
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
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(st)
	mb := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
	t.Logf("live heap of the chain: %.1f MB", mb)
	if mb > 300 {
		t.Errorf("live heap of the chain = %.1f MB; want < 300 MB", mb)
	}
}
