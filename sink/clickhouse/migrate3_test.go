package clickhouse_test

import (
	"testing"
	"time"

	"github.com/earshot-dev/earshot/sink/clickhouse"
	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

// TestMigrateV3Upgrade upgrades a database at schema version 2, with a row
// written then (lang = the declared language), to version 3: the new
// columns appear, the old row's lang_declared is its lang, and migrating
// again is a no-op.
func TestMigrateV3Upgrade(t *testing.T) {
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
	// Back to version 2: drop version 3's columns and its record.
	for _, q := range []string{
		"ALTER TABLE " + db + ".mentions DROP COLUMN lang_declared",
		"ALTER TABLE " + db + ".mentions DROP COLUMN sentiment_confidence",
		"ALTER TABLE " + db + ".schema_migrations DELETE WHERE version = 3",
	} {
		if err := st.Conn().Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for deadline := time.Now().Add(20 * time.Second); queryUint(t, st, "SELECT count() FROM $db.schema_migrations WHERE version = 3") > 0; {
		if time.Now().After(deadline) {
			t.Fatal("schema_migrations still records version 3")
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, err := st.Conn().PrepareBatch(ctx, "INSERT INTO "+db+".mentions (id, platform, lang, lang_detected, created_at, collected_at)")
	if err != nil {
		t.Fatalf("prepare a version-2 row: %v", err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	if err := b.Append("rss:old", "rss", "de", "en", now, now); err != nil {
		t.Fatalf("append a version-2 row: %v", err)
	}
	if err := b.Send(); err != nil {
		t.Fatalf("insert a version-2 row: %v", err)
	}
	for i := range 2 {
		if err := st.Migrate(ctx); err != nil {
			t.Fatalf("Migrate to version 3, run %d: %v", i+1, err)
		}
	}
	if v, err := st.SchemaVersionApplied(ctx); err != nil || v < 3 {
		t.Fatalf("SchemaVersionApplied = %d, %v; want at least 3", v, err)
	}
	var declared, lang string
	var conf float32
	if err := st.Conn().QueryRow(ctx, "SELECT lang_declared, lang, sentiment_confidence FROM "+db+".mentions WHERE id = 'rss:old'").
		Scan(&declared, &lang, &conf); err != nil {
		t.Fatalf("read the version-2 row: %v", err)
	}
	if declared != "de" || lang != "de" || conf != 0 {
		t.Errorf("version-2 row after migrating: lang_declared %q, lang %q, sentiment_confidence %v; want de, de, 0", declared, lang, conf)
	}
}
