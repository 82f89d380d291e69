package sentiment

import (
	"sync"
	"testing"
)

// TestPredictConcurrent checks that goroutines sharing the model (its
// pooled extractors and lexicon scratch, with their tables of recent
// words) get the answers one goroutine gets. Run it with -race.
func TestPredictConcurrent(t *testing.T) {
	m, err := DefaultModel()
	if err != nil {
		t.Fatalf("DefaultModel: %v", err)
	}
	var texts []string
	for _, p := range regressionPosts {
		texts = append(texts, p.text)
	}
	texts = append(texts, fallbackPosts...)
	texts = append(texts, articles(texts)[:4]...)
	want := make([]Result, len(texts))
	for i, s := range texts {
		want[i] = m.Predict(s, "en")
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4*len(texts))
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 20 {
				for k := range texts {
					i := (k + g*7 + round) % len(texts)
					if got := m.Predict(texts[i], "en"); got != want[i] {
						errs <- texts[i]
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Errorf("Predict(%q) from several goroutines differs from one goroutine's answer", s)
	}
}
