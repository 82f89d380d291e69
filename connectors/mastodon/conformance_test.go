package mastodon

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/connectortest"
	"github.com/earshot-dev/earshot/connectors/mastodon/mastodonfake"
	"github.com/earshot-dev/earshot/pipeline"
)

// spec parses a connector entry as cmd/earshot hands it over.
func spec(t testing.TB, doc string) *pipeline.ConnectorSpec { return connectortest.Spec(t, doc) }

// fastSource builds a source from a config body with time scales turned down.
func fastSource(t testing.TB, doc string) *Source {
	t.Helper()
	src, err := New(spec(t, "type: mastodon\nname: m\nmax_item_bytes: 4096\n"+doc), nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s := src.(*Source)
	s.cfg.Interval = 50 * time.Millisecond
	s.cfg.StallTimeout = time.Second
	s.errBackoff = pipeline.Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	s.publishBackoff = pipeline.Backoff{Min: 20 * time.Millisecond, Max: 100 * time.Millisecond}
	s.healthyAfter = time.Hour
	return s
}

// conformanceFake drives mastodonfake for the conformance suite: statuses
// tagged #acme, read through the hashtag stream (and timeline catch-up).
type conformanceFake struct {
	fake  *mastodonfake.Server
	extra string
	mu    sync.Mutex
	ids   map[string]string // mention id -> local status id
}

func newConformanceFake(t *testing.T, extra string) *conformanceFake {
	f := mastodonfake.New(t)
	f.Heartbeat = 100 * time.Millisecond
	return &conformanceFake{fake: f, extra: extra, ids: map[string]string{}}
}

func (f *conformanceFake) Platform() string { return Platform }

func (f *conformanceFake) NewSource(t testing.TB) pipeline.Source {
	return fastSource(t, fmt.Sprintf("instances: [{base_url: %s}]\nhashtags: [acme]\n%s", f.fake.URL, f.extra))
}

func (f *conformanceFake) Post(t testing.TB, text string) string {
	st := &mastodonfake.Status{Tags: []string{"acme"}, Content: "<p>" + text + " <a href=\"https://x.example/tags/acme\">#<span>acme</span></a></p>",
		Account: mastodonfake.Account{Acct: "alice", DisplayName: "Alice", Followers: 10}, Language: "en"}
	f.fake.Add(st)
	id := mentionID(st.URI)
	f.mu.Lock()
	f.ids[id] = st.ID
	f.mu.Unlock()
	return id
}

func (f *conformanceFake) local(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ids[id]
}

func (f *conformanceFake) Edit(t testing.TB, id, text string) {
	f.fake.Edit(f.local(id), "<p>"+text+"</p>")
}

func (f *conformanceFake) Delete(t testing.TB, id string) { f.fake.Delete(f.local(id)) }

func (f *conformanceFake) Malformed(t testing.TB) {
	f.fake.AddRaw("acme", func(id string) string { return `{"id": "` + id + `", "uri": 12, "created_at": "not a time"}` })
}

func (f *conformanceFake) Oversized(t testing.TB) {
	f.fake.AddRaw("acme", func(id string) string {
		return fmt.Sprintf(`{"id": %q, "uri": "https://big.example/statuses/%s", "created_at": %q, "content": "<p>acme %s</p>", "account": {"acct": "big"}}`,
			id, id, time.Now().UTC().Format(time.RFC3339), strings.Repeat("x", 8000))
	})
}

func (f *conformanceFake) Throttle(t testing.TB) {
	f.fake.Window.Set(3, time.Second)
	f.fake.Window.RefuseNext(1)
}

func (f *conformanceFake) Throttled() int                       { return f.fake.Window.Throttled() }
func (f *conformanceFake) Outage(t testing.TB, d time.Duration) { f.fake.GoDown(d) }
func (f *conformanceFake) OutageRequests() int                  { return f.fake.Outage.Requests() }
func (f *conformanceFake) Violations() []string                 { return f.fake.Violations() }

func TestConformance(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) connectortest.Fake { return newConformanceFake(t, "") }, connectortest.Options{})
}
