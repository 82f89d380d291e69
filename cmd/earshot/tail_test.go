package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

// syncBuffer is a strings.Builder safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestTailSaysWhatItWaitsFor(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- tail(ctx, js.JS, &out, tailOptions{topic: "acme", all: true, limit: 1, stderr: &errOut, notice: 50 * time.Millisecond},
			pipelinetest.Logger(t))
	}()
	pipelinetest.WaitFor(t, 10*time.Second, "a waiting notice on stderr", func() bool {
		return strings.Contains(errOut.String(), "earshot tail: waiting for mentions on stream ENRICHED, subject mentions.enriched.>, topic acme (0 read so far without it)")
	})
	// A mention without the topic is counted in the notice; one with it is printed.
	m := &pipeline.Mention{ID: "t:1", Platform: "rss", Text: "other", CreatedAt: time.Now()}
	m2 := &pipeline.Mention{ID: "t:2", Platform: "rss", Text: "acme", CreatedAt: time.Now()}
	m2.Enrichment.Topics = []string{"acme"}
	for _, x := range []*pipeline.Mention{m, m2} {
		data, err := x.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if x == m2 {
			pipelinetest.WaitFor(t, 10*time.Second, "the skipped mention counted", func() bool {
				return strings.Contains(errOut.String(), "(1 read so far without it)")
			})
		}
		if _, err := js.JS.Publish(ctx, pipeline.SubjectEnrichedPrefix+"rss", data); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		if err != nil || !strings.Contains(out.String(), `"id":"t:2"`) || strings.Contains(out.String(), `"id":"t:1"`) {
			t.Errorf("tail = %v, printed %q; want only t:2", err, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tail did not stop after -n 1")
	}
}

func TestTailRejectsUnknownTopic(t *testing.T) {
	cfg := queryConfigFile(t)
	_, errOut, code := runMain(t, "", "tail", "--config", cfg, "--topic", "nosuch")
	if code != 2 || !strings.Contains(errOut, `--topic "nosuch" is not a topic of`) {
		t.Errorf("tail --topic nosuch = exit %d, %q; want a usage error naming it", code, errOut)
	}
}
