package twitter

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

func TestReadmeSampleConfigParses(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Config\n\n```yaml\n(.*?)```").FindSubmatch(raw)
	if m == nil {
		t.Fatal("README.md has no yaml block under ## Config")
	}
	var doc struct {
		Connectors []yaml.Node `yaml:"connectors"`
	}
	if err := yaml.Unmarshal(m[1], &doc); err != nil {
		t.Fatalf("README sample: %v", err)
	}
	if len(doc.Connectors) != 1 {
		t.Fatalf("README sample has %d connectors; want 1", len(doc.Connectors))
	}
	t.Setenv("X_BEARER_TOKEN", "t")
	sp := &pipeline.ConnectorSpec{Type: "twitter", Name: "x-brand", File: "README.md", Node: doc.Connectors[0]}
	f, ok := pipeline.Connector("twitter")
	if !ok {
		t.Fatal(`connector type "twitter" is not registered`)
	}
	src, err := f(sp, testTopics)
	if err != nil {
		t.Fatalf("README sample: %v", err)
	}
	c := src.(*Source).cfg
	if c.API != APIv2 || c.Interval != time.Minute || c.Backfill != time.Hour || c.DailyReadBudget != 5000 ||
		c.StallTimeout != 20*time.Second || !c.Mode.Has(ModeSearch) || len(c.queries) != 3 || c.bearer.Reveal() != "t" {
		t.Errorf("README sample parsed as %+v", c.Config)
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Setenv("X_TEST_BEARER", "t")
	tests := []struct {
		doc   string
		base  string
		stall time.Duration
		modes []string
	}{
		{"bearer_token: {env: X_TEST_BEARER}", DefaultBaseURLv2, 20 * time.Second, []string{"search"}},
		{"api: v1.1\nbearer_token: {env: X_TEST_BEARER}\nmode: [stream, search]", DefaultBaseURLv11, 90 * time.Second, []string{"stream", "search"}},
	}
	for _, tc := range tests {
		src, err := New(spec(t, "type: twitter\nname: x\n"+tc.doc), testTopics[:1])
		if err != nil {
			t.Fatalf("New(%q) = %v", tc.doc, err)
		}
		c := src.(*Source).cfg
		if c.BaseURL != tc.base || c.StallTimeout != tc.stall || strings.Join(c.Mode, ",") != strings.Join(tc.modes, ",") ||
			c.Interval != DefaultInterval || c.Backfill != DefaultBackfill {
			t.Errorf("New(%q) = base %s, stall %v, modes %v, interval %v, backfill %v", tc.doc, c.BaseURL, c.StallTimeout, c.Mode, c.Interval, c.Backfill)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	t.Setenv("X_TEST_BEARER", "t")
	os.Unsetenv("X_UNSET_VAR")
	tests := []struct {
		name   string
		doc    string
		topics []pipeline.Topic
		want   []string
	}{
		{"unknown key", "bearer_token: {env: X_TEST_BEARER}\nbudget: 3", testTopics, []string{`unknown key "budget"`}},
		{"plain secret", "bearer_token: AAAA", testTopics, []string{"not as a value in the config"}},
		{"decode errors", "bearer_token: AAAA\nfoo: 1", testTopics, []string{`unknown key "foo"`, "not as a value in the config"}},
		{"no bearer", "mode: search", testTopics, []string{"bearer_token: required"}},
		{"unset env", "bearer_token: {env: X_UNSET_VAR}", testTopics, []string{"X_UNSET_VAR is not set"}},
		{"many at once", "api: v3\nbase_url: ftp://x\nmode: [poll, search, search]\ninterval: 10ms\nbackfill: 200h\nstall_timeout: 1ms\ndaily_read_budget: -1\nbearer_token: {env: X_TEST_BEARER}",
			testTopics, []string{`api: "v3"`, "base_url", `mode: "poll"`, `"search" is given twice`, "interval", "backfill", "stall_timeout", "daily_read_budget"}},
		{"oauth on v2", "bearer_token: {env: X_TEST_BEARER}\nconsumer_key: {env: X_TEST_BEARER}", testTopics, []string{"only used with api: v1.1"}},
		{"partial oauth", "api: v1.1\nconsumer_key: {env: X_TEST_BEARER}", testTopics, []string{"missing consumer_secret, access_token, access_token_secret"}},
		{"counts on v1.1", "api: v1.1\nbearer_token: {env: X_TEST_BEARER}\ncounts: true", testTopics, []string{"counts"}},
		{"foreign rules without stream", "bearer_token: {env: X_TEST_BEARER}\ndelete_foreign_rules: true", testTopics, []string{"delete_foreign_rules"}},
		{"topic not simple", "bearer_token: {env: X_TEST_BEARER}", []pipeline.Topic{{ID: "t1", Query: "acme*"}}, []string{`topic "t1"`, "set x_query"}},
		{"duplicate query", "bearer_token: {env: X_TEST_BEARER}\nqueries: [acme OR acmecorp, '']", testTopics, []string{"same as topic \"acme\"", "queries[1]: empty"}},
		{"nothing to read", "bearer_token: {env: X_TEST_BEARER}", nil, []string{"nothing to read"}},
		{"v1.1 track", "api: v1.1\nbearer_token: {env: X_TEST_BEARER}\nmode: stream", []pipeline.Topic{{ID: "t1", Query: "acme NOT recall"}}, []string{`topic "t1"`, "track"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(spec(t, "type: twitter\nname: x\n"+tc.doc), tc.topics)
			if err == nil {
				t.Fatalf("New(%q) = nil; want errors %q", tc.doc, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New(%q) = %v; want it to contain %q", tc.doc, err, w)
				}
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, `test.yaml:1: connector "x" (twitter): `) {
					t.Errorf("error line %q is not prefixed with the spec's place", line)
				}
			}
		})
	}
}

func TestXQuery(t *testing.T) {
	tests := []struct {
		in, want string
		simple   bool
	}{
		{"acme", "acme", true},
		{"acme OR acmecorp", "acme OR acmecorp", true},
		{"acme AND widget", "acme widget", true},
		{`"acme   widget" OR #acme`, `"acme widget" OR #acme`, true},
		{"acme AND (widget OR gadget) NOT recall", "acme (widget OR gadget) -recall", true},
		{"acme -recall -(bad OR worse)", "acme -recall -(bad OR worse)", true},
		{"(a OR b) (c OR d)", "(a OR b) (c OR d)", true},
		{"e-mail OR @acme", "e-mail OR @acme", true},
		{"lang:en acme", "", false},
		{"acme*", "", false},
		{"NOT acme", "", false},
		{"acme OR", "", false},
		{"(acme", "", false},
		{`"acme`, "", false},
		{"AND acme", "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		got, err := XQuery(tc.in)
		if tc.simple && (err != nil || got != tc.want) {
			t.Errorf("XQuery(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if !tc.simple && !errors.Is(err, ErrNotSimple) {
			t.Errorf("XQuery(%q) = %q, %v; want ErrNotSimple", tc.in, got, err)
		}
	}
}

func TestTrackTerms(t *testing.T) {
	tests := []struct {
		in   string
		want string // comma-joined; "" for an error
	}{
		{"acme OR acmecorp", "acme,acmecorp"},
		{`acme widget OR "big gadget"`, "acme widget,big gadget"},
		{"#acme", "#acme"},
		{"acme -recall", ""},
		{"acme (a OR b)", ""},
		{strings.Repeat("x", 61), ""},
	}
	for _, tc := range tests {
		got, err := trackTerms(tc.in)
		if s := strings.Join(got, ","); s != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("trackTerms(%q) = %q, %v; want %q", tc.in, s, err, tc.want)
		}
	}
}
