package reddit

import (
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/connectortest"
	"github.com/earshot-dev/earshot/pipeline"
)

func TestReadmeSampleConfigParses(t *testing.T) {
	sp := connectortest.ReadmeSpec(t, "reddit", "reddit-acme")
	t.Setenv("REDDIT_CLIENT_ID", "id")
	t.Setenv("REDDIT_CLIENT_SECRET", "secret")
	f, ok := pipeline.Connector("reddit")
	if !ok {
		t.Fatal(`connector type "reddit" is not registered`)
	}
	src, err := f(sp,
		[]pipeline.Topic{{ID: "acme", Query: "acme"}})
	if err != nil {
		t.Fatalf("README sample: %v", err)
	}
	c := src.(*Source).cfg
	if c.Interval != time.Minute || c.refresh != 24*time.Hour || len(c.listings) != 5 || c.clientSecret.Reveal() != "secret" ||
		c.baseURL != DefaultBaseURL || c.authURL != DefaultAuthURL || c.RefreshInterval != 5*time.Minute {
		t.Errorf("README sample parsed as %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Setenv("RID", "id")
	tests := []struct {
		doc  string
		want []string
	}{
		{"subreddits: [acme]", []string{"client_id: required", "client_secret: required", "user_agent: required"}},
		{"client_id: {env: RID}\nclient_secret: {env: UNSET_VAR_X}\nuser_agent: x\nsubreddits: ['no such', acme, acme]\ninterval: 10ms",
			[]string{"UNSET_VAR_X is not set", `"no such" is not a subreddit`, "listed twice", "interval: 10ms"}},
		{"client_id: {env: RID}\nclient_secret: {env: RID}\nuser_agent: x", []string{"nothing to read"}},
		{"client_id: {env: RID}\nclient_secret: {env: RID}\nuser_agent: x\nsearch: true\nbase_url: ftp://x\nmax_pages: 11",
			[]string{"base_url", "max_pages: 11"}},
		{"client_id: secret-in-file\nuser_agent: x", []string{"not as a value in the config"}},
	}
	for _, tt := range tests {
		_, err := New(spec(t, "type: reddit\nname: r\n"+tt.doc), []pipeline.Topic{{ID: "acme", Query: "acme"}})
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
