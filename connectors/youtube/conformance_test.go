package youtube

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/connectortest"
	"github.com/earshot-dev/earshot/connectors/poll"
	"github.com/earshot-dev/earshot/connectors/poll/polltest"
	"github.com/earshot-dev/earshot/connectors/youtube/ytfake"
	"github.com/earshot-dev/earshot/pipeline"
)

const testVideo = "dQw4w9WgXcQ"

// fastSource builds a source reading fake with its time scales turned down.
func fastSource(t testing.TB, fake *ytfake.Server, extra string) *Source {
	t.Helper()
	t.Setenv("EARSHOT_TEST_YT_KEY", fake.Key)
	doc := fmt.Sprintf("type: youtube\nname: yt\nbase_url: %s\nkey: {env: EARSHOT_TEST_YT_KEY}\nmax_item_bytes: 4096\n%s", fake.URL, extra)
	if !strings.Contains(extra, "videos:") && !strings.Contains(extra, "channels:") {
		doc += "videos: [" + testVideo + "]\n"
	}
	src, err := New(polltest.Spec(t, "youtube", doc), []pipeline.Topic{{ID: "acme", Query: "acme"}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s := src.(*Source)
	s.cfg.Interval = 50 * time.Millisecond
	s.cfg.RefreshInterval = 100 * time.Millisecond
	s.knobs = poll.FastKnobs()
	s.rateLimitWait = 1100 * time.Millisecond
	return s
}

type conformanceFake struct {
	polltest.Limits
	fake *ytfake.Server
	mu   sync.Mutex
	n    int
}

func (f *conformanceFake) Platform() string { return Platform }

func (f *conformanceFake) NewSource(t testing.TB) pipeline.Source { return fastSource(t, f.fake, "") }

func (f *conformanceFake) Post(t testing.TB, text string) string {
	c := &ytfake.Comment{VideoID: testVideo, Author: "viewer", ChannelID: "UCviewer", Text: text}
	f.fake.Add(c)
	return mentionID(c.ID)
}

func (f *conformanceFake) Edit(t testing.TB, mid, text string) {
	f.fake.Edit(strings.TrimPrefix(mid, Platform+":"), text)
}
func (f *conformanceFake) Delete(t testing.TB, mid string) {
	f.fake.Delete(strings.TrimPrefix(mid, Platform+":"))
}

func (f *conformanceFake) Malformed(t testing.TB) {
	f.fake.AddRaw(testVideo, func(id string) string {
		return fmt.Sprintf(`{"kind": "youtube#commentThread", "id": %q, "snippet": {"topLevelComment": {"id": %q, "snippet": {"publishedAt": "noon"}}}}`, id, id)
	})
}

func (f *conformanceFake) Oversized(t testing.TB) {
	f.fake.AddRaw(testVideo, func(id string) string {
		return fmt.Sprintf(`{"kind": "youtube#commentThread", "id": %q, "snippet": {"videoId": %q, "topLevelComment": {"id": %q, "snippet": {"textOriginal": %q, "publishedAt": %q}}}}`,
			id, testVideo, id, strings.Repeat("x", 8000), time.Now().UTC().Format(time.RFC3339))
	})
}

func TestConformance(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) connectortest.Fake {
		fake := ytfake.New(t)
		fake.AddVideo(&ytfake.Video{ID: testVideo, ChannelID: "UCuAXFkgsw1L7xaCfnd5JJOw", Title: "Acme X200 unboxing"})
		// Throttle: 403 rateLimitExceeded, YouTube's rate signal, with no time given.
		return &conformanceFake{fake: fake, Limits: polltest.Limits{Window: fake.Window, Outages: &fake.Outage}}
	}, connectortest.Options{StateKey: func(k string) bool { return k == "recent" || k == budgetKey }})
}
