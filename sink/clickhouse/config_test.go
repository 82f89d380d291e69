package clickhouse_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
)

func TestConfigDecode(t *testing.T) {
	const doc = `
addr: clickhouse-1:9000
database: listening
username: earshot
password: {env: EARSHOT_CLICKHOUSE_PASSWORD}
dial_timeout: 5s
local:
  binary: /opt/clickhouse/clickhouse
`
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
		t.Fatal(err)
	}
	var cfg clickhouse.Config
	if err := pipeline.DecodeStrict(&n, &cfg); err != nil {
		t.Fatalf("DecodeStrict: %v", err)
	}
	want := clickhouse.Config{Addr: "clickhouse-1:9000", Database: "listening", Username: "earshot",
		Password: pipeline.SecretRef{Env: "EARSHOT_CLICKHOUSE_PASSWORD"}, DialTimeout: 5 * time.Second,
		Local: clickhouse.LocalConfig{Binary: "/opt/clickhouse/clickhouse"}}
	if cfg != want {
		t.Errorf("decoded %+v; want %+v", cfg, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}

	if err := yaml.Unmarshal([]byte("password: hunter2\n"), &n); err != nil {
		t.Fatal(err)
	}
	if err := pipeline.DecodeStrict(&n, &cfg); err == nil {
		t.Errorf("DecodeStrict(plain password) = nil; want an error")
	}
}

func TestConfigDefaults(t *testing.T) {
	got := clickhouse.Config{}.WithDefaults()
	want := clickhouse.Config{Database: "earshot", Username: "default", DialTimeout: 10 * time.Second}
	if got != want {
		t.Errorf("WithDefaults() = %+v; want %+v", got, want)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  clickhouse.Config
		want []string // substrings; nil = valid
	}{
		{"empty is the managed server", clickhouse.Config{}, nil},
		{"remote", clickhouse.Config{Addr: "[::1]:9000", Database: "e_1", Username: "u",
			Password: pipeline.SecretRef{File: "/run/secrets/ch"}, DialTimeout: time.Second}, nil},
		{"no port", clickhouse.Config{Addr: "localhost"}, []string{`clickhouse.addr "localhost": want host:port`}},
		{"bad port", clickhouse.Config{Addr: "localhost:http"}, []string{`port "http" is not a number`}},
		{"port range", clickhouse.Config{Addr: "localhost:70000"}, []string{`port "70000"`}},
		{"no host", clickhouse.Config{Addr: ":9000"}, []string{"empty host"}},
		{"everything wrong at once", clickhouse.Config{Addr: "x", Database: "bad-name; DROP", DialTimeout: -time.Second,
			Password: pipeline.SecretRef{Env: "A", File: "b"}},
			[]string{"clickhouse.addr", `clickhouse.database "bad-name; DROP"`, "dial_timeout -1s", "env or file, not both"}},
		{"digit first", clickhouse.Config{Database: "1db"}, []string{`clickhouse.database "1db"`}},
		{"credentials for the managed server", clickhouse.Config{Username: "bob", Password: pipeline.SecretRef{Env: "P"}},
			[]string{`clickhouse.username "bob" is set but clickhouse.addr is empty`, "clickhouse.password is set but clickhouse.addr is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == nil {
				if err != nil {
					t.Errorf("Validate(%+v) = %v; want nil", tt.cfg, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate(%+v) = nil; want %q", tt.cfg, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate(%+v) = %v; want it to contain %q", tt.cfg, err, w)
				}
			}
		})
	}
}

// TestREADMEConfig parses the sample config of the README.
func TestREADMEConfig(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```yaml\n")
	sample, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no yaml block")
	}
	var doc struct {
		ClickHouse yaml.Node `yaml:"clickhouse"`
	}
	if err := yaml.Unmarshal([]byte(sample), &doc); err != nil {
		t.Fatalf("README sample: %v", err)
	}
	var cfg clickhouse.Config
	if err := pipeline.DecodeStrict(&doc.ClickHouse, &cfg); err != nil {
		t.Fatalf("README sample: %v", err)
	}
	if err := cfg.Validate(); err != nil || cfg.Addr != "clickhouse-1:9000" {
		t.Errorf("README sample = %+v, Validate() = %v; want a valid config for clickhouse-1:9000", cfg, err)
	}
}
