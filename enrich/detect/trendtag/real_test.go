package trendtag

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/enrich/trend/nab"
	"github.com/earshot-dev/earshot/pipeline"
)

// realMentions are n mentions with real texts: 60% Reddit comments
// (GoEmotions), 40% articles of about 1 KB joined from NYT editorial
// snippets with a movie-review snippet as title (VADER), with zero to three
// Zipf-like hashtags, 40 a second of created_at time.
func realMentions(tb testing.TB, n int, start time.Time) []*pipeline.Mention {
	tb.Helper()
	dir, err := nab.DataDir()
	if err != nil {
		tb.Fatalf("shared data: %v", err)
	}
	posts := readColumn(tb, filepath.Join(dir, "goemotions", "dev.tsv"), 0)
	snippets := readColumn(tb, filepath.Join(dir, "vader", "nytEditorialSnippets_GroundTruth.txt"), 2)
	titles := readColumn(tb, filepath.Join(dir, "vader", "movieReviewSnippets_GroundTruth.txt"), 2)
	r := rand.New(rand.NewPCG(3, 9))
	tags := strings.Fields("deal outage launch review unboxing help recall fail love travel music tech news sale")
	out := make([]*pipeline.Mention, n)
	for i := range out {
		m := mention(i, start.Add(time.Duration(i)*25*time.Millisecond), "")
		var text strings.Builder
		if r.IntN(10) < 6 {
			text.WriteString(posts[r.IntN(len(posts))])
		} else {
			m.Title = titles[r.IntN(len(titles))]
			for text.Len() < 900+r.IntN(250) {
				text.WriteString(snippets[r.IntN(len(snippets))] + " ")
			}
		}
		for range r.IntN(4) {
			h := tags[min(r.IntN(len(tags)), r.IntN(len(tags)))] + fmt.Sprint(r.IntN(30))
			text.WriteString(" #" + h)
			m.Enrichment.Hashtags = append(m.Enrichment.Hashtags, h)
		}
		m.Text = text.String()
		out[i] = m
	}
	return out
}

// readColumn returns column col of a tab-separated file.
func readColumn(tb testing.TB, path string, col int) []string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))))
	for sc.Scan() {
		if parts := strings.Split(strings.TrimRight(sc.Text(), "\r"), "\t"); len(parts) > col {
			out = append(out, parts[col])
		}
	}
	if len(out) == 0 {
		tb.Fatalf("%s: no rows", path)
	}
	return out
}

// BenchmarkEnrichReal is the stage's cost per mention on real texts, in
// batches of 500, warm (tagging) after the first 6 minutes of mention time.
func BenchmarkEnrichReal(b *testing.B) {
	ms := realMentions(b, 20_000, time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	s, err := NewWithOptions(Options{Bucket: time.Minute, Warmup: 6 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i+500 > len(ms) {
			b.StopTimer()
			s, _ = NewWithOptions(Options{Bucket: time.Minute, Warmup: 6 * time.Minute})
			for _, m := range ms {
				m.Enrichment.Trends = nil
			}
			i = 0
			b.StartTimer()
		}
		if err := s.Enrich(context.Background(), ms[i:i+500]); err != nil {
			b.Fatal(err)
		}
		i += 500
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/mention")
}

// BenchmarkFeatures is the cost of a mention's features (hashtags and
// terms) on real texts.
func BenchmarkFeatures(b *testing.B) {
	ms := realMentions(b, 5_000, time.Now())
	s, err := NewWithOptions(Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = s.features(ms[i%len(ms)])
		i++
	}
}

// BenchmarkStateMemory is the heap the stage holds (default options: 5m
// buckets, 15m reorder) after 70 minutes of mention time at 40 mentions a
// second of real texts, in batches of 256 (the texts of 20,000 mentions,
// repeated); the mentions themselves are not counted. See also
// BenchmarkStateMemoryVsFormer.
func BenchmarkStateMemory(b *testing.B) {
	benchStateMemory(b, func() (func(context.Context, []*pipeline.Mention) error, any) {
		s, err := NewWithOptions(Options{})
		if err != nil {
			b.Fatal(err)
		}
		return s.Enrich, s
	})
}
