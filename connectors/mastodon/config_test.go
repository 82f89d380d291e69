package mastodon

import (
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/connectortest"
	"github.com/earshot-dev/earshot/pipeline"
)

func TestReadmeSampleConfigParses(t *testing.T) {
	sp := connectortest.ReadmeSpec(t, "mastodon", "mastodon-acme")
	t.Setenv("MASTODON_TOKEN", "tok")
	f, ok := pipeline.Connector("mastodon")
	if !ok {
		t.Fatal(`connector type "mastodon" is not registered`)
	}
	src, err := f(sp, nil)
	if err != nil {
		t.Fatalf("README sample: %v", err)
	}
	c := src.(*Source).cfg
	if len(c.instances) != 2 || c.instances[0].token.Reveal() != "tok" || !c.instances[1].token.IsZero() || c.instances[1].host != "fosstodon.org" ||
		strings.Join(c.tags, ",") != "acme,acmecorp" || !c.stream || c.Interval != time.Minute || c.StallTimeout != time.Minute || c.Remember != 2000 {
		t.Errorf("README sample parsed as %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		doc  string
		want []string
	}{
		{"hashtags: [acme]", []string{"instances: at least one"}},
		{"instances: [{base_url: mastodon.social}, {base_url: 'https://a.example'}, {base_url: 'https://a.example/'}]\nhashtags: ['acme corp', acme, '#Acme']\nstall_timeout: 1s",
			[]string{`"mastodon.social" is not an http(s) URL`, "a.example is listed twice", `"acme corp" is not a hashtag`, "#acme is listed twice", "stall_timeout: 1s"}},
		{"instances: [{base_url: 'https://a.example', access_token: {env: UNSET_MASTODON_X}}]", []string{"UNSET_MASTODON_X is not set", "hashtags: at least one"}},
		{"instances: [{base_url: 'https://a.example', token: x}]\nhashtags: [a]", []string{`unknown key "instances[0].token"`}},
	}
	for _, tt := range tests {
		_, err := New(spec(t, "type: mastodon\nname: m\n"+tt.doc), nil)
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
