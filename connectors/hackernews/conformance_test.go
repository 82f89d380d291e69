package hackernews

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/connectortest"
	"github.com/earshot-dev/earshot/connectors/hackernews/hnfake"
	"github.com/earshot-dev/earshot/connectors/poll"
	"github.com/earshot-dev/earshot/connectors/poll/polltest"
	"github.com/earshot-dev/earshot/pipeline"
)

// fastSource builds a source reading fake with its time scales turned down.
func fastSource(t testing.TB, fake *hnfake.Server, extra string) *Source {
	t.Helper()
	doc := fmt.Sprintf("type: hackernews\nname: hn\nbase_url: %s\nmax_item_bytes: 4096\n%s", fake.URL, extra)
	src, err := New(polltest.Spec(t, "hackernews", doc), []pipeline.Topic{{ID: "acme", Query: `acme OR "acme corp"`}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s := src.(*Source)
	s.cfg.Interval = 50 * time.Millisecond
	s.cfg.RefreshInterval = 100 * time.Millisecond
	s.knobs = poll.FastKnobs()
	s.cfg.gap = 5 * time.Millisecond
	return s
}

type conformanceFake struct {
	polltest.Limits
	fake *hnfake.Server
	mu   sync.Mutex
	n    int
}

func (f *conformanceFake) Platform() string { return Platform }

func (f *conformanceFake) NewSource(t testing.TB) pipeline.Source { return fastSource(t, f.fake, "") }

func (f *conformanceFake) Post(t testing.TB, text string) string {
	f.mu.Lock()
	f.n++
	n := f.n
	f.mu.Unlock()
	it := &hnfake.Item{Type: "story", Author: "alice", Title: fmt.Sprintf("Story %d", n), Text: "<p>" + text + "</p>", Points: int64(n)}
	if n%2 == 0 {
		it = &hnfake.Item{Type: "comment", Author: "bob", Text: text + " <i>indeed</i>", ParentID: 1, StoryID: 1}
	}
	f.fake.Add(it)
	return mentionID(strconv.FormatInt(it.ID, 10))
}

func id(t testing.TB, mid string) int64 {
	n, err := strconv.ParseInt(strings.TrimPrefix(mid, Platform+":"), 10, 64)
	if err != nil {
		t.Fatalf("mention id %q: %v", mid, err)
	}
	return n
}

func (f *conformanceFake) Edit(t testing.TB, mid, text string) { f.fake.Edit(id(t, mid), text) }
func (f *conformanceFake) Delete(t testing.TB, mid string)     { f.fake.Delete(id(t, mid)) }

func (f *conformanceFake) Malformed(t testing.TB) {
	f.fake.AddRaw("story", func(id int64) string {
		return fmt.Sprintf(`{"objectID": "%d", "title": "acme broken", "created_at_i": "yesterday", "_tags": ["story"]}`, id)
	})
}

func (f *conformanceFake) Oversized(t testing.TB) {
	f.fake.AddRaw("story", func(id int64) string {
		return fmt.Sprintf(`{"objectID": "%d", "title": "acme big", "created_at_i": %d, "_tags": ["story"], "story_text": %q}`,
			id, time.Now().Unix(), strings.Repeat("x", 8000))
	})
}

func TestConformance(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) connectortest.Fake {
		fake := hnfake.New(t)
		// Throttle: a 429 with Retry-After, the only rate-limit signal the API gives.
		return &conformanceFake{fake: fake, Limits: polltest.Limits{Window: fake.Window, Outages: &fake.Outage}}
	}, connectortest.Options{StateKey: func(k string) bool { return k == "recent" }})
}
