package topics

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/earshot-dev/earshot/enrich/topics/query"
	"github.com/earshot-dev/earshot/pipeline"
)

// post is a mention with the given text, on twitter, nothing else set.
func post(text string) *pipeline.Mention {
	return &pipeline.Mention{ID: "twitter:1", Platform: "twitter", Text: text}
}

func with(m *pipeline.Mention, edit func(*pipeline.Mention)) *pipeline.Mention {
	edit(m)
	return m
}

func mustMatcher(t testing.TB, topics ...pipeline.Topic) *Matcher {
	t.Helper()
	m, err := NewMatcher(topics)
	if err != nil {
		t.Fatalf("NewMatcher: %v", err)
	}
	return m
}

func TestMatch(t *testing.T) {
	article := with(post("Brakes fail on the new model, owners say."), func(m *pipeline.Mention) {
		m.Title = "Acme recalls 10,000 scooters"
		m.URL = "https://news.Example.com/2024/recall"
		m.Author = pipeline.Author{Handle: "@JaneDoe", Name: "Jane Müller"}
		m.Lang = "en-US"
		m.Enrichment.Domains = []string{"cdn.acme.io"}
		m.Enrichment.Hashtags = []string{"scootergate"}
		m.Enrichment.Cashtags = []string{"ACME"}
		m.Enrichment.Mentions = []string{"acme_support"}
	})
	tests := []struct {
		q    string
		m    *pipeline.Mention
		want bool
	}{
		// words, boundaries, case
		{`apple`, post("I love Apple."), true},
		{`apple`, post("APPLE!!!"), true},
		{`apple`, post("pineapple juice"), false},
		{`apple`, post("apples"), false},
		{`apple`, post("apple-pie"), true},
		{`apple`, post("#apple"), true}, // a hashtag's words are words
		{`apple`, post("@apple"), true},
		{`apple`, post("https://www.apple.com/iphone"), true},
		{`pie`, post("mcdonald's pie"), true},
		// phrases
		{`"apple pie"`, post("Grandma's apple   pie!"), true},
		{`"apple pie"`, post("apple, pie"), true}, // punctuation is not a word
		{`"apple pie"`, post("apple tart pie"), false},
		{`"apple pie"`, post("pie apple"), false},
		{`"apple pie"`, post("apple"), false},
		{`"new york times"`, post("the New York Times says"), true},
		{`"new york times"`, post("new york, times square"), true},
		{`"new york times"`, post("times new york"), false},
		{`covid-19`, post("COVID 19 cases"), true},
		{`covid-19`, post("covid19 cases"), false},
		// wildcards
		{`recall*`, post("Acme recalled scooters"), true},
		{`recall*`, post("a recall"), true},
		{`recall*`, post("precall"), false},
		{`wom?n`, post("women and men"), true},
		{`wom?n`, post("woman"), true},
		{`wom?n`, post("womn"), false},
		{`colo*r`, post("colour"), true},
		{`colo*r`, post("color"), true},
		{`colo*r`, post("colors"), false},
		{`"recall* notice"`, post("recalled notice"), true},
		{`"recall* notice"`, post("notice recalled"), false},
		{`"the recall*"`, post("the recalls"), true},
		// AND, OR, NOT
		{`apple AND pie`, post("pie made of apple"), true},
		{`apple AND pie`, post("apple tart"), false},
		{`apple pie`, post("pie, apple"), true}, // implicit AND
		{`apple OR pie`, post("pie"), true},
		{`apple OR pie`, post("tart"), false},
		{`apple NOT pie`, post("apple tart"), true},
		{`apple NOT pie`, post("apple pie"), false},
		{`apple AND NOT pie`, post("apple pie"), false},
		{`NOT spam`, post("ham"), true},
		{`NOT spam`, post("spam"), false},
		{`NOT NOT spam`, post("spam"), true},
		// precedence: NEAR > NOT > AND > OR
		{`a OR b AND c`, post("a"), true},
		{`a OR b AND c`, post("b"), false},
		{`(a OR b) AND c`, post("a"), false},
		{`(a OR b) AND c`, post("b c"), true},
		{`apple OR iphone NOT pie`, post("apple pie"), true},   // apple OR (iphone AND NOT pie)
		{`apple OR iphone NOT pie`, post("iphone pie"), false}, // NOT binds to iphone only
		{`(apple OR iphone) NOT pie`, post("apple pie"), false},
		{`NOT apple NEAR/2 pie`, post("apple and pie"), false}, // NOT (apple NEAR/2 pie)
		{`NOT apple NEAR/2 pie`, post("apple is not a kind of pie"), true},
		{`x OR apple NEAR/1 pie`, post("pie x"), true},
		// nesting
		{`((acme OR globex) AND (recall* OR lawsuit)) NOT (job OR hiring)`, post("Globex lawsuit filed"), true},
		{`((acme OR globex) AND (recall* OR lawsuit)) NOT (job OR hiring)`, post("Globex lawsuit: hiring lawyers"), false},
		{`((acme OR globex) AND (recall* OR lawsuit)) NOT (job OR hiring)`, post("Globex is great"), false},
		// NEAR: at most n words between, either order; ONEAR: left first
		{`apple NEAR/0 pie`, post("apple pie"), true},
		{`apple NEAR/0 pie`, post("pie apple"), true},
		{`apple NEAR/0 pie`, post("apple tasty pie"), false},
		{`apple NEAR/2 pie`, post("apple, so tasty: pie"), true},
		{`apple NEAR/2 pie`, post("apple is so tasty pie"), false},
		{`apple NEAR/2 pie`, post("pie is so apple"), true},
		{`apple ONEAR/2 pie`, post("pie is so apple"), false},
		{`apple NEAR/2f pie`, post("apple is so pie"), true},
		{`apple NEAR/2 apple`, post("apple"), false}, // needs two occurrences
		{`apple NEAR/2 apple`, post("apple apple"), true},
		{`"brake pedal" NEAR/3 recall*`, post("brake pedal issue prompts recall"), true},
		{`"brake pedal" NEAR/1 recall*`, post("brake pedal issue prompts recall"), false},
		{`recall* NEAR/3 "brake pedal"`, post("recalls over a faulty brake pedal"), true},
		{`(airbag OR brakes) NEAR/2 recall*`, post("brakes recalled"), true},
		{`(airbag OR brakes) NEAR/2 recall*`, post("airbag fine, brakes are fine, no recall"), false},
		{`(acme NEAR/1 recall) NEAR/3 scooter*`, post("scooters: Acme recall announced"), true},
		{`(acme NEAR/1 recall) NEAR/3 scooter*`, post("Acme announced a recall of scooters"), false},
		{`apple NEAR/3 #pie`, post("apple #pie"), true},
		{`title:apple NEAR/3 pie`, with(post("pie"), func(m *pipeline.Mention) { m.Title = "apple" }), false}, // different fields
		{`apple NEAR/3 pie`, with(post("pie"), func(m *pipeline.Mention) { m.Title = "apple" }), false},
		// Unicode
		{`café`, post("Le cafe est bon"), true},
		{`cafe`, post("Un CAFÉ, s'il vous plaît"), true},
		{`cafe`, post("cafe\u0301"), true}, // decomposed é
		{`crème brûlée`, post("CREME BRULEE"), true},
		{`straße`, post("Strasse"), true},
		{`strasse`, post("Hauptstraße"), false}, // compounds are one word
		{`istanbul`, post("İSTANBUL"), true},
		{`istanbul`, post("ıstanbul"), true},
		{`İstanbul`, post("istanbul"), true},
		{`kirmizi`, post("KIRMIZI kırmızı"), true},
		{`iphone`, post("ＩＰｈｏｎｅ"), true},
		{`東京`, post("東京タワーに行きました"), true},
		{`タワー`, post("東京タワーに行きました"), true},
		{`"東京 タワー"`, post("東京タワー"), true},
		{`東京タワー`, post("東京の タワー"), false},
		{`京都`, post("東京都"), true}, // CJK: substring matching, by design
		{`서울`, post("서울 맛집"), true},
		{`서울`, post("서울시"), false},
		{`apple`, post("🍎apple🍎"), true},
		{`apple`, post("love❤️apple"), true},
		{`🍎`, post("fresh🍎today"), true},
		{`👍`, post("great 👍🏽"), true},
		{`"apple 🍎"`, post("apple🍎"), true},
		// fields
		{`title:recall*`, article, true},
		{`title:brakes`, article, false},
		{`text:brakes`, article, true},
		{`text:recall*`, article, false},
		{`brakes AND recalls`, article, true}, // title and text both count
		{`title:(scooter* AND acme)`, article, true},
		{`author:janedoe`, article, true},
		{`author:@JaneDoe`, article, true},
		{`author:jane`, article, true},
		{`author:muller`, article, true},
		{`author:"jane müller"`, article, true},
		{`author:jane*`, article, true},
		{`author:doe`, article, false},
		{`jane`, article, false}, // the author is not the text
		{`site:example.com`, article, true},
		{`site:www.example.com`, article, true},
		{`domain:news.example.com`, article, true},
		{`site:ample.com`, article, false},
		{`site:acme.io`, article, true},
		{`site:example.org`, article, false},
		{`lang:en`, article, true},
		{`lang:en-us`, article, true},
		{`lang:de`, article, false},
		{`lang:de`, with(post("x"), func(m *pipeline.Mention) { m.Lang = "en"; m.Enrichment.Lang = "de" }), true},
		{`lang:en`, with(post("x"), func(m *pipeline.Mention) { m.Lang = "en"; m.Enrichment.Lang = "de" }), false},
		{`platform:twitter`, article, true},
		{`platform:Reddit`, article, false},
		{`brakes platform:twitter`, article, true},
		// tags and handles
		{`#scootergate`, article, true}, // from Enrichment.Hashtags
		{`#wwdc`, post("Watching #WWDC now"), true},
		{`#wwdc`, post("Watching WWDC now"), false},
		{`#wwdc`, post("Watching #WWDC25"), false},
		{`#wwdc*`, post("Watching #WWDC25"), true},
		{`#nike_air`, post("#NikeAir"), true}, // '_' does not count
		{`title:#launch`, with(post("#launch"), func(m *pipeline.Mention) { m.Title = "launch" }), false},
		{`@acme`, post("hey @Acme!"), true},
		{`@acme`, post("mail me@acme.com"), false},
		{`@acme_support`, article, true}, // from Enrichment.Mentions
		{`@janedoe`, article, true},      // the author handle
		{`$acme`, article, true},         // from Enrichment.Cashtags
		{`$aapl`, post("$AAPL up 3%"), true},
		{`$aapl`, post("AAPL up 3%"), false},
		{`aapl`, post("$AAPL up"), true},
	}
	for _, tt := range tests {
		m := mustMatcher(t, pipeline.Topic{ID: "t", Query: tt.q})
		ids, _ := m.Match(tt.m)
		if got := len(ids) == 1; got != tt.want {
			t.Errorf("Match(%q, %q) = %v; want %v", tt.q, tt.m.Title+" | "+tt.m.Text, got, tt.want)
		}
	}
}

func TestMatchSpans(t *testing.T) {
	m := mustMatcher(t,
		pipeline.Topic{ID: "fruit", Query: `(apple OR "pear tart") NOT banana`},
		pipeline.Topic{ID: "near", Query: `recall* NEAR/3 (airbag OR "brake pedal")`},
		pipeline.Topic{ID: "tag", Query: `#café OR @acme`},
		pipeline.Topic{ID: "cjk", Query: `タワー`},
		pipeline.Topic{ID: "none", Query: `zebra`},
		pipeline.Topic{ID: "neg", Query: `NOT zebra`},
	)
	mention := &pipeline.Mention{
		Title: "Café: Apple & pear tart",
		Text:  "Ölçü: the brake pedal recall at @Acme's #Café, apple… and 東京タワー",
	}
	ids, spans := m.Match(mention)
	if want := []string{"cjk", "fruit", "near", "neg", "tag"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("Match ids = %v; want %v", ids, want)
	}
	type span struct{ topic, field, text string }
	var got []span
	for _, s := range spans {
		src := mention.Text
		if s.Field == "title" {
			src = mention.Title
		}
		got = append(got, span{s.Topic, s.Field, src[s.Start:s.End]})
	}
	want := []span{
		{"cjk", "text", "タワー"},
		{"fruit", "text", "apple"},
		{"fruit", "title", "Apple"},
		{"fruit", "title", "pear tart"},
		{"near", "text", "brake pedal"},
		{"near", "text", "recall"},
		{"tag", "text", "@Acme"},
		{"tag", "text", "#Café"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Match spans = %v; want %v", got, want)
	}
}

func TestMatchSpansBounded(t *testing.T) {
	m := mustMatcher(t, pipeline.Topic{ID: "a", Query: "apple"})
	ids, spans := m.Match(post(strings.Repeat("apple ", 1000)))
	if len(ids) != 1 || len(spans) != MaxSpansPerTopic {
		t.Errorf("Match(1000 × apple) = %v, %d spans; want [a], %d spans", ids, len(spans), MaxSpansPerTopic)
	}
	if spans[0].Start != 0 || spans[1].Start != 6 {
		t.Errorf("Match(1000 × apple) spans start %v; want the first occurrences", spans[:2])
	}
}

func TestNewMatcherErrors(t *testing.T) {
	_, err := NewMatcher([]pipeline.Topic{
		{ID: "ok", Query: "apple"},
		{ID: "broken", Query: "apple AND (pie"},
		{ID: "", Query: "x"},
		{ID: "dup", Query: "x"},
		{ID: "dup", Query: "y"},
		{ID: "wild", Query: "re*"},
	})
	if err == nil {
		t.Fatal("NewMatcher accepted invalid topics")
	}
	for _, want := range []string{
		`topic "broken": invalid topic query: col 11: unbalanced parenthesis opened at col 11`,
		`topic with query "x": invalid topic id: empty`,
		`topic "dup": invalid topic id: defined twice`,
		`topic "wild": invalid topic query: col 1: wildcard needs at least 3 letters`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("NewMatcher error = %v; want it to contain %q", err, want)
		}
	}
	var se *query.SyntaxError
	if !errors.As(err, &se) || se.Col != 11 {
		t.Errorf("NewMatcher error = %v; want a *query.SyntaxError at col 11", err)
	}
	if !errors.Is(err, ErrQuery) || !errors.Is(err, ErrTopicID) {
		t.Errorf("NewMatcher error = %v; want ErrQuery and ErrTopicID", err)
	}
}

func TestMatchNoTopics(t *testing.T) {
	m := mustMatcher(t)
	if ids, spans := m.Match(post("anything")); ids != nil || spans != nil {
		t.Errorf("Match with no topics = %v, %v; want nil, nil", ids, spans)
	}
}

// TestPrefilterAgrees checks that the anchor prefilter never loses a match:
// on the benchmark corpus, matching with the prefilter gives exactly what
// evaluating every rule on every mention gives.
func TestPrefilterAgrees(t *testing.T) {
	topics := benchTopics(1000)
	m := mustMatcher(t, topics...)
	if st := m.Stats(); st.AlwaysEvaluated > 10 {
		t.Errorf("Stats() = %+v; want almost every generated rule anchored", st)
	}
	posts := benchPosts(2000)
	matched := 0
	for _, p := range posts {
		got, _ := m.Match(p)
		want := m.matchAll(p)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Match(%q) = %v; evaluating every rule gives %v", p.Text, got, want)
		}
		matched += len(got)
	}
	if matched < len(posts)/4 {
		t.Errorf("only %d matches on %d posts: the corpus does not exercise the rules", matched, len(posts))
	}
}

// matchAll evaluates every rule, bypassing the prefilter.
func (mt *Matcher) matchAll(m *pipeline.Mention) []string {
	s := mt.pool.Get().(*scratch)
	defer mt.pool.Put(s)
	s.begin(m)
	s.index(m)
	var ids []string
	for _, r := range mt.rules {
		if s.eval(r.root) {
			ids = append(ids, r.id)
		}
	}
	return ids
}

func TestGlob(t *testing.T) {
	tests := []struct {
		p, s string
		want bool
	}{
		{"recall*", "recall", true},
		{"recall*", "recalled", true},
		{"recall*", "recal", false},
		{"col*r", "colour", true},
		{"col*r", "colr", true},
		{"col*r", "colors", false},
		{"wom?n", "woman", true},
		{"wom?n", "womn", false},
		{"caf?", "café", true}, // ? is one character, not one byte
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"abc**", "abc", true},
	}
	for _, tt := range tests {
		if got := glob(tt.p, []byte(tt.s)); got != tt.want {
			t.Errorf("glob(%q, %q) = %v; want %v", tt.p, tt.s, got, tt.want)
		}
	}
}
