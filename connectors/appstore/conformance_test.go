package appstore

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/appstore/appstorefake"
	"github.com/earshot-dev/earshot/connectors/connectortest"
	"github.com/earshot-dev/earshot/connectors/poll"
	"github.com/earshot-dev/earshot/connectors/poll/polltest"
	"github.com/earshot-dev/earshot/pipeline"
)

const testApp = 284882215

// fastSource builds a source reading fake with its time scales turned down.
func fastSource(t testing.TB, fake *appstorefake.Server, extra string) *Source {
	t.Helper()
	doc := fmt.Sprintf("type: appstore\nname: reviews\nbase_url: %s\nmax_item_bytes: 4096\n%s", fake.URL, extra)
	if !strings.Contains(extra, "apps:") {
		doc += fmt.Sprintf("apps: [{id: %d, countries: [us], topic: acme}]\n", testApp)
	}
	src, err := New(polltest.Spec(t, "appstore", doc), []pipeline.Topic{{ID: "acme", Query: "acme"}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s := src.(*Source)
	s.cfg.Interval = 50 * time.Millisecond
	s.cfg.RefreshInterval = 100 * time.Millisecond
	s.cfg.gap = 2 * time.Millisecond
	s.knobs = poll.FastKnobs()
	return s
}

type conformanceFake struct {
	polltest.Limits
	fake *appstorefake.Server
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
	rv := &appstorefake.Review{App: testApp, Country: "us", Author: "reviewer", Title: fmt.Sprintf("Review %d", n),
		Content: text, Rating: 1 + n%5, Version: "5.1"}
	f.fake.Add(rv)
	return mentionID(strconv.FormatInt(rv.ID, 10))
}

func reviewID(t testing.TB, mid string) int64 {
	n, err := strconv.ParseInt(strings.TrimPrefix(mid, Platform+":"), 10, 64)
	if err != nil {
		t.Fatalf("mention id %q: %v", mid, err)
	}
	return n
}

func (f *conformanceFake) Edit(t testing.TB, mid, text string) { f.fake.Edit(reviewID(t, mid), text) }
func (f *conformanceFake) Delete(t testing.TB, mid string)     { f.fake.Delete(reviewID(t, mid)) }

func (f *conformanceFake) Malformed(t testing.TB) {
	f.fake.AddRaw(testApp, "us", func(id int64) string {
		return fmt.Sprintf(`{"id": {"label": "%d"}, "updated": {"label": "%s"}, "im:rating": {"label": "eleven"}, "content": {"label": "acme"}}`,
			id, time.Now().Format(time.RFC3339))
	})
}

func (f *conformanceFake) Oversized(t testing.TB) {
	f.fake.AddRaw(testApp, "us", func(id int64) string {
		return fmt.Sprintf(`{"id": {"label": "%d"}, "updated": {"label": "%s"}, "im:rating": {"label": "3"}, "content": {"label": %q}}`,
			id, time.Now().Format(time.RFC3339), strings.Repeat("x", 8000))
	})
}

func TestConformance(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) connectortest.Fake {
		fake := appstorefake.New(t)
		// Throttle: a 429 with Retry-After.
		return &conformanceFake{fake: fake, Limits: polltest.Limits{Window: fake.Window, Outages: &fake.Outage}}
	}, connectortest.Options{StateKey: func(k string) bool { return k == "recent" }})
}
