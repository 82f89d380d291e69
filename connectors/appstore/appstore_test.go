package appstore

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/appstore/appstorefake"
	"github.com/earshot-dev/earshot/connectors/poll/polltest"
	"github.com/earshot-dev/earshot/pipeline"
)

func TestMappingReviews(t *testing.T) {
	fake := appstorefake.New(t)
	at := time.Date(2026, 11, 30, 8, 15, 0, 0, time.FixedZone("PST", -8*3600))
	one := &appstorefake.Review{App: testApp, Country: "gb", Author: "Grumpy Gus", Title: "Crashes on launch",
		Content: "Since the update it crashes.\nPlease fix!", Rating: 1, Version: "5.12.0", VoteSum: 4, Updated: at}
	fake.Add(one)
	// A single review in a storefront: the feed renders entry as an object.
	solo := &appstorefake.Review{App: testApp, Country: "de", Author: "Heidi", Title: "Super", Content: "Alles gut", Rating: 5,
		Version: "5.11.2", Updated: at.Add(time.Minute)}
	fake.Add(solo)
	src := fastSource(t, fake, fmt.Sprintf("apps: [{id: %d, countries: [gb, de]}]\n", testApp))
	ms, _ := polltest.RunUntil(t, src, Platform, "2 reviews", func(ms []*pipeline.Mention) bool { return len(ms) >= 2 })
	by := polltest.ByID(ms)
	m := by[fmt.Sprintf("appstore:%d", one.ID)]
	if m == nil || m.Kind != pipeline.KindReview || m.Rating != 1 || m.Title != "Crashes on launch" ||
		!strings.Contains(m.Text, "Please fix!") || m.Source != fmt.Sprintf("%d/gb/5.12.0", testApp) || m.Author.Handle != "Grumpy Gus" ||
		m.Engagement.Likes != 4 || !m.CreatedAt.Equal(at) || m.URL != fmt.Sprintf("https://apps.apple.com/gb/app/id%d?see-all=reviews", testApp) {
		t.Errorf("review = %+v", m)
	}
	s := by[fmt.Sprintf("appstore:%d", solo.ID)]
	if s == nil || s.Rating != 5 || s.Source != fmt.Sprintf("%d/de/5.11.2", testApp) {
		t.Errorf("single-entry feed review = %+v", s)
	}
	for _, r := range fake.Requests() {
		if !strings.HasSuffix(r.Path, fmt.Sprintf("/id=%d/sortby=mostrecent/json", testApp)) || !strings.Contains(r.Path, "/rss/customerreviews/page=") {
			t.Errorf("request path %q is not the customer-reviews feed", r.Path)
		}
	}
}

// More reviews than a page: after the first start (one page), new reviews
// on several pages are read back to the cursor, and the page depth is
// taken from the feed's rel=last link.
func TestPagesBackToTheCursor(t *testing.T) {
	fake := appstorefake.New(t)
	now := time.Now()
	add := func(n int, prefix string, at time.Time) []string {
		var ids []string
		for i := range n {
			rv := &appstorefake.Review{App: testApp, Country: "us", Author: "a", Title: fmt.Sprintf("%s %d", prefix, i), Content: "ok", Rating: 4,
				Version: "1", Updated: at.Add(time.Duration(i) * time.Second)}
			fake.Add(rv)
			ids = append(ids, fmt.Sprintf("appstore:%d", rv.ID))
		}
		return ids
	}
	first := add(3, "first", now.Add(-time.Hour))
	src := fastSource(t, fake, "refresh: 0s\noverlap: 0s\n")
	var later []string
	ms, _ := polltest.RunUntil(t, src, Platform, "the first reviews, then 120 more", func(ms []*pipeline.Mention) bool {
		if len(ms) >= 3 && later == nil {
			later = add(120, "later", now.Add(-30*time.Minute))
		}
		return later != nil && len(ms) >= 123
	})
	by := polltest.ByID(ms)
	for _, id := range append(first, later...) {
		if by[id] == nil {
			t.Errorf("review %s missing", id)
		}
	}
	if len(ms) != 123 {
		t.Errorf("stream holds %d mentions; want 123 (each once)", len(ms))
	}
}

func TestReadmeSampleConfigParses(t *testing.T) {
	src := polltest.ReadmeSource(t, "README.md", "appstore", []pipeline.Topic{{ID: "acme", Query: "acme"}})
	c := src.(*Source).cfg
	if c.Interval != 15*time.Minute || c.BaseURL != DefaultBaseURL || len(c.feeds) != 3 || c.feeds[0].Rule != "acme" ||
		c.gap != 3*time.Second || c.Refresh != 30*24*time.Hour {
		t.Errorf("README sample parsed as %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		doc  string
		want []string
	}{
		{"interval: 1ms", []string{"apps: at least one app", "interval: 1ms"}},
		{"apps: [{id: 0}, {id: 5, countries: [usa, us, us], topic: nope}]",
			[]string{"apps[0].id: required", `"usa" is not a two-letter`, "listed twice", `"nope" is not a topic id`}},
		{"apps: [{id: 5}]\nrequests_per_minute: -1", []string{"apps[0].countries", "requests_per_minute"}},
	}
	for _, tt := range tests {
		_, err := New(polltest.Spec(t, "appstore", "type: appstore\nname: c\n"+tt.doc), []pipeline.Topic{{ID: "acme", Query: "acme"}})
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
