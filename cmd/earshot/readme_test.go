package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeBlock is one fenced code block of a README.
type readmeBlock struct {
	file  string // path from the repository root
	line  int    // line of the opening fence
	lang  string // the fence's info string: yaml, sql, sh, …
	text  string
	skip  string // reason given by a "<!-- readme-test: skip REASON -->" line just before the fence
	extra string // text after "<!-- readme-test: " on that line when it is not a skip
}

// repoRoot is the directory holding go.mod, above the test's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// readmeBlocks returns every fenced block of language lang in every
// README.md of the repository.
func readmeBlocks(t *testing.T, lang string) []readmeBlock {
	t.Helper()
	root := repoRoot(t)
	var out []readmeBlock
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "data" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() || d.Name() != "README.md" {
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		out = append(out, parseBlocks(rel, string(raw), lang)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func parseBlocks(file, text, lang string) []readmeBlock {
	var (
		out   []readmeBlock
		cur   *readmeBlock
		lines = strings.Split(text, "\n")
	)
	for i, l := range lines {
		switch {
		case cur == nil && strings.HasPrefix(l, "```"):
			info := strings.TrimSpace(strings.TrimPrefix(l, "```"))
			cur = &readmeBlock{file: file, line: i + 1, lang: info}
			for j := i - 1; j >= 0 && j >= i-2; j-- {
				if c, ok := strings.CutPrefix(strings.TrimSpace(lines[j]), "<!-- readme-test: "); ok {
					c = strings.TrimSpace(strings.TrimSuffix(c, "-->"))
					if r, ok := strings.CutPrefix(c, "skip"); ok {
						cur.skip = strings.TrimSpace(r)
					} else {
						cur.extra = c
					}
				}
			}
		case cur != nil && strings.HasPrefix(l, "```"):
			if cur.lang == lang {
				out = append(out, *cur)
			}
			cur = nil
		case cur != nil:
			cur.text += l + "\n"
		}
	}
	return out
}

// envSecret finds the environment variables a config names for secrets.
var envSecret = regexp.MustCompile(`\{\s*env:\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}`)

// TestREADMEConfigBlocksPassCheck runs `earshot check` on every yaml block of
// every README, as a new user who copies one into a file would.
func TestREADMEConfigBlocksPassCheck(t *testing.T) {
	blocks := readmeBlocks(t, "yaml")
	if len(blocks) < 8 {
		t.Fatalf("found %d yaml blocks in the READMEs; want at least 8 (the parser lost some)", len(blocks))
	}
	t.Setenv("EARSHOT_CLICKHOUSE_PASSWORD", "x")
	t.Setenv("X_BEARER_TOKEN", "x")
	checked := 0
	for _, b := range blocks {
		if b.skip != "" {
			t.Logf("%s:%d: skipped: %s", b.file, b.line, b.skip)
			continue
		}
		// A user sets the secrets a block names before running it.
		for _, m := range envSecret.FindAllStringSubmatch(b.text, -1) {
			t.Setenv(m[1], "x")
		}
		f := filepath.Join(t.TempDir(), "earshot.yaml")
		if err := os.WriteFile(f, []byte(b.text), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		if code := Main(context.Background(), []string{"check", "--config", f}, nil, &out, &errOut); code != 0 {
			t.Errorf("%s:%d: earshot check of the yaml block = exit %d:\n%s", b.file, b.line, code, errOut.String())
		}
		checked++
	}
	if checked < 8 {
		t.Errorf("checked %d README yaml blocks; want at least 8", checked)
	}
}
