package main

import (
	"strings"
	"testing"
	"time"
)

func TestConsoleConfig(t *testing.T) {
	cfg, err := ParseConfig("c.yaml", []byte("console: {response_target: 30m, search_scan: 1000}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Console.ResponseTarget != 30*time.Minute || cfg.Console.SearchScan != 1000 {
		t.Errorf("console = %+v; want response_target 30m, search_scan 1000", cfg.Console)
	}
	for _, c := range []struct{ yaml, want string }{
		{"console: {auth: {token: {env: T}, users_file: /x}}", "token or users_file, not both"},
		{"console: {auth: {token: s3cret}}", "{env: VAR} or {file: PATH}"},
		{"console: {response_target: -1m}", "must not be negative"},
		{"console: {colour: red}", "colour"},
	} {
		_, err := ParseConfig("c.yaml", []byte(c.yaml+"\n"))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseConfig(%q) = %v; want an error containing %q", c.yaml, err, c.want)
		}
	}
}
