package clickhouse

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// mentionRowBefore is mentionRow as it was before the typed columns
// (columns.go): the reference the typed columns must match.
func mentionRowBefore(m *pipeline.Mention, ingested time.Time) []any {
	e := &m.Enrichment
	var score, sentConf float32
	var label string
	if e.Sentiment != nil {
		score, label, sentConf = float32(e.Sentiment.Score), e.Sentiment.Label, float32(e.Sentiment.Confidence)
	}
	collected := m.CollectedAt
	if m.Deleted {
		collected = maxDateTime
	}
	edited := m.EditedAt
	if edited.IsZero() {
		edited = minDateTime
	}
	return []any{
		m.ID, m.Platform, m.Source, m.Kind, m.URL,
		m.Author.ID, m.Author.Handle, m.Author.Name, m.Author.Followers, boolUint8(m.Author.Verified),
		m.Title, m.Text, e.Lang, e.LangDetected, float32(e.LangConfidence),
		m.CreatedAt, collected, ingested,
		m.Engagement.Likes, m.Engagement.Reposts, m.Engagement.Replies, m.Engagement.Quotes, m.Engagement.Views,
		m.ParentID, m.ConversationID, m.MatchedRule,
		score, label,
		nonNil(e.Topics), nonNil(e.Hashtags), nonNil(e.Mentions), nonNil(e.Cashtags),
		nonNil(e.Links), nonNil(e.Domains), nonNil(e.Emoji),
		e.DupCluster, nonNil(e.Trends), boolUint8(e.NeedsResponse),
		errorList(e.Errors), versionList(e.Versions), uint8(m.Schema),
		m.Lang, sentConf,
		boolUint8(m.Deleted), edited,
		ratingUint8(m.Rating), boolUint8(m.Answered),
		ingested.UnixMilli(),
	}
}

// realMentions builds mentions around real Reddit comments (goemotions
// dev.tsv from the shared data), varying every field the writer treats
// specially: no sentiment, deletions, edits, ratings, errors, versions,
// nil and empty arrays.
func realMentions(t testing.TB, n int) []*pipeline.Mention {
	t.Helper()
	dir := os.Getenv("EARSHOT_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	f, err := os.Open(filepath.Join(dir, "goemotions", "dev.tsv"))
	if err != nil {
		t.Fatalf("real texts: %v (set EARSHOT_SHARED_DATA to the shared data directory)", err)
	}
	defer f.Close()
	var out []*pipeline.Mention
	base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	sc := bufio.NewScanner(f)
	for i := 0; sc.Scan() && len(out) < n; i++ {
		text, rest, _ := strings.Cut(sc.Text(), "\t")
		_, id, _ := strings.Cut(rest, "\t")
		words := strings.Fields(text)
		m := &pipeline.Mention{
			Schema: 1 + i%3, ID: "reddit:" + id, Platform: "reddit", Source: "r/all", Kind: pipeline.KindPost,
			URL: "https://reddit.com/" + id, Text: text, Lang: []string{"en", "", "de"}[i%3],
			Author:      pipeline.Author{ID: fmt.Sprint(i), Handle: "u" + fmt.Sprint(i%11), Name: text[:min(len(text), 12)], Followers: int64(i * 7), Verified: i%4 == 0},
			CreatedAt:   base.Add(time.Duration(i) * time.Second),
			CollectedAt: base.Add(time.Duration(i)*time.Second + time.Hour),
			Engagement:  pipeline.Engagement{Likes: int64(i), Reposts: int64(i % 5), Replies: -1, Quotes: 0, Views: int64(i) << 20},
			ParentID:    []string{"", "reddit:p" + fmt.Sprint(i/3)}[i%2], ConversationID: "c" + fmt.Sprint(i/10),
			MatchedRule: []string{"", "acme"}[i%2], Title: []string{"", text}[i%5/4],
			Rating: i % 7, Answered: i%6 == 0, Deleted: i%13 == 0,
		}
		if i%9 == 0 {
			m.EditedAt = m.CreatedAt.Add(time.Minute)
		}
		e := &m.Enrichment
		e.Lang, e.LangDetected, e.LangConfidence = "en", []string{"en", "nl", ""}[i%3], float64(i%100)/100
		if i%5 != 0 {
			e.Sentiment = &pipeline.Sentiment{Score: float64(i%21-10) / 10, Label: []string{"positive", "negative", "neutral"}[i%3], Confidence: 0.5 + float64(i%50)/100}
		}
		if len(words) > 2 {
			e.Topics = words[:2]
			e.Hashtags = words[len(words)-1:]
		}
		if i%2 == 0 {
			e.Mentions, e.Emoji = []string{}, []string{"🙂"}
		}
		e.Links, e.Domains, e.Cashtags, e.Trends = nil, []string{"reddit.com"}, nil, []string{words[0]}
		e.DupCluster = fmt.Sprint(i % 17)
		e.NeedsResponse = i%8 == 0
		if i%6 == 0 {
			e.Errors = []pipeline.StageError{{Stage: "lang", Error: "too short"}}
		}
		e.Versions = map[string]string{"lang": "2", "topics": fmt.Sprint(i % 3), "dedup": "1"}
		out = append(out, m)
	}
	if len(out) < n {
		t.Fatalf("real texts: read %d of %d", len(out), n)
	}
	return out
}

// TestColumnsMatchRows proves the typed columns store what the boxed row
// path stored before them, cell by cell, on real texts.
func TestColumnsMatchRows(t *testing.T) {
	ms := realMentions(t, 2000)
	ingested := time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC)
	st := stamps{ingested: ingested, enrichedAt: ingested.UnixMilli()}
	for j, r := range mentionReaders {
		col := reflect.ValueOf(r.column(ms, &st))
		if col.Len() != len(ms) {
			t.Fatalf("column %s has %d values; want %d", mentionColumns[j].name, col.Len(), len(ms))
		}
		for i, m := range ms {
			want := mentionRowBefore(m, ingested)[j]
			if got := col.Index(i).Interface(); !reflect.DeepEqual(got, want) {
				t.Fatalf("column %s of %q = %#v; the row path stored %#v", mentionColumns[j].name, m.ID, got, want)
			}
		}
	}
	for _, m := range ms {
		if got, want := mentionRow(m, ingested), mentionRowBefore(m, ingested); !reflect.DeepEqual(got, want) {
			t.Fatalf("mentionRow(%q) = %v; before it was %v", m.ID, got, want)
		}
	}
}

// BenchmarkBuildColumns builds the columns of 5,000 real mentions two
// ways in one run: typed (columns.go) and boxed per cell then gathered by
// type (the path before it). Compare the two ns/op.
//
//	go test -run '^$' -bench BuildColumns ./sink/clickhouse/
func BenchmarkBuildColumns(b *testing.B) {
	ms := realMentions(b, 5000)
	ingested := time.Now().UTC().Truncate(time.Second)
	b.Run("typed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			st := stamps{ingested: ingested, enrichedAt: ingested.UnixMilli()}
			for _, r := range mentionReaders {
				_ = r.column(ms, &st)
			}
		}
	})
	b.Run("boxed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			cols := make([]columnValuesBefore, len(mentionColumns))
			for _, m := range ms {
				for j, v := range mentionRowBefore(m, ingested) {
					cols[j].add(v, len(ms))
				}
			}
		}
	})
}

// columnValuesBefore gathered boxed values by type (the path before the
// typed columns), kept as the benchmark's baseline.
type columnValuesBefore struct {
	strs   []string
	i64s   []int64
	u8s    []uint8
	f32s   []float32
	times  []time.Time
	arrays [][]string
}

func (c *columnValuesBefore) add(v any, n int) {
	switch x := v.(type) {
	case string:
		if c.strs == nil {
			c.strs = make([]string, 0, n)
		}
		c.strs = append(c.strs, x)
	case int64:
		if c.i64s == nil {
			c.i64s = make([]int64, 0, n)
		}
		c.i64s = append(c.i64s, x)
	case uint8:
		if c.u8s == nil {
			c.u8s = make([]uint8, 0, n)
		}
		c.u8s = append(c.u8s, x)
	case float32:
		if c.f32s == nil {
			c.f32s = make([]float32, 0, n)
		}
		c.f32s = append(c.f32s, x)
	case time.Time:
		if c.times == nil {
			c.times = make([]time.Time, 0, n)
		}
		c.times = append(c.times, x)
	case []string:
		if c.arrays == nil {
			c.arrays = make([][]string, 0, n)
		}
		c.arrays = append(c.arrays, x)
	}
}
