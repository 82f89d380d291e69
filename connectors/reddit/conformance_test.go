package reddit

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/connectortest"
	"github.com/earshot-dev/earshot/connectors/reddit/redditfake"
	"github.com/earshot-dev/earshot/pipeline"
)

// spec parses a connector entry as cmd/earshot hands it over.
func spec(t testing.TB, doc string) *pipeline.ConnectorSpec { return connectortest.Spec(t, doc) }

// fastSource builds a source reading fake with its time scales turned down.
func fastSource(t testing.TB, fake *redditfake.Server, extra string) *Source {
	t.Helper()
	t.Setenv("EARSHOT_TEST_REDDIT_ID", fake.ClientID)
	t.Setenv("EARSHOT_TEST_REDDIT_SECRET", fake.ClientSecret)
	doc := fmt.Sprintf(`type: reddit
name: r
client_id: {env: EARSHOT_TEST_REDDIT_ID}
client_secret: {env: EARSHOT_TEST_REDDIT_SECRET}
user_agent: "test:earshot:v0 (by /u/earshot)"
auth_url: %s
base_url: %s
max_item_bytes: 4096
%s`, fake.AuthURL(), fake.URL, extra)
	src, err := New(spec(t, doc), []pipeline.Topic{{ID: "acme", Query: `acme OR "acme corp"`}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s := src.(*Source)
	s.cfg.Interval = 50 * time.Millisecond
	s.cfg.RefreshInterval = 100 * time.Millisecond
	s.errBackoff = pipeline.Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	s.publishBackoff = pipeline.Backoff{Min: 20 * time.Millisecond, Max: 100 * time.Millisecond}
	return s
}

// conformanceFake drives redditfake for the conformance suite: posts in
// r/acme, read through /r/acme/new.
type conformanceFake struct {
	fake *redditfake.Server
	mu   sync.Mutex
	n    int
}

func (f *conformanceFake) Platform() string { return Platform }

func (f *conformanceFake) NewSource(t testing.TB) pipeline.Source {
	return fastSource(t, f.fake, "subreddits: [acme]\ncomments: false\n")
}

func (f *conformanceFake) Post(t testing.TB, text string) string {
	f.mu.Lock()
	f.n++
	n := f.n
	f.mu.Unlock()
	it := &redditfake.Item{Kind: "t3", Subreddit: "acme", Title: fmt.Sprintf("post %d", n), Body: text, Author: "alice", Score: int64(n)}
	f.fake.Add(it)
	return mentionID(it.Name())
}

func (f *conformanceFake) Edit(t testing.TB, id, text string) {
	f.fake.Edit(strings.TrimPrefix(id, Platform+":"), text)
}

func (f *conformanceFake) Delete(t testing.TB, id string) {
	f.fake.Delete(strings.TrimPrefix(id, Platform+":"))
}

func (f *conformanceFake) Malformed(t testing.TB) {
	f.fake.AddRaw("t3", "acme", func(name string) string {
		return `{"kind": "t3", "data": {"name": "` + name + `", "created_utc": "yesterday", "title": 7}}`
	})
}

func (f *conformanceFake) Oversized(t testing.TB) {
	f.fake.AddRaw("t3", "acme", func(name string) string {
		return fmt.Sprintf(`{"kind": "t3", "data": {"id": %q, "name": %q, "subreddit": "acme", "created_utc": %d, "title": "big", "selftext": %q}}`,
			strings.TrimPrefix(name, "t3_"), name, time.Now().Unix(), "acme "+strings.Repeat("x", 8000))
	})
}

func (f *conformanceFake) Throttle(t testing.TB) {
	f.fake.Window.Set(3, time.Second)
	f.fake.Window.RefuseNext(1)
}

func (f *conformanceFake) Throttled() int                       { return f.fake.Window.Throttled() }
func (f *conformanceFake) Outage(t testing.TB, d time.Duration) { f.fake.Outage.Start(d) }
func (f *conformanceFake) OutageRequests() int                  { return f.fake.Outage.Requests() }
func (f *conformanceFake) Violations() []string                 { return f.fake.Violations() }

func TestConformance(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) connectortest.Fake {
		return &conformanceFake{fake: redditfake.New(t)}
	}, connectortest.Options{})
}
