package main

import (
	"os"
	"strings"
	"testing"
)

// FuzzParseConfig checks the config loader on any bytes: it never panics,
// a problem always names the file (and the line when it has one), the same
// bytes always give the same answer (problems come in line order, not map
// order), and a config it accepts has its defaults filled in.
func FuzzParseConfig(f *testing.F) {
	for _, p := range []string{"../../deploy/earshot.yaml", "../../deploy/demo.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"# only a comment\n",
		"- a\n- b\n",
		"topics: [{id: acme, query: acme}]\nconnectors: [{type: rss, name: blog, feeds: [\"https://x.example/?q=a#b\"]}]\n",
		"a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\ntopics: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n",
		"nats: " + strings.Repeat("{nats: ", 3000) + "{}" + strings.Repeat("}", 3000) + "\n",
		"topics:\n  - id: \"caf\xe9\"\n    query: \"\\x00\\x1b[31m acme\"\n",
		"topics:\n  - id: t\n    query: " + strings.Repeat("acme OR ", 20000) + "acme\n",
		"connectors:\n  - null\n  - ~\n  - {type: null}\n  - {type: twitter, bearer_token: {env: ''}}\n",
		"clickhouse: {password: {file: /dev/zero}}\nnats: {streams: {max_bytes: -1}}\n",
		"data_dir: !!binary aGVsbG8=\nsink: {flush_interval: 7x, workers: many}\n",
		"\t tab: indented\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		const path = "fuzz.yaml"
		c, err := ParseConfig(path, raw)
		c2, err2 := ParseConfig(path, raw)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("ParseConfig() twice = %v then %v; want the same answer", err, err2)
		}
		if err != nil {
			if c != nil {
				t.Fatalf("ParseConfig() = %v and a config; want no config with an error", err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if line != "" && !strings.HasPrefix(line, path+":") && !strings.HasPrefix(line, "  ") {
					t.Fatalf("ParseConfig() problem %q does not name %s (in %q)", line, path, err)
				}
			}
			return
		}
		if c == nil || c2 == nil {
			t.Fatalf("ParseConfig() = nil, nil")
		}
		if c.DataDir == "" || c.Log.Level == "" || c.Log.Progress == nil || c.HTTP.Listen == "" || c.NATS.Embedded.Port == 0 {
			t.Fatalf("ParseConfig() accepted a config without its defaults: %+v", c)
		}
	})
}
