package discourse

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/connectortest"
	"github.com/earshot-dev/earshot/connectors/discourse/discoursefake"
	"github.com/earshot-dev/earshot/connectors/poll"
	"github.com/earshot-dev/earshot/connectors/poll/polltest"
	"github.com/earshot-dev/earshot/pipeline"
)

// fastSource builds a source reading fake with its time scales turned down.
func fastSource(t testing.TB, fake *discoursefake.Server, extra string) *Source {
	t.Helper()
	forum := fmt.Sprintf("forums: [{base_url: %s}]\n", fake.URL)
	if fake.APIKey != "" {
		t.Setenv("EARSHOT_TEST_DISCOURSE_KEY", fake.APIKey)
		forum = fmt.Sprintf("forums: [{base_url: %s, api_key: {env: EARSHOT_TEST_DISCOURSE_KEY}, api_username: %s}]\n", fake.URL, fake.APIUsername)
	}
	doc := "type: discourse\nname: forum\nmax_item_bytes: 4096\n" + forum + extra
	src, err := New(polltest.Spec(t, "discourse", doc), []pipeline.Topic{{ID: "acme", Query: "acme"}})
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
	fake  *discoursefake.Server
	topic *discoursefake.Post
	mu    sync.Mutex
	n     int
}

func (f *conformanceFake) Platform() string { return Platform }

func (f *conformanceFake) NewSource(t testing.TB) pipeline.Source { return fastSource(t, f.fake, "") }

func (f *conformanceFake) host() string { return strings.TrimPrefix(f.fake.URL, "http://") }

func (f *conformanceFake) Post(t testing.TB, text string) string {
	f.mu.Lock()
	f.n++
	n := f.n
	f.mu.Unlock()
	var p *discoursefake.Post
	if n%3 == 1 {
		p = f.fake.Topic(fmt.Sprintf("Topic %d", n), "alice", "<p>"+text+"</p>")
		f.mu.Lock()
		if f.topic == nil {
			f.topic = p
		}
		f.mu.Unlock()
	} else {
		p = &discoursefake.Post{TopicID: f.topic.TopicID, Username: "bob", Cooked: "<p>" + text + "</p>", ReplyTo: 1}
		f.fake.Add(p)
	}
	return fmt.Sprintf("%s:%s:%d", Platform, f.host(), p.ID)
}

// topicID is the topic replies go to (made by the first Post).
func (f *conformanceFake) topicID() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.topic == nil {
		return 1
	}
	return f.topic.TopicID
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
	f.fake.AddRaw(f.topicID(), func(id int64) string {
		return fmt.Sprintf(`{"id": %d, "created_at": "last tuesday", "cooked": "acme"}`, id)
	})
}

func (f *conformanceFake) Oversized(t testing.TB) {
	f.fake.AddRaw(f.topicID(), func(id int64) string {
		return fmt.Sprintf(`{"id": %d, "created_at": %q, "topic_id": %d, "post_number": 99, "cooked": %q}`,
			id, time.Now().UTC().Format(time.RFC3339), f.topicID(), strings.Repeat("x", 8000))
	})
}

func TestConformance(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) connectortest.Fake {
		fake := discoursefake.New(t)
		fake.Window.Set(100000, time.Minute)
		fake.APIKey, fake.APIUsername = "forum-key", "system"
		// Throttle: a 429 with Retry-After.
		return &conformanceFake{fake: fake, Limits: polltest.Limits{Window: fake.Window, Outages: &fake.Outage}}
	}, connectortest.Options{StateKey: func(k string) bool { return strings.HasPrefix(k, "recent:") }})
}
