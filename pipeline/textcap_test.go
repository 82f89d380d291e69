package pipeline_test

import (
	"context"
	"strings"
	"testing"

	"github.com/earshot-dev/earshot/pipeline"
)

// seenText records the text each mention had while the stage ran.
type seenText struct {
	seen  map[string]string
	panic bool
}

func (s *seenText) Name() string    { return "seen" }
func (s *seenText) Version() string { return "1" }
func (s *seenText) Enrich(_ context.Context, batch []*pipeline.Mention) error {
	for _, m := range batch {
		s.seen[m.ID] = m.Text
	}
	if s.panic {
		panic("stage bug")
	}
	return nil
}

func TestCapTextCutsProseAndRestores(t *testing.T) {
	long := strings.Repeat("word ", 100) // 500 bytes
	links := strings.Repeat("https://example.com/some/long/path ", 10) + "@brand #tag " + strings.Repeat("prose ", 40)
	cases := []struct {
		name, text string
		want       func(string) bool
	}{
		{"short is untouched", "hello world", func(s string) bool { return s == "hello world" }},
		{"long is cut at a word near the cap", long, func(s string) bool {
			return len(s) >= 95 && len(s) <= 105 && strings.HasSuffix(s, "word") && strings.HasPrefix(long, s)
		}},
		{"links and tags do not count as prose", links, func(s string) bool {
			return strings.Count(s, "prose") >= 15 && strings.HasPrefix(links, s) && len(s) < len(links)
		}},
		{"no spaces: bounded to 8x the cap", strings.Repeat("漢", 500), func(s string) bool {
			return len(s) <= 800 && len(s) > 790 && strings.HasPrefix(strings.Repeat("漢", 500), s)
		}},
	}
	inner := &seenText{seen: map[string]string{}}
	st := pipeline.CapText(inner, 100)
	var batch []*pipeline.Mention
	for _, c := range cases {
		batch = append(batch, &pipeline.Mention{ID: c.name, Text: c.text})
	}
	if err := st.Enrich(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if got := inner.seen[c.name]; !c.want(got) {
			t.Errorf("%s: stage saw %q (%d bytes)", c.name, got, len(got))
		}
		if batch[i].Text != c.text {
			t.Errorf("%s: text after the stage = %q; want it restored", c.name, batch[i].Text)
		}
	}
	if st.Name() != "seen" || st.Version() != "1" {
		t.Errorf("capped stage is %s/%s; want the stage's own name and version", st.Name(), st.Version())
	}
}

func TestCapTextRestoresWhenTheStagePanics(t *testing.T) {
	text := strings.Repeat("word ", 100)
	m := &pipeline.Mention{ID: "a", Text: text}
	st := pipeline.CapText(&seenText{seen: map[string]string{}, panic: true}, 50)
	func() {
		defer func() { _ = recover() }()
		_ = st.Enrich(context.Background(), []*pipeline.Mention{m})
	}()
	if m.Text != text {
		t.Errorf("text after a panicking stage = %d bytes; want the original %d", len(m.Text), len(text))
	}
}

func TestCapTextZeroIsNoCap(t *testing.T) {
	inner := &seenText{seen: map[string]string{}}
	if st := pipeline.CapText(inner, 0); st != pipeline.Enricher(inner) {
		t.Errorf("CapText(st, 0) = %T; want st itself", st)
	}
}
