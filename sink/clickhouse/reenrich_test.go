package clickhouse_test

import (
	"strconv"
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
