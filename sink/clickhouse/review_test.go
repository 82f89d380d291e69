package clickhouse_test

import (
	"slices"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// Migration 7: a review's rating and a question's answered flag are
// stored and shown by mentions_dedup; a rating outside 1-5 is refused.
func TestRatingAndAnswered(t *testing.T) {
	st := openStore(t)
	ctx := testCtx(t)
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	ms := []*pipeline.Mention{
		{Schema: 1, ID: "appstore:1", Platform: "appstore", Kind: pipeline.KindReview, Rating: 1, Text: "crashes", CreatedAt: at, CollectedAt: at},
		{Schema: 1, ID: "appstore:2", Platform: "appstore", Kind: pipeline.KindReview, Rating: 5, Text: "great", CreatedAt: at, CollectedAt: at},
		{Schema: 1, ID: "stackexchange:so:3", Platform: "stackexchange", Kind: pipeline.KindPost, Answered: true, CreatedAt: at, CollectedAt: at},
	}
	if err := st.Write(ctx, ms); err != nil {
		t.Fatalf("Write: %v", err)
	}
	for q, want := range map[string]uint64{
		"SELECT count() FROM $db.mentions_dedup WHERE kind = 'review' AND rating = 1": 1,
		"SELECT toUInt64(sum(rating)) FROM $db.mentions_dedup":                        6,
		"SELECT count() FROM $db.mentions_dedup WHERE answered = 1":                   1,
	} {
		if got := queryUint(t, st, q); got != want {
			t.Errorf("%s = %d; want %d", q, got, want)
		}
	}
	bad := &pipeline.Mention{Schema: 1, ID: "appstore:9", Platform: "appstore", Kind: pipeline.KindReview, Rating: 7, CreatedAt: at, CollectedAt: at}
	err := st.Write(ctx, []*pipeline.Mention{bad})
	if err == nil {
		t.Errorf("Write(rating 7) = nil; want it refused")
	}
}

// Migration 7 on a database that already holds rows (a version-6 schema,
// simulated by dropping its columns and its record): it adds the columns
// without rewriting a part, and the old rows read rating 0.
func TestMigration7KeepsParts(t *testing.T) {
	st := openStore(t)
	ctx := testCtx(t)
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	old := []*pipeline.Mention{
		{Schema: 1, ID: "x:1", Platform: "x", Kind: pipeline.KindPost, Text: "one", CreatedAt: at, CollectedAt: at},
		{Schema: 1, ID: "x:2", Platform: "x", Kind: pipeline.KindPost, Text: "two", CreatedAt: at, CollectedAt: at},
	}
	if err := st.Write(ctx, old); err != nil {
		t.Fatal(err)
	}
	db := "`" + st.Database() + "`"
	for _, stmt := range []string{
		"DROP TABLE " + db + ".mentions_dedup", // it selects the columns
		"ALTER TABLE " + db + ".mentions DROP COLUMN rating",
		"ALTER TABLE " + db + ".mentions DROP COLUMN answered",
		// schema_migrations without its version-7 record
		"CREATE TABLE " + db + ".sm6 AS " + db + ".schema_migrations",
		"INSERT INTO " + db + ".sm6 SELECT * FROM " + db + ".schema_migrations WHERE version != 7",
		"DROP TABLE " + db + ".schema_migrations",
		"RENAME TABLE " + db + ".sm6 TO " + db + ".schema_migrations",
	} {
		if err := st.Conn().Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	parts := func() []string {
		rows, err := st.Conn().Query(ctx, "SELECT name FROM system.parts WHERE database = ? AND table = 'mentions' AND active ORDER BY name", st.Database())
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		return out
	}
	before := parts()
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if after := parts(); !slices.Equal(before, after) {
		t.Errorf("parts before migration 7 %v, after %v; want the same parts (no rewrite)", before, after)
	}
	if got := queryUint(t, st, "SELECT count() FROM $db.mentions_dedup WHERE rating = 0 AND answered = 0"); got != 2 {
		t.Errorf("old rows with rating 0 = %d; want 2", got)
	}
}
