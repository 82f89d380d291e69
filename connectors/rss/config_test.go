package rss

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/pipeline"
)

// specs parses a YAML document with a connectors list, as the config file has.
func specs(t *testing.T, file, doc string) []*pipeline.ConnectorSpec {
	t.Helper()
	var root struct {
		Connectors []yaml.Node `yaml:"connectors"`
	}
	if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	var out []*pipeline.ConnectorSpec
	for _, n := range root.Connectors {
		var head struct{ Type, Name string }
		if err := n.Decode(&head); err != nil {
			t.Fatalf("yaml: %v", err)
		}
		out = append(out, &pipeline.ConnectorSpec{Type: head.Type, Name: head.Name, File: file, Node: n})
	}
	return out
}

func TestRegistered(t *testing.T) {
	if _, ok := pipeline.Connector("rss"); !ok {
		t.Fatalf(`pipeline.Connector("rss") not registered`)
	}
}

func TestREADMEConfig(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no yaml block")
	}
	ss := specs(t, "README.md", string(m[1]))
	if len(ss) != 2 {
		t.Fatalf("README config has %d connectors; want 2", len(ss))
	}
	var srcs []*Source
	for _, spec := range ss {
		src, err := New(spec, nil)
		if err != nil {
			t.Fatalf("New(README %s) = %v", spec.Name, err)
		}
		srcs = append(srcs, src.(*Source))
	}
	news, masto := srcs[0], srcs[1]
	if len(news.feeds) != 3 || news.feeds[1].name != "forum" || news.cfg.MaxBytes != 8<<20 ||
		news.cfg.UserAgent != "acme-listening/1.0 (+https://acme.example/bot)" || news.cfg.Platform != "rss" {
		t.Errorf("README news connector = %+v", news.cfg)
	}
	if masto.cfg.Platform != "mastodon" || masto.cfg.Kind != "post" || masto.cfg.Interval != 2*time.Minute {
		t.Errorf("README mastodon connector = %+v", masto.cfg)
	}
}

func TestNewDefaults(t *testing.T) {
	ss := specs(t, "test.yaml", "connectors:\n  - type: rss\n    name: min\n    feeds: [https://a.example/feed]\n")
	src, err := New(ss[0], nil)
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	c := src.(*Source).cfg
	if c.Interval != DefaultInterval || *c.Jitter != DefaultJitter || c.Timeout != DefaultTimeout ||
		c.MaxBytes != DefaultMaxBytes || c.MaxBackoff != DefaultMaxBackoff || c.MaxItems != DefaultMaxItems ||
		c.SeenLimit != DefaultSeenLimit || c.Platform != "rss" || c.Kind != "article" ||
		!strings.HasPrefix(c.UserAgent, "earshot/") || !strings.Contains(c.UserAgent, "(+https://github.com/earshot-dev/earshot)") {
		t.Errorf("defaults = %+v", c)
	}
}

func TestNewInvalid(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string // every problem is reported
	}{
		{"everything wrong", `
    interval: 1s
    jitter: 1.5
    timeout: -1s
    max_items: 10
    seen_limit: 5
    platform: Reddit
    kind: tweet
    user_agent: "a\nb"
    feeds:
      - ftp://files.example/feed
      - https://a.example/feed
      - https://user:secret@a.example/feed
      - ""
      - {url: "http://"}
      - /relative
`, []string{
			`test.yaml:2: connector "bad" (rss)`, "interval 1s is below the minimum 10s", "jitter 1.5",
			"timeout -1s", "seen_limit 5 is below max_items 10", `platform "Reddit"`, `kind "tweet"`,
			"user_agent contains a line break", `line 13: feeds[0]: feed URL "ftp://files.example/feed": scheme`,
			`feeds[2]: "https://a.example/feed" is the same feed as feeds[1]`, "feeds[3]: empty feed URL",
			`feeds[4]: feed URL "http://": no host`, `feeds[5]: feed URL "/relative": scheme`}},
		{"unknown keys and bad types", `
    intervall: 5m
    interval: 300
    max_bytes: lots
    feeds:
      - {url: https://a.example/feed, title: x}
`, []string{`unknown key "intervall"`, `unknown key "title"`, "cannot unmarshal !!int `300` into time.Duration",
			`max_bytes "lots"`}},
		{"no feeds", "\n    interval: 1m\n", []string{"at least one feed URL is required"}},
	}
	for _, tt := range tests {
		doc := "connectors:\n  - type: rss\n    name: bad" + tt.body
		_, err := New(specs(t, "test.yaml", doc)[0], nil)
		if err == nil {
			t.Errorf("New(%s) = nil; want an error", tt.name)
			continue
		}
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New(%s) = %v; want ErrInvalidConfig", tt.name, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("New(%s) = %v\nwant it to contain %q", tt.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("New(%s) error shows a password: %v", tt.name, err)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    ByteSize
		wantErr bool
	}{
		{"8388608", 8 << 20, false},
		{"8MiB", 8 << 20, false},
		{"512 KiB", 512 << 10, false},
		{"2MB", 2_000_000, false},
		{"1gib", 1 << 30, false},
		{"10B", 10, false},
		{"", 0, true},
		{"MiB", 0, true},
		{"-1", 0, true},
		{"1.5MiB", 0, true},
		{"3 parsecs", 0, true},
		{"99999999999999GiB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseByteSize(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
