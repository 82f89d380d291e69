package clickhouse_test

import (
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

// TestMigrateV8Upgrade upgrades a database at schema version 7, with a row
// written then, to version 8: enriched_at appears (0 on the old row),
// migrating again is a no-op, and the old row can be re-enriched: one row
// under FINAL, the new topics, the collection fields as they were.
func TestMigrateV8Upgrade(t *testing.T) {
	ctx := testCtx(t)
	st, err := clickhouse.Open(ctx, chtest.NewDatabase(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	db := "`" + st.Database() + "`"
	for _, q := range []string{
		"ALTER TABLE " + db + ".mentions DROP COLUMN enriched_at",
		"ALTER TABLE " + db + ".schema_migrations DELETE WHERE version = 8",
	} {
		if err := st.Conn().Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for deadline := time.Now().Add(20 * time.Second); queryUint(t, st, "SELECT count() FROM $db.schema_migrations WHERE version = 8") > 0; {
		if time.Now().After(deadline) {
			t.Fatal("schema_migrations still records version 8")
		}
		time.Sleep(50 * time.Millisecond)
	}
	created := time.Date(2026, 11, 2, 3, 4, 5, 0, time.UTC)
	b, err := st.Conn().PrepareBatch(ctx, "INSERT INTO "+db+".mentions (id, platform, text, likes, topics, created_at, collected_at)")
	if err != nil {
		t.Fatalf("prepare a version-7 row: %v", err)
	}
	if err := b.Append("rss:old", "rss", "acme support", int64(7), []string{"acme"}, created, created.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(); err != nil {
		t.Fatalf("insert a version-7 row: %v", err)
	}
	for i := range 2 {
		if err := st.Migrate(ctx); err != nil {
			t.Fatalf("Migrate to version 8, run %d: %v", i+1, err)
		}
	}
	if n := queryUint(t, st, "SELECT count() FROM $db.mentions WHERE id = 'rss:old' AND enriched_at = 0"); n != 1 {
		t.Fatalf("version-7 row after migrating: %d with enriched_at 0; want 1", n)
	}
	ms, err := st.ReadLive(ctx, clickhouse.ReadRange{Since: created, Until: created.Add(time.Hour)}, 10)
	if err != nil || len(ms) != 1 {
		t.Fatalf("ReadLive = %v, %v; want the old row", ms, err)
	}
	m := ms[0]
	m.Enrichment.Topics = []string{"acme", "support"}
	m.SetVersion("topics", "2")
	if err := st.WriteReenriched(ctx, []*pipeline.Mention{m}, created.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := queryUint(t, st, "SELECT count() FROM $db.mentions FINAL"); n != 1 {
		t.Errorf("rows under FINAL after re-enriching = %d; want 1", n)
	}
	if n := queryUint(t, st, "SELECT count() FROM $db.mentions FINAL WHERE has(topics, 'support') AND likes = 7 AND text = 'acme support' "+
		"AND collected_at = toDateTime('2026-11-02 03:05:05', 'UTC') AND enriched_at > 0"); n != 1 {
		t.Errorf("re-enriched row with the collection fields unchanged = %d; want 1", n)
	}
}
