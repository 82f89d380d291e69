package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runMain(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestScoreInputFormats(t *testing.T) {
	in := "{New Post} Yolanda Adams and Acme on tour\n" +
		`{"id":"t:1","platform":"twitter","text":"@acmesupport my order never arrived"}` + "\n" +
		"plain words\n"
	out, errOut, code := runMain(t, in, "score", "--config", "")
	if code != 0 {
		t.Fatalf("score (auto) exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("score (auto) wrote %d lines; want 3:\n%s", len(lines), out)
	}
	var first, second scored
	_ = json.Unmarshal([]byte(lines[0]), &first)
	_ = json.Unmarshal([]byte(lines[1]), &second)
	if first.ID != "stdin:1" || first.Text != "{New Post} Yolanda Adams and Acme on tour" {
		t.Errorf("score (auto) line 1 = %+v; want the brace line scored as text", first)
	}
	if second.ID != "t:1" {
		t.Errorf("score (auto) line 2 id = %q; want the JSON mention's t:1", second.ID)
	}

	// text: every line is a post, JSON included.
	out, _, code = runMain(t, in, "score", "--config", "", "--format", "text")
	var asText scored
	_ = json.Unmarshal([]byte(strings.Split(out, "\n")[1]), &asText)
	if code != 0 || asText.ID != "stdin:2" || !strings.HasPrefix(asText.Text, `{"id":"t:1"`) {
		t.Errorf("score --format text = exit %d, line 2 %+v; want the JSON line scored as text", code, asText)
	}

	// json: a line that is not JSON is reported with its number; the others are scored.
	out, errOut, code = runMain(t, in, "score", "--config", "", "--format", "json")
	if code != 1 || !strings.Contains(errOut, "stdin line 1: not a JSON mention") || !strings.Contains(errOut, "stdin line 3") ||
		strings.Count(out, "\n") != 1 || !strings.Contains(out, `"id":"t:1"`) {
		t.Errorf("score --format json = exit %d, stdout %q, stderr %q; want exit 1, lines 1 and 3 reported, t:1 scored", code, out, errOut)
	}
	if _, errOut, code := runMain(t, in, "score", "--format", "yaml"); code != 2 {
		t.Errorf("score --format yaml = exit %d (%s); want a usage error", code, errOut)
	}
}

func TestScoreLint(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("topics:\n  - id: a\n    query: acme NEAR/3 recall*\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runMain(t, "", "score", "--config", good, "--lint")
	if code != 0 || !strings.Contains(out, "a: ok: acme NEAR/3 recall*") || !strings.Contains(out, "1 queries linted, 0 with errors") {
		t.Errorf("score --lint (good) = exit %d, %q, %q; want exit 0, ok and a summary", code, out, errOut)
	}
	out, errOut, code = runMain(t, "", "score", "--config", good, "--lint", "--query", "(acme OR")
	if code != 1 || !strings.Contains(out, "q1: (acme OR") || !strings.Contains(out, "2 queries linted, 1 with errors") {
		t.Errorf("score --lint (bad query) = exit %d, %q, %q; want exit 1 and the error under q1", code, out, errOut)
	}
	if _, errOut, code := runMain(t, "", "score", "--config", "", "--lint"); code != 2 || !strings.Contains(errOut, "nothing to lint") {
		t.Errorf("score --lint with no topics = exit %d, %q; want exit 2 and nothing to lint", code, errOut)
	}
	// Without --config, score reads deploy/earshot.yaml as every command does.
	t.Chdir(repoRoot(t))
	if out, errOut, code := runMain(t, "", "score", "--lint"); code != 0 || !strings.Contains(out, "queries linted") || strings.Contains(out, " 0 queries") {
		t.Errorf("score --lint (default config) = exit %d, %q, %q; want deploy/earshot.yaml's topics linted", code, out, errOut)
	}
}
