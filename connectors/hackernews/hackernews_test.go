package hackernews

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/hackernews/hnfake"
	"github.com/earshot-dev/earshot/connectors/poll/polltest"
	"github.com/earshot-dev/earshot/pipeline"
)

func TestMappingStoriesAndComments(t *testing.T) {
	fake := hnfake.New(t)
	created := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	story := &hnfake.Item{Type: "story", Author: "pg", Title: "Acme & friends", URL: "https://acme.example/x",
		Points: 120, NumComments: 7, Created: created}
	ask := &hnfake.Item{Type: "story", Author: "dang", Title: "Ask HN: acme?", Text: "Is <i>acme</i> any good?<p>Asking for a friend",
		Created: created.Add(time.Second)}
	fake.Add(story, ask)
	comment := &hnfake.Item{Type: "comment", Author: "tptacek", Text: "Acme&#x27;s <a href=\"https://acme.example\">site</a> is down",
		ParentID: story.ID, StoryID: story.ID, Created: created.Add(2 * time.Second)}
	other := &hnfake.Item{Type: "story", Author: "x", Title: "Unrelated", Created: created.Add(3 * time.Second)}
	fake.Add(comment, other)

	ms, _ := polltest.RunUntil(t, fastSource(t, fake, "refresh: 0s\n"), Platform, "3 mentions",
		func(ms []*pipeline.Mention) bool { return len(ms) >= 3 })
	by := polltest.ByID(ms)
	sid := "hackernews:" + strconv.FormatInt(story.ID, 10)
	s := by[sid]
	if s == nil || s.Kind != pipeline.KindPost || s.Title != "Acme & friends" || s.Text != "https://acme.example/x" ||
		s.Engagement.Likes != 120 || s.Engagement.Replies != 7 || s.ConversationID != sid || !s.CreatedAt.Equal(created) ||
		s.URL != "https://news.ycombinator.com/item?id="+strconv.FormatInt(story.ID, 10) || s.Author.Handle != "pg" || s.MatchedRule != "acme" {
		t.Errorf("story = %+v", s)
	}
	a := by["hackernews:"+strconv.FormatInt(ask.ID, 10)]
	if a == nil || a.Text != "Is acme any good?\nAsking for a friend" {
		t.Errorf("ask story text = %q; want the HTML as clean text", a.Text)
	}
	c := by["hackernews:"+strconv.FormatInt(comment.ID, 10)]
	if c == nil || c.Kind != pipeline.KindComment || c.Text != "Acme's site is down" || c.ParentID != sid || c.ConversationID != sid {
		t.Errorf("comment = %+v", c)
	}
	if by["hackernews:"+strconv.FormatInt(other.ID, 10)] != nil {
		t.Errorf("a story that matches no query was published")
	}
	for _, r := range fake.Requests() {
		if r.Path == "/api/v1/search_by_date" && r.Query.Get("tags") != "(story,comment)" {
			t.Errorf("search tags = %q; want (story,comment)", r.Query.Get("tags"))
		}
	}
}

// An item the index adds late, with a created_at_i before the newest one
// published, is still read (overlap), and nothing is published twice.
func TestLateIndexedItemWithinOverlap(t *testing.T) {
	fake := hnfake.New(t)
	now := time.Now()
	first := &hnfake.Item{Type: "story", Author: "a", Title: "acme one", Created: now.Add(-10 * time.Second)}
	fake.Add(first)
	s := fastSource(t, fake, "refresh: 0s\n")
	late := &hnfake.Item{Type: "story", Author: "b", Title: "acme late", Created: now.Add(-30 * time.Second)}
	ms, _ := polltest.RunUntil(t, s, Platform, "the late item", func(ms []*pipeline.Mention) bool {
		if len(ms) == 1 && late.ID == 0 {
			fake.Add(late)
		}
		return late.ID != 0 && polltest.ByID(ms)["hackernews:"+strconv.FormatInt(late.ID, 10)] != nil
	})
	if len(ms) != 2 {
		t.Errorf("stream holds %d mentions; want 2", len(ms))
	}
	var filtered bool
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r.Query.Get("numericFilters"), "created_at_i>") {
			filtered = true
		}
	}
	if !filtered {
		t.Errorf("no search used numericFilters=created_at_i>…")
	}
}

func TestReadmeSampleConfigParses(t *testing.T) {
	src := polltest.ReadmeSource(t, "README.md", "hackernews", []pipeline.Topic{{ID: "acme", Query: "acme OR globex"}})
	c := src.(*Source).cfg
	if c.Interval != time.Minute || c.BaseURL != DefaultBaseURL || c.tags != "(story,comment)" || len(c.searches) != 2 ||
		c.searches[1].Query != `"acme corp"` || c.overlap != 5*time.Minute || c.gap != 360*time.Millisecond {
		t.Errorf("README sample parsed as %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		doc  string
		want []string
	}{
		{"tags: [job]\ninterval: 10ms\nqueries: {nope: [x]}", []string{`tags[0]: "job"`, "interval: 10ms", `"nope" is not a topic id`}},
		{"base_url: ftp://x\nmax_pages: 11\noverlap: -1s", []string{"base_url", "max_pages: 11", "overlap"}},
		{"bogus: 1", []string{`unknown key "bogus"`}},
	}
	for _, tt := range tests {
		_, err := New(polltest.Spec(t, "hackernews", "type: hackernews\nname: c\n"+tt.doc), []pipeline.Topic{{ID: "acme", Query: "acme"}})
		if err == nil {
			t.Errorf("New(%q) = nil error; want %v", tt.doc, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("New(%q) = %v; want it to mention %q", tt.doc, err, w)
			}
		}
		if !strings.Contains(err.Error(), "test.yaml:") {
			t.Errorf("New(%q) = %v; want the file and line", tt.doc, err)
		}
	}
}
