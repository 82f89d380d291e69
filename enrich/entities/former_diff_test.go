package entities

import (
	"reflect"
	"testing"

	"github.com/earshot-dev/earshot/enrich/internal/evaldata"
	"github.com/earshot-dev/earshot/enrich/internal/sample"
	"github.com/earshot-dev/earshot/pipeline"
)

// realMentions are the sample posts, the ~1 KB sample articles and, when
// shared/data is there, every text of it alone (every seventh as an article
// with the next text as its title) and joined into ~1.2 KB articles.
func realMentions(t testing.TB) []*pipeline.Mention {
	t.Helper()
	ms := append(sample.Mentions(), sample.Articles()...)
	texts := evaldata.TextsIfAny(t)
	for i, s := range texts {
		m := &pipeline.Mention{ID: "t", Text: s}
		if i%7 == 0 {
			m.Kind, m.URL, m.Title = pipeline.KindArticle, "https://News.example.com/a?utm_source=x", texts[(i+1)%len(texts)]
		}
		ms = append(ms, m)
	}
	for _, s := range evaldata.Joined(texts, 1200, 5) {
		ms = append(ms, &pipeline.Mention{ID: "a", Text: s})
	}
	return ms
}

// TestApplyMatchesFormer checks the scan finds exactly the entities, in the
// same order, that the former scan found, on real texts.
func TestApplyMatchesFormer(t *testing.T) {
	ms := realMentions(t)
	links := 0
	for _, m := range ms {
		got, want := *m, *m
		Apply(&got)
		formerApply(&want)
		if !reflect.DeepEqual(got.Enrichment, want.Enrichment) {
			t.Fatalf("Apply(title %q, text %q) = %+v; want (former) %+v", m.Title, m.Text, got.Enrichment, want.Enrichment)
		}
		links += len(got.Enrichment.Links)
	}
	if links == 0 {
		t.Fatalf("no links in %d mentions: the comparison does not cover links", len(ms))
	}
}

// BenchmarkApply is Apply on the sample posts and articles beside the former
// scan, in the same run:
//
//	go test -run '^$' -bench 'Apply' -benchtime 20000x -count 4 ./enrich/entities/
func BenchmarkApply(b *testing.B) {
	for _, set := range []struct {
		name string
		ms   []*pipeline.Mention
	}{{"posts", sample.Mentions()}, {"articles", sample.Articles()}} {
		for _, impl := range []struct {
			name  string
			apply func(*pipeline.Mention)
		}{{"former", formerApply}, {"new", Apply}} {
			b.Run(set.name+"/"+impl.name, func(b *testing.B) {
				b.ReportAllocs()
				m := new(pipeline.Mention)
				for i := 0; b.Loop(); i++ {
					*m = *set.ms[i%len(set.ms)]
					m.Enrichment = pipeline.Enrichment{}
					impl.apply(m)
				}
			})
		}
	}
}
