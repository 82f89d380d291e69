package clickhouse_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
)

// Re-enrichment in storage: a stored mention reads back as the same row
// (so an unchanged re-enrichment writes nothing); a re-enriched version
// replaces it under FINAL, with collection fields as collected and
// enriched_at set to the run's time, also after merging; a tombstone
// written before or after still outranks it; reading pages in key order
// covers every live mention once.
func TestReenrichedVersionsReplaceAndTombstonesOutrank(t *testing.T) {
	st := openStore(t)
	ctx := testCtx(t)
	created := time.Date(2026, 10, 15, 12, 0, 0, 0, time.UTC)
	collected := created.Add(time.Hour)
	var batch []*pipeline.Mention
	for i, id := range []string{"m:1", "m:2", "m:3", "m:4", "m:5"} {
		batch = append(batch, &pipeline.Mention{Schema: 1, ID: id, Platform: "mastodon", Source: "m/acme", Kind: pipeline.KindPost,
			Text: "acme " + id, Title: "t", URL: "https://x/" + id, CreatedAt: created.Add(time.Duration(i%2) * time.Minute), CollectedAt: collected,
			EditedAt: created.Add(time.Duration(i) * time.Second), Rating: i, Answered: i%2 == 0,
			Author:     pipeline.Author{ID: "a", Handle: "h", Followers: 7, Verified: true},
			Engagement: pipeline.Engagement{Likes: 3, Views: 9},
			Enrichment: pipeline.Enrichment{Topics: []string{"acme"}, Lang: "en", LangDetected: "en", LangConfidence: 0.75,
				Sentiment: &pipeline.Sentiment{Score: -0.5, Label: "negative", Confidence: 0.8}, Hashtags: []string{"x"},
				Errors: []pipeline.StageError{{Stage: "dedup", Error: "boom: bad"}}, Versions: map[string]string{"topics": "1", "lang": "2"}}})
	}
	batch[0].EditedAt = time.Time{}
	if err := st.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := st.Write(ctx, []*pipeline.Mention{pipeline.Tombstone("mastodon", "m:5", "m/acme", batch[4].CreatedAt, collected.Add(time.Minute))}); err != nil {
		t.Fatal(err)
	}
	r := clickhouse.ReadRange{Since: created, Until: created.Add(time.Hour)}
	if n, err := st.CountLive(ctx, r); err != nil || n != 4 {
		t.Fatalf("CountLive = %d, %v; want the 4 not deleted", n, err)
	}
	var read []*pipeline.Mention
	for {
		page, err := st.ReadLive(ctx, r, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		read = append(read, page...)
		last := page[len(page)-1]
		r.After = clickhouse.Key{CreatedAt: last.CreatedAt, Platform: last.Platform, ID: last.ID}
	}
	if len(read) != 4 {
		t.Fatalf("ReadLive pages = %d mentions; want 4", len(read))
	}
	byID := map[string]*pipeline.Mention{}
	for _, m := range batch {
		byID[m.ID] = m
	}
	for _, m := range read {
		if !clickhouse.SameStoredRow(m, byID[m.ID]) {
			t.Errorf("ReadLive(%q) = %+v; want the row as written %+v", m.ID, m, byID[m.ID])
		}
	}
	// Re-enrich: new topics and sentiment for all four, and m:5 too (as a
	// stale copy read before its deletion).
	stamp := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	stale := *batch[4]
	read = append(read, &stale)
	for _, m := range read {
		m.Enrichment.Topics = []string{"acme", "support"}
		m.Enrichment.Sentiment = &pipeline.Sentiment{Score: 0.5, Label: "positive", Confidence: 0.9}
		if clickhouse.SameStoredRow(m, byID[m.ID]) {
			t.Fatalf("SameStoredRow(%q) after changing topics = true", m.ID)
		}
	}
	if err := st.WriteReenriched(ctx, read, stamp); err != nil {
		t.Fatal(err)
	}
	// A tombstone arriving after the re-enrichment outranks it too.
	if err := st.Write(ctx, []*pipeline.Mention{pipeline.Tombstone("mastodon", "m:4", "m/acme", batch[3].CreatedAt, collected.Add(time.Minute))}); err != nil {
		t.Fatal(err)
	}
	for pass, optimize := range []bool{false, true} {
		if optimize {
			if err := st.Conn().Exec(ctx, "OPTIMIZE TABLE `"+st.Database()+"`.mentions FINAL"); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			q    string
			want uint64
		}{
			{"SELECT count() FROM $db.mentions FINAL", 5},
			{"SELECT uniqExact(id) FROM $db.mentions FINAL", 5},
			{"SELECT count() FROM $db.mentions_dedup", 3},
			{"SELECT count() FROM $db.mentions FINAL WHERE deleted = 0 AND has(topics, 'support') AND sentiment_label = 'positive' AND enriched_at = " +
				strconv.FormatInt(stamp.UnixMilli(), 10) + " AND collected_at = toDateTime('2026-10-15 13:00:00', 'UTC') AND likes = 3 AND views = 9 AND text = concat('acme ', id) " +
				"AND author_followers = 7 AND author_verified = 1", 3},
			{"SELECT count() FROM $db.mentions FINAL WHERE deleted = 1 AND id IN ('m:4', 'm:5')", 2},
			{"SELECT toUInt64(sum(mentions)) FROM $db.mentions_per_minute WHERE topic = 'support'", 3},
		} {
			if got := queryUint(t, st, c.q); got != c.want {
				t.Errorf("pass %d: %s = %d; want %d", pass, c.q, got, c.want)
			}
		}
	}
}

// textMatcher matches mentions whose text contains its word.
type textMatcher string

func (w textMatcher) Match(m *pipeline.Mention) ([]string, []pipeline.Span) {
	if i := strings.Index(m.Text, string(w)); i >= 0 {
		return []string{"q"}, []pipeline.Span{{Topic: "q", Field: "text", Start: i, End: i + len(w)}}
	}
	return nil, nil
}

// SearchStored, the console's and backtest's one read path: the window's
// live mentions, newest first, each once in its newest version, with what
// the matcher found; a platform filter and a limit.
func TestSearchStoredReadsNewestVersionsNewestFirst(t *testing.T) {
	st := openStore(t)
	ctx := testCtx(t)
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var batch []*pipeline.Mention
	for i := range 6 {
		batch = append(batch, &pipeline.Mention{Schema: 1, ID: fmt.Sprintf("x:%d", i), Platform: []string{"rss", "reddit"}[i%2], Source: "s",
			Kind: pipeline.KindPost, Text: []string{"acme one", "other"}[i%2], CreatedAt: base.Add(time.Duration(i) * time.Hour), CollectedAt: base.Add(24 * time.Hour),
			Enrichment: pipeline.Enrichment{Topics: []string{"old"}}})
	}
	if err := st.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	newer := *batch[2]
	newer.Enrichment.Topics = []string{"new"}
	if err := st.WriteReenriched(ctx, []*pipeline.Mention{&newer}, base.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.Write(ctx, []*pipeline.Mention{pipeline.Tombstone("rss", "x:4", "s", batch[4].CreatedAt, base.Add(25*time.Hour))}); err != nil {
		t.Fatal(err)
	}
	var got []string
	n, err := st.SearchStored(ctx, clickhouse.SearchRange{From: base, To: base.Add(6 * time.Hour)}, textMatcher("acme"),
		func(m *pipeline.Mention, ids []string, spans []pipeline.Span) error {
			got = append(got, fmt.Sprintf("%s %v %v %d", m.ID, m.Enrichment.Topics, ids, len(spans)))
			return nil
		})
	want := []string{"x:5 [old] [] 0", "x:3 [old] [] 0", "x:2 [new] [q] 1", "x:1 [old] [] 0", "x:0 [old] [q] 1"}
	if err != nil || n != 5 || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("SearchStored() = %d, %q, %v; want 5 newest first, x:4 deleted, x:2 re-enriched: %q", n, got, err, want)
	}
	got = nil
	n, err = st.SearchStored(ctx, clickhouse.SearchRange{From: base, To: base.Add(6 * time.Hour), Platform: "rss", Limit: 1}, textMatcher("acme"),
		func(m *pipeline.Mention, _ []string, _ []pipeline.Span) error { got = append(got, m.ID); return nil })
	if err != nil || n != 1 || len(got) != 1 || got[0] != "x:2" {
		t.Errorf("SearchStored(rss, limit 1) = %d, %q, %v; want the newest live rss mention x:2", n, got, err)
	}
}
