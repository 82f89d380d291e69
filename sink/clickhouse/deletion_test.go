package clickhouse_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// Deletions and edits in storage: a tombstone hides its post from the
// analyst views and from FINAL whether it is stored before or after the
// post (a later-arriving older post does not resurrect it, nor does a copy
// collected after the deletion); a tombstone whose created_at was unknown
// (another partition) still hides the post in the views; an edit replaces
// the text.
func TestDeletionsAndEdits(t *testing.T) {
	st := openStore(t)
	ctx := testCtx(t)
	created := time.Date(2026, 10, 15, 12, 0, 0, 0, time.UTC)
	post := func(id, text string, collected time.Time) *pipeline.Mention {
		return &pipeline.Mention{Schema: 1, ID: id, Platform: "mastodon", Source: "m/acme", Kind: pipeline.KindPost,
			Text: text, CreatedAt: created, CollectedAt: collected,
			Enrichment: pipeline.Enrichment{Topics: []string{"acme"}}}
	}
	t0 := created.Add(time.Hour)
	write := func(ms ...*pipeline.Mention) {
		t.Helper()
		if err := st.Write(ctx, ms); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	// 1: deleted after it was stored; 2: the tombstone arrives first, then
	// the post, then a copy of the post collected later still; 3: edited;
	// 4: deleted with an unknown created_at (tombstone in another month);
	// 5: untouched.
	write(post("m:1", "one", t0), post("m:3", "three", t0), post("m:4", "four", t0), post("m:5", "five", t0))
	write(pipeline.Tombstone("mastodon", "m:1", "m/acme", created, t0.Add(time.Minute)),
		pipeline.Tombstone("mastodon", "m:2", "m/acme", created, t0.Add(time.Minute)))
	write(post("m:2", "two", t0.Add(2*time.Minute)))
	write(post("m:2", "two", t0.Add(48*time.Hour)))
	edit := post("m:3", "three, edited", t0.Add(3*time.Minute))
	edit.EditedAt = t0.Add(2 * time.Minute)
	write(edit)
	unknown := pipeline.Tombstone("mastodon", "m:4", "m/acme", time.Time{}, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	if err := unknown.Normalize(time.Now()); err != nil {
		t.Fatal(err)
	}
	write(unknown)

	checks := []struct {
		q    string
		want uint64
	}{
		{"SELECT count() FROM $db.mentions_dedup", 2},
		{"SELECT count() FROM $db.mentions_dedup WHERE id IN ('m:3', 'm:5')", 2},
		{"SELECT count() FROM $db.mentions_dedup WHERE id = 'm:3' AND text = 'three, edited' AND edited_at > created_at", 1},
		{"SELECT count() FROM $db.mentions FINAL WHERE deleted = 0 AND id IN ('m:1', 'm:2')", 0},
		{"SELECT toUInt64(sum(mentions)) FROM $db.mentions_per_minute WHERE topic = 'acme'", 2},
	}
	for _, c := range checks {
		if got := queryUint(t, st, c.q); got != c.want {
			t.Errorf("%s = %d; want %d", c.q, got, c.want)
		}
	}
	// Merged for good: the result must not depend on FINAL catching merges.
	if err := st.Conn().Exec(ctx, "OPTIMIZE TABLE `"+st.Database()+"`.mentions FINAL"); err != nil {
		t.Fatal(err)
	}
	if got := queryUint(t, st, "SELECT count() FROM $db.mentions WHERE deleted = 0 AND id IN ('m:1', 'm:2')"); got != 0 {
		t.Errorf("posts of deleted ids left after OPTIMIZE FINAL = %d; want 0", got)
	}
}

// The analyst queries of the main README run against the schema (they read
// mentions_dedup, which leaves deleted mentions out).
func TestREADMEAnalystQueriesRun(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), "Queries for analysts")
	_, rest, ok1 := strings.Cut(rest, "```sql\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok1 || !ok2 {
		t.Fatal("README.md has no sql block after 'Queries for analysts'")
	}
	st := openStore(t)
	ctx := testCtx(t)
	n := 0
	for _, q := range strings.Split(block, ";") {
		if strings.TrimSpace(stripComments(q)) == "" {
			continue
		}
		q = strings.ReplaceAll(q, "earshot.", "`"+st.Database()+"`.")
		rows, err := st.Conn().Query(ctx, q)
		if err != nil {
			t.Errorf("README query fails: %v\n%s", err, q)
			continue
		}
		rows.Close()
		n++
	}
	if n < 5 {
		t.Errorf("ran %d README queries; want the 6 of the README", n)
	}
}

func stripComments(q string) string {
	var b strings.Builder
	for _, l := range strings.Split(q, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
