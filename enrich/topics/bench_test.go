package topics

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/enrich/topics/query"
	"github.com/earshot-dev/earshot/pipeline"
)

// The benchmark corpus: n topic rules of the shapes analysts write (brands,
// product lines, phrases, NEAR, NOT clauses, tags, fields) and posts that
// mix everyday chatter, brand mentions, tags, links, emoji, accented and
// CJK text, from tweet length to article length.

var (
	syllables = strings.Fields("zen tra vo lix cor nex qua mo ri ta bel fin gro sol vex ar ky lum pra den osk ul mira tek")
	ambiguous = strings.Fields("apple amazon target shell delta oracle puma jaguar corona mercury dove tide gap subway " +
		"visa ford nest ring square slack zoom uber notion")
	products   = strings.Fields("max pro air one plus ultra mini lite go x1 s23 neo prime studio")
	issues     = strings.Fields("recall* lawsuit outage refund* broken crash* scam* leak* boycott* delay*")
	excludes   = strings.Fields("job hiring career* giveaway* horoscope recipe* fruit pie lyrics")
	sentiments = strings.Fields("love hate awesome terrible worst best disappointed amazing")
	words      = strings.Fields(`the a to and of in is it you that for on was with this my at be have not are but
		just so we they all i me if out up about what like get can do from when your one no time good more
		today people day know new think really going now want see great make back still need work going right
		way got even because also here well much home last year week phone app service order delivery customer
		support team store price update account battery screen car coffee food game music video news show city
		weather train flight hotel school money love feel happy sad tired morning night friends family weekend`)
	foreign = []string{
		"Le café était très bon ce matin à Paris, mais le service était lent.",
		"Die Straße in München war gesperrt, Größe der Störung unklar.",
		"¡Qué día! El pedido llegó tarde y la atención al cliente no respondió.",
		"İstanbul'da hava çok güzel, kırmızı çiçekler açtı.",
		"東京タワーに行きました。とても楽しかったです！",
		"서울 맛집 추천 부탁드려요",
		"Очень доволен покупкой, доставка быстрая.",
	}
)

func brandName(r *rand.Rand) string {
	if r.IntN(5) == 0 {
		return ambiguous[r.IntN(len(ambiguous))]
	}
	n := 2 + r.IntN(2)
	var b strings.Builder
	for range n {
		b.WriteString(syllables[r.IntN(len(syllables))])
	}
	return b.String()
}

func pick(r *rand.Rand, xs []string) string { return xs[r.IntN(len(xs))] }

func orList(r *rand.Rand, xs []string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = pick(r, xs)
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

// benchBrands returns the brand of each generated rule, deterministically.
func benchBrands(n int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	brands := make([]string, n)
	for i := range brands {
		brands[i] = brandName(r)
	}
	return brands
}

func benchTopics(n int) []pipeline.Topic {
	r := rand.New(rand.NewPCG(3, 4))
	brands := benchBrands(n)
	topics := make([]pipeline.Topic, n)
	for i, b := range brands {
		p := pick(r, products)
		var q string
		switch i % 10 {
		case 0:
			q = b
		case 1:
			q = fmt.Sprintf(`%s OR "%s %s"`, b, b, p)
		case 2:
			q = fmt.Sprintf(`(%s OR "%s %s" OR %s%s) NOT %s`, b, b, p, b, p, orList(r, excludes, 3))
		case 3:
			q = fmt.Sprintf(`"%s %s" OR #%s OR @%s`, b, p, b, b)
		case 4:
			q = fmt.Sprintf(`%s NEAR/5 %s`, b, orList(r, issues, 3))
		case 5:
			q = fmt.Sprintf(`(%s OR #%s) AND %s lang:en`, b, b, orList(r, sentiments, 3))
		case 6:
			q = fmt.Sprintf(`title:%s OR (%s AND site:news.example.com)`, b, b)
		case 7:
			q = fmt.Sprintf(`%s ONEAR/3 %s*`, b, pick(r, []string{"max", "pro", "ult", "lit", "stu", "pri"}))
		case 8:
			q = fmt.Sprintf(`(%s OR %s) AND NOT (%s OR "%s %s")`, b, brands[(i+1)%n], pick(r, excludes), b, pick(r, words))
		case 9:
			q = fmt.Sprintf(`"%s %s %s" OR (%s AND %s)`, pick(r, words), b, p, b, pick(r, sentiments))
		}
		topics[i] = pipeline.Topic{ID: fmt.Sprintf("t%04d", i), Query: q}
	}
	return topics
}

func benchPosts(n int) []*pipeline.Mention {
	r := rand.New(rand.NewPCG(5, 6))
	brands := benchBrands(1000)
	platforms := []string{"twitter", "reddit", "rss", "mastodon", "hn"}
	emoji := []string{"🔥", "😂", "👍🏽", "❤️", "🍎", "🚀"}
	posts := make([]*pipeline.Mention, n)
	for i := range posts {
		nw := 12 + r.IntN(40)
		if r.IntN(10) == 0 {
			nw = 150 + r.IntN(250) // an article
		}
		var b strings.Builder
		for j := range nw {
			if j > 0 {
				b.WriteByte(' ')
			}
			switch x := r.IntN(100); {
			case x < 3:
				b.WriteString(brandName(r))
			case x < 5:
				b.WriteString(brands[r.IntN(len(brands))])
				if r.IntN(2) == 0 {
					b.WriteString(" " + pick(r, products))
				}
			case x < 6:
				b.WriteString(strings.TrimSuffix(pick(r, issues), "*") + pick(r, []string{"", "ed", "s"}))
			case x < 7:
				b.WriteString(pick(r, sentiments))
			case x < 8:
				b.WriteString("#" + pick(r, append(syllables, brands[r.IntN(len(brands))])))
			case x < 9:
				b.WriteString("@" + pick(r, brands) + "_support")
			case x < 10:
				b.WriteString(pick(r, emoji))
			default:
				w := pick(r, words)
				if r.IntN(8) == 0 {
					w = strings.ToUpper(w[:1]) + w[1:]
				}
				b.WriteString(w)
				if r.IntN(10) == 0 {
					b.WriteString(pick(r, []string{",", ".", "!", "?", "…"}))
				}
			}
		}
		if r.IntN(6) == 0 {
			b.WriteString(" https://news.example.com/story/" + fmt.Sprint(r.IntN(1e6)))
		}
		if r.IntN(8) == 0 {
			b.WriteString(" " + pick(r, foreign))
		}
		m := &pipeline.Mention{ID: fmt.Sprintf("bench:%d", i), Platform: pick(r, platforms),
			Text: b.String(), Author: pipeline.Author{Handle: "user" + fmt.Sprint(i%97), Name: "Some User"}}
		if nw > 100 {
			m.Title = "Report: " + brandName(r) + " " + pick(r, issues)
			m.URL = "https://news.example.com/a/" + fmt.Sprint(i)
		}
		if r.IntN(2) == 0 {
			m.Enrichment.Lang = "en"
		}
		posts[i] = m
	}
	return posts
}

// cpuTime is the CPU time this process has used. The benchmarks report it
// per operation as cpu-ns/op beside the wall-clock ns/op, which other work
// on a shared machine inflates.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs fn(i) for i = 0, 1, … under b.Loop and reports cpu-ns/op.
func loop(b *testing.B, fn func(i int)) {
	start := cpuTime()
	i := 0
	for b.Loop() {
		fn(i)
		i++
	}
	b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(i), "cpu-ns/op")
}

func avgBytes(posts []*pipeline.Mention) int64 {
	var n int
	for _, p := range posts {
		n += len(p.Title) + len(p.Text)
	}
	return int64(n / len(posts))
}

// BenchmarkMatch is the topics stage's cost per post. Compare it with
// BenchmarkBaselineContains in the same run.
func BenchmarkMatch(b *testing.B) {
	posts := benchPosts(2000)
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			m := mustMatcher(b, benchTopics(n)...)
			b.SetBytes(avgBytes(posts))
			b.ReportAllocs()
			matched, n := 0, 0
			loop(b, func(i int) {
				ids, _ := m.Match(posts[i%len(posts)])
				matched += len(ids)
				n++
			})
			b.ReportMetric(float64(matched)/float64(n), "topics/post")
		})
	}
}

// BenchmarkTokenize is the part of BenchmarkMatch spent tokenizing.
func BenchmarkTokenize(b *testing.B) {
	posts := benchPosts(2000)
	b.SetBytes(avgBytes(posts))
	var t query.Tokenizer
	loop(b, func(i int) {
		p := posts[i%len(posts)]
		t.Reset()
		t.Tokenize(p.Title)
		t.Tokenize(p.Text)
	})
}

// BenchmarkBaselineContains is the simplest keyword matcher: for every rule,
// strings.Contains of each of its positive words on the lower-cased text.
// It is not even correct (no word boundaries, no NOT, no NEAR, no fields);
// it is the floor a real matcher is measured against.
func BenchmarkBaselineContains(b *testing.B) {
	posts := benchPosts(2000)
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			rules := baselineRules(b, benchTopics(n))
			b.SetBytes(avgBytes(posts))
			b.ReportAllocs()
			matched, n := 0, 0
			loop(b, func(i int) {
				p := posts[i%len(posts)]
				text := strings.ToLower(p.Title + "\n" + p.Text)
				for _, kws := range rules {
					for _, kw := range kws {
						if strings.Contains(text, kw) {
							matched++
							break
						}
					}
				}
				n++
			})
			b.ReportMetric(float64(matched)/float64(n), "topics/post")
		})
	}
}

// baselineRules extracts each rule's positive words, wildcards cut at '*'.
func baselineRules(b *testing.B, topics []pipeline.Topic) [][]string {
	out := make([][]string, len(topics))
	for i, t := range topics {
		q, err := query.Parse(t.Query)
		if err != nil {
			b.Fatal(err)
		}
		var walk func(n query.Node)
		walk = func(n query.Node) {
			switch n := n.(type) {
			case *query.Term:
				if n.Kind != query.TermValue {
					kw := strings.Join(n.Tokens, " ")
					if n.Kind != query.TermWords {
						kw = n.Value
					}
					out[i] = append(out[i], strings.TrimRight(strings.SplitN(kw, "*", 2)[0], "?"))
				}
			case *query.And:
				for _, x := range n.X {
					walk(x)
				}
			case *query.Or:
				for _, x := range n.X {
					walk(x)
				}
			case *query.Near:
				walk(n.X)
				walk(n.Y)
			}
		}
		walk(q.Root)
	}
	return out
}

// BenchmarkStage is the stage on batches of 100 mentions, with 1,000 rules.
func BenchmarkStage(b *testing.B) {
	posts := benchPosts(2000)
	st, err := New(benchTopics(1000))
	if err != nil {
		b.Fatal(err)
	}
	const batch = 100
	b.SetBytes(avgBytes(posts) * batch)
	loop(b, func(i int) {
		start := (i * batch) % len(posts)
		if err := st.Enrich(b.Context(), posts[start:start+batch]); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkNewMatcher is the cost of compiling 1,000 rules.
func BenchmarkNewMatcher(b *testing.B) {
	topics := benchTopics(1000)
	for b.Loop() {
		if _, err := NewMatcher(topics); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKeyLookup compares the key table with a Go map on the tokens of
// the benchmark posts, against the keys of 1,000 rules.
func BenchmarkKeyLookup(b *testing.B) {
	m := mustMatcher(b, benchTopics(1000)...)
	var t query.Tokenizer
	for _, p := range benchPosts(200) {
		t.Tokenize(p.Text)
	}
	toks := make([][]byte, len(t.Tokens))
	for i, x := range t.Tokens {
		toks[i] = t.Folded(x)
	}
	b.Run("keyTable", func(b *testing.B) {
		hits := 0
		loop(b, func(i int) {
			if m.table.get(toks[i%len(toks)]) >= 0 {
				hits++
			}
		})
	})
	b.Run("map", func(b *testing.B) {
		hits := 0
		loop(b, func(i int) {
			if _, ok := m.dict[string(toks[i%len(toks)])]; ok {
				hits++
			}
		})
	})
}
