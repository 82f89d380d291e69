package topics

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/earshot-dev/earshot/enrich/entities"
	"github.com/earshot-dev/earshot/enrich/internal/evaldata"
	"github.com/earshot-dev/earshot/enrich/internal/sample"
	"github.com/earshot-dev/earshot/enrich/topics/query"
	"github.com/earshot-dev/earshot/pipeline"
)

// realTexts are the texts of shared/data, or nil (logged) when it is not
// there outside CI.
func realTexts(t testing.TB) []string {
	t.Helper()
	return evaldata.TextsIfAny(t)
}

// wordRules builds rules of every shape from the words of real texts, so
// that they match often: words, phrases, wildcards, NEAR and ONEAR, tags,
// handles, NOT and title:.
func wordRules(texts []string) []pipeline.Topic {
	var out []pipeline.Topic
	for i := 0; i < len(texts) && len(out) < 1000; i += 37 {
		ws := strings.Fields(query.Fold(texts[i]))
		if len(ws) < 4 {
			continue
		}
		a, b, c := ws[1], ws[2], ws[len(ws)-1]
		var q string
		switch len(out) % 8 {
		case 0:
			q = a
		case 1:
			q = fmt.Sprintf("%q", a+" "+b)
		case 2:
			if len([]rune(a)) < 4 {
				continue
			}
			q = string([]rune(a)[:3]) + "*"
		case 3:
			q = fmt.Sprintf("%s NEAR/3 %s", a, c)
		case 4:
			q = fmt.Sprintf("#%s OR @%s OR %s", b, a, c)
		case 5:
			q = fmt.Sprintf("%s AND NOT %s", b, a)
		case 6:
			q = fmt.Sprintf("title:%s OR (%s ONEAR/5 %s)", c, a, b)
		case 7:
			q = fmt.Sprintf("%q NEAR/2 %s*", a+" "+b, string([]rune(c + "xyz")[:3]))
		}
		if _, err := query.Parse(q); err != nil {
			continue
		}
		out = append(out, pipeline.Topic{ID: fmt.Sprintf("w%05d", len(out)), Query: q})
	}
	return out
}

// TestMatchMatchesFormer checks Match finds the same topics and spans as the
// former index, on the sample posts and articles, the generated benchmark
// posts and every text of shared/data (alone, as articles with a title, and
// joined into ~1.2 KB texts), with the entities stage's tags and handles,
// against the generated benchmark rules (this package's and the chain
// benchmark's), the sample's topics and 1,000 rules made of the texts' own
// words.
func TestMatchMatchesFormer(t *testing.T) {
	texts := realTexts(t)
	ms := append(sample.Mentions(), sample.Articles()...)
	ms = append(ms, benchPosts(2000)...)
	for i, s := range texts {
		m := &pipeline.Mention{Text: s, Platform: "x", Lang: "en"}
		if i%7 == 0 {
			m.Title = texts[(i+1)%len(texts)]
		}
		ms = append(ms, m)
	}
	for _, s := range evaldata.Joined(texts, 1200, 5) {
		ms = append(ms, &pipeline.Mention{Text: s, Platform: "rss"})
	}
	for _, m := range ms {
		entities.Apply(m)
	}
	rules := append(benchTopics(1000), sample.Rules(1000, "c")...)
	rules = append(rules, sample.Topics()...)
	if len(texts) > 0 {
		rules = append(rules, wordRules(texts)...)
	}
	mt := mustMatcher(t, rules...)
	spans := 0
	for _, m := range ms {
		ids, ss := mt.Match(m)
		wids, wss := mt.formerMatch(m)
		if !reflect.DeepEqual(ids, wids) || !reflect.DeepEqual(ss, wss) {
			t.Fatalf("Match(title %q, text %q) = %v, %v; want (former) %v, %v", m.Title, m.Text, ids, ss, wids, wss)
		}
		spans += len(ss)
	}
	if spans < len(ms) {
		t.Fatalf("%d spans on %d mentions: the rules match too little to compare", spans, len(ms))
	}
}

// BenchmarkMatchFormer is Match beside the former index with 1,000 rules,
// on the sample posts and the ~1 KB sample articles, in the same run:
//
//	go test -run '^$' -bench 'MatchFormer' -benchtime 20000x ./enrich/topics/
func BenchmarkMatchFormer(b *testing.B) {
	mt := mustMatcher(b, append(benchTopics(1000), sample.Topics()...)...)
	for _, set := range []struct {
		name string
		ms   []*pipeline.Mention
	}{{"posts", sample.Mentions()}, {"articles", sample.Articles()}} {
		for _, impl := range []struct {
			name  string
			match func(*pipeline.Mention) ([]string, []pipeline.Span)
		}{{"former", mt.formerMatch}, {"new", mt.Match}} {
			b.Run(set.name+"/"+impl.name, func(b *testing.B) {
				b.ReportAllocs()
				loop(b, func(i int) { impl.match(set.ms[i%len(set.ms)]) })
			})
		}
	}
}
