package dedup

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/enrich/internal/evaldata"
	"github.com/earshot-dev/earshot/pipeline"
)

// corpus returns the real, human-written snippets of shared/data: VADER's
// movie, Amazon and NYT sets and the GoEmotions Reddit dev set. Nobody on
// the project wrote them, so they are a fair sample of unrelated texts.
func corpus(t *testing.T) []string {
	t.Helper()
	dir, err := evaldata.Dir()
	if err != nil {
		t.Fatalf("evaluation data: %v (set %s)", err, evaldata.EnvDir)
	}
	var texts []string
	for _, f := range []string{evaldata.VADERMovies, evaldata.VADERAmazon, evaldata.VADERNYT} {
		rs, err := evaldata.VADER(dir, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			texts = append(texts, r.Text)
		}
	}
	cs, err := evaldata.GoEmotionsDev(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		texts = append(texts, c.Text)
	}
	return texts
}

// TestCorpus measures, at max_distance 3 and 5, how often distinct real
// texts are merged (precision) and how many synthetic copies with one small
// edit join their original (recall).
func TestCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("corpus measurement skipped in -short mode")
	}
	texts := corpus(t)
	edits := []struct {
		name string
		fn   func([]string) []string
	}{
		{"word added in front", func(w []string) []string { return append([]string{"Wow"}, w...) }},
		{"last word cut", func(w []string) []string { return w[:len(w)-1] }},
		{"two words appended", func(w []string) []string { return append(w[:len(w):len(w)], "so", "true") }},
		{"middle word replaced", func(w []string) []string {
			c := append([]string(nil), w...)
			c[len(c)/2] = "xyzzy"
			return c
		}},
	}
	originals := func(s *Stage) []*pipeline.Mention {
		ms := make([]*pipeline.Mention, len(texts))
		for i, text := range texts {
			ms[i] = &pipeline.Mention{ID: fmt.Sprintf("c:%d", i), Text: text, CreatedAt: t0}
		}
		if err := s.Enrich(context.Background(), ms); err != nil {
			t.Fatal(err)
		}
		return ms
	}
	for _, maxDist := range []int{3, 5} {
		o := DefaultOptions()
		o.MaxDistance = maxDist
		ms := originals(NewWithOptions(o, nil))
		// A mention whose cluster is not its own fingerprint joined a
		// different earlier text (exact repeats in the corpus share one).
		merged, clustered := 0, 0
		for i, m := range ms {
			if m.Enrichment.DupCluster == "" {
				continue
			}
			clustered++
			sig, _ := Fingerprint(texts[i], o.MinWords)
			if m.Enrichment.DupCluster != (cluster{kind: 's', key: sig}).String() {
				merged++
				if merged <= 5 {
					t.Logf("max_distance %d merged: %.100q into %s", maxDist, texts[i], m.Enrichment.DupCluster)
				}
			}
		}
		t.Logf("max_distance %d: %d of %d fingerprinted texts merged into another text's cluster (%.3f%%)",
			maxDist, merged, clustered, 100*float64(merged)/float64(clustered))
		if limit := clustered / 1000; merged > limit {
			t.Errorf("max_distance %d: %d of %d distinct texts merged; want at most %d (0.1%%)", maxDist, merged, clustered, limit)
		}

		// Copies of tweet-length texts (8 to 40 words), one hour later, each
		// kind of edit against a fresh index holding only the originals.
		for _, ed := range edits {
			s := NewWithOptions(o, nil)
			ms := originals(s)
			n, joined := 0, 0
			for i, text := range texts {
				w := strings.Fields(text)
				if len(w) < 8 || len(w) > 40 || ms[i].Enrichment.DupCluster == "" {
					continue
				}
				c := &pipeline.Mention{ID: fmt.Sprintf("copy:%d", i), Text: strings.Join(ed.fn(w), " "), CreatedAt: t0.Add(time.Hour)}
				if err := s.Enrich(context.Background(), []*pipeline.Mention{c}); err != nil {
					t.Fatal(err)
				}
				n++
				if c.Enrichment.DupCluster == ms[i].Enrichment.DupCluster {
					joined++
				}
			}
			recall := float64(joined) / float64(max(n, 1))
			t.Logf("max_distance %d: %-20s %5d of %5d copies joined their original (recall %.2f)",
				maxDist, ed.name, joined, n, recall)
			if maxDist == DefaultOptions().MaxDistance && ed.name == "word added in front" && recall < 0.6 {
				t.Errorf("default max_distance: recall %.2f for %s; want at least 0.6", recall, ed.name)
			}
		}
	}
}
