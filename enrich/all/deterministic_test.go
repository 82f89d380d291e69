package all_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/enrich/internal/evaldata"
	"github.com/earshot-dev/earshot/pipeline"
)

// Re-enrichment, a replay and a restarted enrich role must give the same
// mentions the same enrichment: two fresh default chains fed the same stream
// must write the same bytes, so no stage may depend on Go's random map order
// or on state shared between chains. The stream is held-out xlmt tweets in 8
// languages and GoEmotions' Reddit comments over an hour of mention time,
// with reposts of earlier texts and a surge (one story reposted 400 times in
// ten minutes); the trend stage warms up in 10 minutes so it tags. (The trend
// tracker's eviction order, once random, has its own test in enrich/trend:
// this stream does not make it matter.)
func TestChainDeterministic(t *testing.T) {
	dir := evaldata.DirOrSkip(t)
	xlmt, err := evaldata.XLMT(dir, "val")
	if err != nil {
		t.Fatalf("XLMT(val): %v", err)
	}
	comments, err := evaldata.GoEmotionsDev(dir)
	if err != nil {
		t.Fatalf("GoEmotionsDev: %v", err)
	}
	var rows []string
	for i := range max(len(xlmt), len(comments)) {
		if i < len(xlmt) {
			rows = append(rows, xlmt[i].Text)
		}
		if i < len(comments) {
			rows = append(rows, comments[i].Text)
		}
	}
	base := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	span := time.Hour
	var stream []*pipeline.Mention
	add := func(text string, at time.Time) {
		stream = append(stream, &pipeline.Mention{
			ID: fmt.Sprintf("x:%d", len(stream)), Platform: "x", Kind: pipeline.KindPost,
			Text: text, CreatedAt: at, CollectedAt: at,
		})
	}
	for i, r := range rows {
		at := base.Add(span * time.Duration(i) / time.Duration(len(rows)))
		add(r, at)
		if i%7 == 3 && i > 50 {
			add(rows[i-50], at) // a repost of an earlier text
		}
		if i == len(rows)*3/4 {
			for k := range 400 {
				add(fmt.Sprintf("#AcmeRecall the kettle recall is now nationwide, check your model %d", k%3),
					at.Add(time.Duration(k)*time.Second*3/2))
			}
		}
	}
	var opts yaml.Node
	if err := yaml.Unmarshal([]byte("{capacity: 100, half_life: 10m, warmup: 10m}"), &opts); err != nil {
		t.Fatal(err)
	}
	newChain := func() []pipeline.Enricher {
		var out []pipeline.Enricher
		for _, name := range pipeline.DefaultEnrichers() {
			f, _ := pipeline.EnricherFactoryFor(name)
			env := pipeline.EnricherEnv{Topics: benchRules(200)}
			if name == "trend" {
				env.Options = opts.Content[0]
			}
			st, err := f(env)
			if err != nil {
				t.Fatalf("stage %s: %v", name, err)
			}
			out = append(out, st)
		}
		return out
	}
	a, b := newChain(), newChain()
	ctx := context.Background()
	trended, clusters := 0, map[string]int{}
	for start := 0; start < len(stream); start += 256 {
		batch := stream[start:min(start+256, len(stream))]
		ga, gb := fresh(batch), fresh(batch)
		pipeline.RunChain(ctx, a, ga, nil)
		pipeline.RunChain(ctx, b, gb, nil)
		for i := range ga {
			ja, err := ga[i].Marshal()
			if err != nil {
				t.Fatal(err)
			}
			jb, err := gb[i].Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if string(ja) != string(jb) {
				t.Fatalf("mention %s enriched two ways by two fresh chains:\n%s\n%s", ga[i].ID, ja, jb)
			}
			if len(ga[i].Enrichment.Trends) > 0 {
				trended++
			}
			if c := ga[i].Enrichment.DupCluster; c != "" {
				clusters[c]++
			}
		}
	}
	dups := 0
	for _, n := range clusters {
		if n > 1 {
			dups += n
		}
	}
	t.Logf("%d mentions, %d with trend tags, %d in near-duplicate clusters", len(stream), trended, dups)
	if trended == 0 || dups == 0 {
		t.Errorf("%d trend-tagged and %d duplicate mentions: the stream must exercise both", trended, dups)
	}
}
