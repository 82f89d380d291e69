package bluesky

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/bluesky/jetstreamfake"
	"github.com/earshot-dev/earshot/connectors/connectortest"
	"github.com/earshot-dev/earshot/pipeline"
)

// wordMatcher matches topic "acme" when the text contains the word, in
// any case: a stand-in for the topic matcher cmd/ wires (connectors do not
// import enrich/).
type wordMatcher struct{}

func (wordMatcher) Match(m *pipeline.Mention) ([]string, []pipeline.Span) {
	if strings.Contains(strings.ToLower(m.Text), "acme") {
		return []string{"acme"}, nil
	}
	return nil, nil
}

// spec parses a connector entry as cmd/earshot hands it over.
func spec(t testing.TB, doc string) *pipeline.ConnectorSpec { return connectortest.Spec(t, doc) }

func fastSource(t testing.TB, fake *jetstreamfake.Server, extra string) *Source {
	t.Helper()
	doc := fmt.Sprintf("type: bluesky\nname: b\nbase_url: %s\nappview_url: %s\nmax_item_bytes: 4096\nrewind: 1s\nbackfill: 1m\n%s", fake.WSURL, fake.URL, extra)
	src, err := New(spec(t, doc), []pipeline.Topic{{ID: "acme", Query: "acme"}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s := src.(*Source)
	s.cfg.StallTimeout = 2 * time.Second
	s.errBackoff = pipeline.Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	s.publishBackoff = pipeline.Backoff{Min: 20 * time.Millisecond, Max: 100 * time.Millisecond}
	s.healthyAfter = time.Hour
	s.flushEvery = 20 * time.Millisecond
	s.cursorEvery = 50 * time.Millisecond
	return s
}

type conformanceFake struct {
	fake *jetstreamfake.Server
	mu   sync.Mutex
	n    int
}

func newConformanceFake(t *testing.T) *conformanceFake {
	f := jetstreamfake.New(t)
	f.AddProfiles(jetstreamfake.Profile{DID: "did:plc:alice", Handle: "alice.bsky.social", DisplayName: "Alice", Followers: 12})
	// Noise of the network the connector must skip.
	for i := range 20 {
		f.Create(fmt.Sprintf("did:plc:other%d", i), jetstreamfake.Post{Text: "unrelated chatter"})
	}
	return &conformanceFake{fake: f}
}

func (f *conformanceFake) Platform() string { return Platform }

func (f *conformanceFake) NewSource(t testing.TB) pipeline.Source { return fastSource(t, f.fake, "") }

func (f *conformanceFake) Post(t testing.TB, text string) string {
	f.mu.Lock()
	f.n++
	did := fmt.Sprintf("did:plc:author%d", f.n)
	f.mu.Unlock()
	f.fake.AddProfiles(jetstreamfake.Profile{DID: did, Handle: strings.TrimPrefix(did, "did:plc:") + ".bsky.social"})
	f.fake.Create("did:plc:other", jetstreamfake.Post{Text: "noise before"})
	uri := f.fake.Create(did, jetstreamfake.Post{Text: text, Langs: []string{"en"}})
	return mentionID(uri)
}

func (f *conformanceFake) Edit(t testing.TB, id, text string) {
	f.fake.Update(strings.TrimPrefix(id, Platform+":"), jetstreamfake.Post{Text: text})
}

func (f *conformanceFake) Delete(t testing.TB, id string) {
	f.fake.Delete(strings.TrimPrefix(id, Platform+":"))
}

func (f *conformanceFake) Malformed(t testing.TB) {
	f.fake.Raw(`{"did": "did:plc:alice", "time_us": "soon", "kind": "commit"`)
	f.fake.Raw(`{"did":"did:plc:alice","time_us":1,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3kabc","record":{"text":42}}}`)
}

func (f *conformanceFake) Oversized(t testing.TB) {
	f.fake.Raw(fmt.Sprintf(`{"did":"did:plc:alice","time_us":%d,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3kbig","record":{"text":"acme %s"}}}`,
		time.Now().UnixMicro(), strings.Repeat("x", 8000)))
}

// Throttle limits the AppView (Jetstream itself has no request limits);
// every post has a new author, so profiles are asked for again and again.
func (f *conformanceFake) Throttle(t testing.TB) {
	f.fake.Window.Set(1, time.Second)
	f.fake.Window.RefuseNext(1)
}

func (f *conformanceFake) Throttled() int                       { return f.fake.Window.Throttled() }
func (f *conformanceFake) Outage(t testing.TB, d time.Duration) { f.fake.GoDown(d) }
func (f *conformanceFake) OutageRequests() int                  { return f.fake.Outage.Requests() }
func (f *conformanceFake) Violations() []string                 { return f.fake.Violations() }

func TestConformance(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) connectortest.Fake { return newConformanceFake(t) },
		connectortest.Options{Rewinds: true, Firehose: true, Matcher: wordMatcher{}})
}
