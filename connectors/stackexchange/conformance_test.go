package stackexchange

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/connectortest"
	"github.com/earshot-dev/earshot/connectors/poll"
	"github.com/earshot-dev/earshot/connectors/poll/polltest"
	"github.com/earshot-dev/earshot/connectors/stackexchange/sefake"
	"github.com/earshot-dev/earshot/pipeline"
)

// fastSource builds a source reading fake with its time scales turned down.
func fastSource(t testing.TB, fake *sefake.Server, extra string) *Source {
	t.Helper()
	t.Setenv("EARSHOT_TEST_SE_KEY", fake.Key)
	key := ""
	if fake.Key != "" {
		key = "key: {env: EARSHOT_TEST_SE_KEY}\n"
	}
	doc := fmt.Sprintf("type: stackexchange\nname: se\nbase_url: %s\nmax_item_bytes: 4096\n%s%s", fake.URL, key, extra)
	if !strings.Contains(extra, "sites:") {
		doc += "sites: [stackoverflow]\n"
	}
	src, err := New(polltest.Spec(t, "stackexchange", doc), []pipeline.Topic{{ID: "acme", Query: "acme"}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s := src.(*Source)
	s.cfg.Interval = 50 * time.Millisecond
	s.cfg.RefreshInterval = 100 * time.Millisecond
	s.knobs = poll.FastKnobs()
	s.gap = 2 * time.Millisecond
	return s
}

type conformanceFake struct {
	polltest.Limits
	fake *sefake.Server
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
	p := &sefake.Post{Type: "question", Title: fmt.Sprintf("Question %d", n), Body: "<p>" + text + "</p>", Owner: "alice", OwnerID: 7}
	f.fake.Add(p)
	return MentionID("stackoverflow", "question", p.ID)
}

func postID(t testing.TB, mid string) int64 {
	n, err := strconv.ParseInt(mid[strings.LastIndexByte(mid, ':')+1:], 10, 64)
	if err != nil {
		t.Fatalf("mention id %q: %v", mid, err)
	}
	return n
}

func (f *conformanceFake) Edit(t testing.TB, mid, text string) {
	f.fake.Edit(postID(t, mid), "<p>"+text+"</p>")
}
func (f *conformanceFake) Delete(t testing.TB, mid string) { f.fake.Delete(postID(t, mid)) }

func (f *conformanceFake) Malformed(t testing.TB) {
	f.fake.AddRaw("question", "stackoverflow", func(id int64) string {
		return fmt.Sprintf(`{"question_id": %d, "title": "acme", "body": "acme", "creation_date": "today"}`, id)
	})
}

func (f *conformanceFake) Oversized(t testing.TB) {
	f.fake.AddRaw("question", "stackoverflow", func(id int64) string {
		return fmt.Sprintf(`{"question_id": %d, "title": "acme big", "creation_date": %d, "body": %q}`, id, time.Now().Unix(), strings.Repeat("x", 8000))
	})
}

// Throttle announces a backoff on the next search answer and refuses
// the next request with a throttle violation (error_id 502).
func (f *conformanceFake) Throttle(t testing.TB) {
	f.fake.Backoff("/search/advanced", 1)
	f.fake.Throttle.RefuseNext(1)
}

func (f *conformanceFake) Violations() []string { return f.fake.Violations() }

func TestConformance(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) connectortest.Fake {
		fake := sefake.New(t)
		fake.Key = "app-key"
		return &conformanceFake{fake: fake, Limits: polltest.Limits{Window: fake.Throttle, Outages: &fake.Outage}}
	}, connectortest.Options{StateKey: func(k string) bool { return k == "recent" || k == quotaKey }})
}
