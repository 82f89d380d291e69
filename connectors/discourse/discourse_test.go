package discourse

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/discourse/discoursefake"
	"github.com/earshot-dev/earshot/connectors/poll/polltest"
	"github.com/earshot-dev/earshot/pipeline"
)

func TestMappingTopicsRepliesSearch(t *testing.T) {
	fake := discoursefake.New(t)
	fake.APIKey, fake.APIUsername = "k", "system"
	created := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	first := fake.Topic("Acme X200 keeps rebooting", "alice", `<p>Mine <strong>reboots</strong> every hour.</p><aside class="quote"><blockquote>old</blockquote></aside>`)
	first.Likes, first.Reads, first.Created = 3, 40, created
	r1 := &discoursefake.Post{TopicID: first.TopicID, Username: "bob", Name: "Bob B", Cooked: "<p>Same here</p>", Created: created.Add(time.Minute), Likes: 1}
	fake.Add(r1)
	r2 := &discoursefake.Post{TopicID: first.TopicID, Username: "acme_support", Cooked: "<p>Please update the firmware</p>", ReplyTo: r1.PostNumber,
		Created: created.Add(2 * time.Minute)}
	fake.Add(r2)
	src := fastSource(t, fake, "refresh: 0s\n")
	host := strings.TrimPrefix(fake.URL, "http://")
	id := func(n int64) string { return fmt.Sprintf("discourse:%s:%d", host, n) }
	ms, _ := polltest.RunUntil(t, src, Platform, "3 posts", func(ms []*pipeline.Mention) bool { return len(ms) >= 3 })
	by := polltest.ByID(ms)
	p := by[id(first.ID)]
	if p == nil || p.Kind != pipeline.KindPost || p.Title != "Acme X200 keeps rebooting" || !strings.HasPrefix(p.Text, "Mine reboots every hour.") ||
		p.Engagement.Likes != 3 || p.Engagement.Views != 40 || p.ConversationID != id(first.ID) || p.Source != host ||
		p.URL != fmt.Sprintf("%s/t/acme-x200-keeps-rebooting/%d/1", fake.URL, first.TopicID) || !p.CreatedAt.Equal(created) {
		t.Errorf("topic post = %+v", p)
	}
	a := by[id(r1.ID)]
	if a == nil || a.Kind != pipeline.KindReply || a.ParentID != id(first.ID) || a.ConversationID != id(first.ID) || a.Author.Name != "Bob B" {
		t.Errorf("reply to the topic = %+v", a)
	}
	b := by[id(r2.ID)]
	if b == nil || b.ParentID != id(r1.ID) || b.Text != "Please update the firmware" {
		t.Errorf("reply to a reply = %+v; want parent %s", b, id(r1.ID))
	}
	for _, r := range fake.Requests() {
		if r.APIKey != "k" {
			t.Errorf("%s without the Api-Key header", r.Path)
		}
	}
}

// With latest off, only search results are read, with the topic as
// matched rule.
func TestSearchOnly(t *testing.T) {
	fake := discoursefake.New(t)
	hit := fake.Topic("Acme support is slow", "carol", "<p>waiting for days</p>")
	other := fake.Topic("Unrelated", "dave", "<p>nothing to see</p>")
	src := fastSource(t, fake, "latest: false\nsearch: true\nrefresh: 0s\n")
	host := strings.TrimPrefix(fake.URL, "http://")
	ms, _ := polltest.RunUntil(t, src, Platform, "the search hit", func(ms []*pipeline.Mention) bool { return len(ms) >= 1 })
	if len(ms) != 1 || ms[0].ID != fmt.Sprintf("discourse:%s:%d", host, hit.ID) || ms[0].MatchedRule != "acme" || ms[0].Text != "waiting for days" {
		t.Errorf("stream = %+v; want only the search hit %d with matched_rule acme (not %d)", ms, hit.ID, other.ID)
	}
	for _, r := range fake.Requests() {
		if r.Path == "/posts.json" {
			t.Errorf("/posts.json read with latest off")
		}
		if r.Path == "/search.json" && !strings.Contains(r.Query, "order%3Alatest") {
			t.Errorf("search query %q lacks order:latest", r.Query)
		}
	}
}

func TestReadmeSampleConfigParses(t *testing.T) {
	t.Setenv("DISCOURSE_API_KEY", "k")
	src := polltest.ReadmeSource(t, "README.md", "discourse", []pipeline.Topic{{ID: "acme", Query: "acme"}})
	c := src.(*Source).cfg
	if c.Interval != time.Minute || len(c.forums) != 2 || c.forums[0].key.Reveal() != "k" || c.forums[0].username != "system" ||
		len(c.searches) != 1 || c.gap != time.Second {
		t.Errorf("README sample parsed as %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		doc  string
		want []string
	}{
		{"interval: 1ms", []string{"forums: at least one", "interval: 1ms"}},
		{"forums: [{base_url: ftp://x}, {api_key: {env: UNSET_DC}}, {base_url: 'https://f.example', api_key: {env: HOME}}]",
			[]string{"forums[0].base_url", "forums[1].base_url: required", "forums[2].api_username: required"}},
		{"forums: [{base_url: 'https://f.example', api_key: plain}]", []string{"not as a value in the config"}},
	}
	for _, tt := range tests {
		_, err := New(polltest.Spec(t, "discourse", "type: discourse\nname: c\n"+tt.doc), []pipeline.Topic{{ID: "acme", Query: "acme"}})
		if err == nil {
			t.Errorf("New(%q) = nil error; want %v", tt.doc, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("New(%q) = %v; want it to mention %q", tt.doc, err, w)
			}
		}
	}
}
