package topics

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/earshot-dev/earshot/enrich/topics/query"
	"github.com/earshot-dev/earshot/pipeline"
	"go.yaml.in/yaml/v3"
)

var stageTopics = []pipeline.Topic{
	{ID: "acme", Query: `acme OR "acme corp"`},
	{ID: "recall", Query: `recall* NEAR/3 (acme OR scooter*)`},
}

func TestStageRegistered(t *testing.T) {
	f, ok := pipeline.EnricherFactoryFor(Name)
	if !ok {
		t.Fatalf("EnricherFactoryFor(%q) not registered", Name)
	}
	st, err := f(pipeline.EnricherEnv{Topics: stageTopics})
	if err != nil {
		t.Fatalf("factory: %v", err)
	}
	if st.Name() != "topics" || st.Version() != Version {
		t.Errorf("stage = %s %s; want topics %s", st.Name(), st.Version(), Version)
	}

	var node yaml.Node
	if err := yaml.Unmarshal([]byte("spans: false\n"), &node); err != nil {
		t.Fatal(err)
	}
	if _, err := f(pipeline.EnricherEnv{Topics: stageTopics, Options: &node, File: "earshot.yaml"}); err == nil ||
		!strings.Contains(err.Error(), `unknown key "spans"`) {
		t.Errorf("factory with unknown option: error = %v; want unknown key", err)
	}
	_, err = f(pipeline.EnricherEnv{Topics: []pipeline.Topic{{ID: "bad", Query: "a AND"}}})
	var se *query.SyntaxError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), `topic "bad"`) {
		t.Errorf("factory with a bad query: error = %v; want a SyntaxError naming the topic", err)
	}
}

func TestStageEnrich(t *testing.T) {
	st, err := New(stageTopics)
	if err != nil {
		t.Fatal(err)
	}
	hit := post("Acme recalls scooters")
	hit.Enrichment.Spans = []pipeline.Span{
		{Topic: "", Field: "text", Start: 0, End: 4},      // another stage's
		{Topic: "acme", Field: "text", Start: 9, End: 12}, // stale, from an earlier run
	}
	hit.Enrichment.Topics = []string{"stale"}
	miss := post("nothing to see")
	miss.Enrichment.Topics = []string{"acme"}
	batch := []*pipeline.Mention{hit, miss}

	for run := range 2 { // a redelivered batch ends up the same
		if err := st.Enrich(context.Background(), batch); err != nil {
			t.Fatalf("Enrich: %v", err)
		}
		if want := []string{"acme", "recall"}; !reflect.DeepEqual(hit.Enrichment.Topics, want) {
			t.Errorf("run %d: Topics = %v; want %v", run, hit.Enrichment.Topics, want)
		}
		wantSpans := []pipeline.Span{
			{Topic: "", Field: "text", Start: 0, End: 4},
			{Topic: "acme", Field: "text", Start: 0, End: 4},
			{Topic: "recall", Field: "text", Start: 0, End: 4},
			{Topic: "recall", Field: "text", Start: 5, End: 12},
			{Topic: "recall", Field: "text", Start: 13, End: 21},
		}
		if !reflect.DeepEqual(hit.Enrichment.Spans, wantSpans) {
			t.Errorf("run %d: Spans = %v; want %v", run, hit.Enrichment.Spans, wantSpans)
		}
		if miss.Enrichment.Topics != nil || miss.Enrichment.Spans != nil {
			t.Errorf("run %d: unmatched mention Topics = %v, Spans = %v; want none", run, miss.Enrichment.Topics, miss.Enrichment.Spans)
		}
		for _, m := range batch {
			if v := m.Enrichment.Versions[Name]; v != Version {
				t.Errorf("run %d: Versions[%q] = %q; want %q", run, Name, v, Version)
			}
		}
	}
}

func TestStageEnrichCancelled(t *testing.T) {
	st, err := New(stageTopics)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := st.Enrich(ctx, []*pipeline.Mention{post("acme")}); !errors.Is(err, context.Canceled) {
		t.Errorf("Enrich(cancelled) = %v; want context.Canceled", err)
	}
}

// FuzzMatch checks that matching never panics and that every span lies
// within its field, on character boundaries (for valid UTF-8, which
// pipeline.Mention.Normalize guarantees).
func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{
		{`(apple OR "apple pie") NOT banana`, "I ❤️ Apple pie!"},
		{`recall* NEAR/2 "brake pedal"`, "brake pedal recall recall"},
		{`東京 OR #tag* OR @user OR $TICK`, "東京タワー #tagged @User $tick"},
		{`title:café NEAR/0 crème`, "Café crème"},
		{`wom?n ONEAR/1 colo*r`, "women of colour"},
		{`NOT x`, "\xff\xfe invalid utf8 x"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, q, text string) {
		if _, err := query.Parse(q); err != nil {
			return
		}
		m, err := NewMatcher([]pipeline.Topic{{ID: "t", Query: q}})
		if err != nil {
			t.Fatalf("NewMatcher(%q) = %v after Parse accepted it", q, err)
		}
		m.Match(post(text))                        // invalid UTF-8 must not panic either
		text = strings.ToValidUTF8(text, "\uFFFD") // as pipeline.Mention.Normalize leaves it
		mention := post(text)
		mention.Title = text
		ids, spans := m.Match(mention)
		if len(ids) == 0 && len(spans) > 0 {
			t.Fatalf("Match(%q, %q): spans %v without a topic", q, text, spans)
		}
		for _, s := range spans {
			if s.Start < 0 || s.End > len(text) || s.Start >= s.End ||
				!utf8.RuneStart(text[s.Start]) || s.End < len(text) && !utf8.RuneStart(text[s.End]) {
				t.Fatalf("Match(%q, %q): span %+v outside the text or inside a character", q, text, s)
			}
		}
	})
}

// TestREADMEExample compiles the sample topics of the README.
func TestREADMEExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no ```yaml block")
	}
	var cfg struct {
		Topics []pipeline.Topic `yaml:"topics"`
	}
	if err := yaml.Unmarshal([]byte(block), &cfg); err != nil {
		t.Fatalf("README example: %v", err)
	}
	m, err := NewMatcher(cfg.Topics)
	if err != nil {
		t.Fatalf("README example: NewMatcher: %v", err)
	}
	if m.Len() != 2 {
		t.Fatalf("README example: %d topics; want 2", m.Len())
	}
	ids, _ := m.Match(with(post("Acme Corp announces a recall; the brake pedal on Acme scooters"), func(m *pipeline.Mention) { m.Lang = "en" }))
	if want := []string{"acme-brakes", "acme-recall"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("README example: Match = %v; want %v", ids, want)
	}
}
