// Package evaldata loads the human-labelled evaluation data that lives in
// shared/data beside the repository (never inside it): the VADER rating sets
// and the GoEmotions dev set, for quality tests and reports of the enrich
// stages.
//
// The directory is found from EARSHOT_SHARED_DATA, or by walking up from the
// working directory to the first ancestor that has a shared/data folder.
package evaldata

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// EnvDir names the environment variable that overrides where the data is.
const EnvDir = "EARSHOT_SHARED_DATA"

// ErrNotFound is returned by Dir when no shared/data folder can be found.
var ErrNotFound = errors.New("shared evaluation data not found")

// Dir returns the shared data directory.
func Dir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		if _, err := os.Stat(d); err != nil {
			return "", fmt.Errorf("%s=%q: %w", EnvDir, d, err)
		}
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find shared data: %w", err)
	}
	for d := wd; ; {
		c := filepath.Join(d, "shared", "data")
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("%w: no shared/data above %s and %s is unset", ErrNotFound, wd, EnvDir)
		}
		d = parent
	}
}

// TB is the part of testing.TB that DirOrSkip and TextsIfAny use.
type TB interface {
	Helper()
	Logf(format string, args ...any)
	Skipf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// forTest looks the shared data up for a test: err is ErrNotFound's when
// there is none outside CI (a checkout without ../shared); in CI (CI set),
// where the data must be found, and on any other error the test fails.
func forTest(t TB) (string, error) {
	t.Helper()
	d, err := Dir()
	if err != nil && !(errors.Is(err, ErrNotFound) && os.Getenv("CI") == "") {
		t.Fatalf("evaldata.Dir: %v", err)
	}
	return d, err
}

// DirOrSkip returns the shared data directory for a test that needs it:
// the test is skipped when there is none outside CI, and fails in CI.
func DirOrSkip(t TB) string {
	t.Helper()
	d, err := forTest(t)
	if err != nil {
		t.Skipf("no evaluation data: %v", err)
	}
	return d
}

// TextsIfAny returns Texts of the shared data for a test that also runs on
// texts of its own: none (and a log line) when there is no data outside
// CI; in CI the test fails.
func TextsIfAny(t TB) []string {
	t.Helper()
	d, err := forTest(t)
	if err != nil {
		t.Logf("no shared data, the test's own texts only: %v", err)
		return nil
	}
	texts, err := Texts(d)
	if err != nil {
		t.Fatalf("evaldata.Texts: %v", err)
	}
	return texts
}

// Rated is one VADER ground-truth row: the mean of about 20 human ratings on
// a -4 … +4 scale.
type Rated struct {
	ID     string
	Rating float64
	Text   string
}

// Class is the 3-class gold label of a rating, as in the VADER paper:
// positive above 0.5, negative below -0.5, neutral between.
func (r Rated) Class() int {
	switch {
	case r.Rating > 0.5:
		return 1
	case r.Rating < -0.5:
		return -1
	}
	return 0
}

// The VADER ground-truth sets.
const (
	VADERMovies = "movieReviewSnippets_GroundTruth.txt"
	VADERAmazon = "amazonReviewSnippets_GroundTruth.txt"
	VADERNYT    = "nytEditorialSnippets_GroundTruth.txt"
	// VADERTweets is VADER's rated tweets; it is not in shared/data today,
	// and reports include it when it is there.
	VADERTweets = "tweets_GroundTruth.txt"
)

// VADER reads one of the VADER ground-truth files (id, mean rating, text,
// tab-separated, CRLF, maybe with a byte-order mark) from dir/vader.
func VADER(dir, file string) ([]Rated, error) {
	path := filepath.Join(dir, "vader", file)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read vader set: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	var out []Rated
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimRight(sc.Text(), "\r")
		if s == "" {
			continue
		}
		f := strings.SplitN(s, "\t", 3)
		if len(f) != 3 {
			return nil, fmt.Errorf("%s:%d: want 3 tab-separated fields, got %d", path, line, len(f))
		}
		r, err := strconv.ParseFloat(strings.TrimSpace(f[1]), 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: rating: %w", path, line, err)
		}
		out = append(out, Rated{ID: f[0], Rating: r, Text: f[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// Comment is one GoEmotions comment with its sentiment groups (positive,
// negative, ambiguous, neutral).
type Comment struct {
	ID     string
	Text   string
	Groups []string
}

// Has reports whether the comment carries the group.
func (c Comment) Has(group string) bool {
	for _, g := range c.Groups {
		if g == group {
			return true
		}
	}
	return false
}

// Polarity is the comment's gold polarity for positive/negative scoring:
// 1 when it is labelled positive and not negative, -1 for the reverse,
// 0 when it is neither (neutral or ambiguous only), and ok=false when it is
// labelled both positive and negative (mixed, left out of the scoring).
func (c Comment) Polarity() (p int, ok bool) {
	pos, neg := c.Has("positive"), c.Has("negative")
	switch {
	case pos && neg:
		return 0, false
	case pos:
		return 1, true
	case neg:
		return -1, true
	}
	return 0, true
}

// GoEmotionsDev reads goemotions/dev.tsv, mapping label ids through
// goemotions/labels.txt.
func GoEmotionsDev(dir string) ([]Comment, error) {
	lp := filepath.Join(dir, "goemotions", "labels.txt")
	ldata, err := os.ReadFile(lp)
	if err != nil {
		return nil, fmt.Errorf("read goemotions labels: %w", err)
	}
	var labels []string
	for _, l := range strings.Split(string(ldata), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			labels = append(labels, l)
		}
	}
	path := filepath.Join(dir, "goemotions", "dev.tsv")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read goemotions dev: %w", err)
	}
	var out []Comment
	for i, s := range strings.Split(string(data), "\n") {
		s = strings.TrimRight(s, "\r")
		if s == "" {
			continue
		}
		f := strings.Split(s, "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("%s:%d: want 3 tab-separated fields, got %d", path, i+1, len(f))
		}
		c := Comment{ID: f[2], Text: f[0]}
		for _, id := range strings.Split(f[1], ",") {
			n, err := strconv.Atoi(id)
			if err != nil || n < 0 || n >= len(labels) {
				return nil, fmt.Errorf("%s:%d: label id %q not in %s", path, i+1, id, lp)
			}
			c.Groups = append(c.Groups, labels[n])
		}
		out = append(out, c)
	}
	return out, nil
}
