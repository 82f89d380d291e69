package lang

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

type labelled struct {
	lang, text string
}

// loadPosts reads testdata/posts.tsv (written for earshot, see its header).
func loadPosts(t testing.TB, file string) []labelled {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("open %s: %v", file, err)
	}
	defer f.Close()
	var out []labelled
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		code, text, ok := strings.Cut(s, "\t")
		if !ok {
			t.Fatalf("%s:%d: no tab", file, line)
		}
		out = append(out, labelled{code, text})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	return out
}

// firstWords returns the first n whitespace-separated words of s.
func firstWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) > n {
		f = f[:n]
	}
	return strings.Join(f, " ")
}
