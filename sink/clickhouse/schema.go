package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// column is one column of an earshot table, in insert order.
type column struct{ name, typ string }

// Timestamps are DateTime('UTC') (second precision: 18.16 has no
// DateTime64), so partitions and per-minute buckets do not depend on the
// server's time zone.
const dateTime = "DateTime('UTC')"

// mentionColumns is the mentions table, in the order Write appends values.
var mentionColumns = []column{
	{"id", "String"},
	{"platform", "String"},
	{"source", "String"},
	{"kind", "String"},
	{"url", "String"},
	{"author_id", "String"},
	{"author_handle", "String"},
	{"author_name", "String"},
	{"author_followers", "Int64"},
	{"author_verified", "UInt8"},
	{"title", "String"},
	{"text", "String"},
	{"lang", "String"},             // resolved: detected, with the declared language as a prior (schema 3; before: declared)
	{"lang_detected", "String"},    // by the lang stage, from the text alone
	{"lang_confidence", "Float32"}, // of lang
	{"created_at", dateTime},
	{"collected_at", dateTime},
	{"ingested_at", dateTime},
	{"likes", "Int64"},
	{"reposts", "Int64"},
	{"replies", "Int64"},
	{"quotes", "Int64"},
	{"views", "Int64"},
	{"parent_id", "String"},
	{"conversation_id", "String"},
	{"matched_rule", "String"},
	{"sentiment", "Float32"},
	{"sentiment_label", "String"}, // "" when the sentiment stage did not score it
	{"topics", "Array(String)"},
	{"hashtags", "Array(String)"},
	{"mentions", "Array(String)"},
	{"cashtags", "Array(String)"},
	{"links", "Array(String)"},
	{"domains", "Array(String)"},
	{"emoji", "Array(String)"},
	{"dup_cluster", "String"},
	{"trends", "Array(String)"},
	{"needs_response", "UInt8"},
	{"enrich_errors", "Array(String)"}, // "stage: error"
	{"versions", "Array(String)"},      // "stage=version", sorted
	{"schema", "UInt8"},
	{"lang_declared", "String"},         // as the platform declared it (schema 3)
	{"sentiment_confidence", "Float32"}, // probability of sentiment_label (schema 3)
	// Added by migration 5 (deletions and edits).
	{"deleted", "UInt8"},             // 1: a tombstone; the post was deleted on its platform
	{"edited_at", "DateTime('UTC')"}, // when the platform says the post was last edited; 0 if never
	// Added by migration 7 (reviews and Q&A).
	{"rating", "UInt8"},   // a review's star rating, 1-5; 0 when not a rated review
	{"answered", "UInt8"}, // 1: a Q&A question with an accepted or upvoted answer (is_answered)
	// Added by migration 8 (re-enrichment).
	{"enriched_at", "Int64"}, // when this row's enrichment was computed, Unix ms: the sink's write, or the re-enrichment run's start
}

// reviewColumns are the columns migration 7 adds.
var reviewColumns = []string{"rating", "answered"}

// viewColumnsThrough is mentionColumns up to and including name: the
// columns that exist once the migration adding name has run.
func viewColumnsThrough(name string) []column {
	for i, c := range mentionColumns {
		if c.name == name {
			return mentionColumns[:i+1]
		}
	}
	return mentionColumns
}

// deletionColumns are the columns migration 5 adds; liveViewColumns ends
// with them.
var deletionColumns = []string{"deleted", "edited_at"}

// liveViewColumns are the columns the analyst views of migration 5 select:
// mentionColumns up to and including the ones migration 5 adds. Columns a
// later migration adds do not exist yet when migration 5 runs.
func liveViewColumns() []column {
	last := deletionColumns[len(deletionColumns)-1]
	for i, c := range mentionColumns {
		if c.name == last {
			return mentionColumns[:i+1]
		}
	}
	return mentionColumns
}

// liveFilter keeps the rows of mentions FINAL that are not deleted. A
// tombstone outranks every version of its post (see mentionRow), so FINAL
// returns it instead of the post; the NOT IN also hides a post whose
// tombstone landed in another partition (a deletion whose created_at was
// not known), which FINAL cannot collapse.
func liveFilter(q string) string {
	// GLOBAL: on a cluster mentions is a Distributed table, and a plain IN
	// over it inside a distributed query is refused (distributed_product_mode);
	// on a single server GLOBAL changes nothing.
	return `deleted = 0 AND (platform, id) GLOBAL NOT IN (SELECT platform, id FROM ` + q + `.mentions WHERE deleted = 1)`
}

// alertColumns is the alerts table, in the order WriteAlert appends values.
var alertColumns = []column{
	{"id", "String"},
	{"topic", "String"},
	{"platform", "String"},
	{"kind", "String"},
	{"started_at", dateTime},
	{"detected_at", dateTime},
	{"ingested_at", dateTime},
	{"window_seconds", "UInt32"},
	{"observed", "Float64"},
	{"baseline", "Float64"},
	{"score", "Float64"},
	{"negative_share", "Float64"},
	{"explanation", "String"}, // JSON
	{"sample_ids", "Array(String)"},
	// Since version 4: the alert's lifecycle.
	{"status", "String"},   // firing, resolved
	{"severity", "String"}, // warning, critical
	{"event_id", "String"}, // id of the alert that opened the event
	{"first_bucket", dateTime},
	{"last_bucket", dateTime},
	{"peak", "Float64"},
	{"peak_at", dateTime},
}

// alertLifecycleColumns are the alert columns version 4 adds to tables
// created before it.
var alertLifecycleColumns = alertColumns[len(alertColumns)-7:]

func columnDefs(cols []column) string {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteString(",\n  ")
		}
		fmt.Fprintf(&b, "`%s` %s", c.name, c.typ)
	}
	return b.String()
}

func columnList(cols []column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = "`" + c.name + "`"
	}
	return strings.Join(names, ", ")
}

// migration is one schema version. Every statement must be idempotent (IF
// NOT EXISTS, …): roles migrate concurrently at start, and a migration that
// failed halfway is simply run again. Statements are written in the
// single-server form; on a cluster (clickhouse.cluster) each is translated
// by clusterDDL: read the rule in cluster.go before adding a migration.
type migration struct {
	version uint32
	name    string
	stmts   func(db string) []string
}

// migrations, in order. Append only; never edit one that has shipped.
var migrations = []migration{
	{1, "mentions and alerts tables", func(db string) []string {
		return []string{
			// One row per mention. ReplacingMergeTree keeps, per sorting key
			// (platform, id), the row with the greatest collected_at: a
			// redelivered batch is identical and collapses; a mention
			// collected again later (fresh engagement counts) wins; an old
			// snapshot redelivered late loses. Equal versions keep the last
			// insert, so re-enriching a snapshot replaces it. Rows collapse
			// only within a partition: created_at comes from the wire
			// message, so every copy of a mention lands in the same month.
			// Merges are eventual: read through FINAL (mentions_dedup).
			`CREATE TABLE IF NOT EXISTS ` + "`" + db + "`" + `.mentions (
  ` + columnDefs(mentionColumns) + `
) ENGINE = ReplacingMergeTree(collected_at)
PARTITION BY toYYYYMM(created_at)
ORDER BY (platform, id)`,
			// Alerts from the spike detector, deduplicated by id; the latest
			// write of an alert wins.
			`CREATE TABLE IF NOT EXISTS ` + "`" + db + "`" + `.alerts (
  ` + columnDefs(alertColumns) + `
) ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(started_at)
ORDER BY id`,
		}
	}},
	{2, "analyst views", func(db string) []string {
		q := "`" + db + "`"
		return []string{
			`CREATE VIEW IF NOT EXISTS ` + q + `.mentions_dedup AS
SELECT ` + columnList(mentionColumns) + ` FROM ` + q + `.mentions FINAL`,
			`CREATE VIEW IF NOT EXISTS ` + q + `.alerts_dedup AS
SELECT ` + columnList(alertColumns) + ` FROM ` + q + `.alerts FINAL`,
			// Per-minute counts by platform, topic and sentiment label. A
			// plain view over FINAL, not a materialized view: an MV sees
			// every INSERT block, so a redelivered batch, or a Send retried
			// after the server had in fact committed it, would be counted
			// twice, and nothing merges the MV's rows by mention id. Reading
			// through FINAL counts each mention once at query time. A mention
			// with several topics counts once per topic; one with none counts
			// under topic ''. Filter on minute in the outer query to bound
			// the work on large tables.
			`CREATE VIEW IF NOT EXISTS ` + q + `.mentions_per_minute AS
SELECT
  toStartOfMinute(created_at) AS minute,
  platform,
  arrayJoin(if(empty(topics), [''], topics)) AS topic,
  sentiment_label,
  count() AS mentions
FROM ` + q + `.mentions FINAL
GROUP BY minute, platform, topic, sentiment_label`,
		}
	}},
	{3, "resolved language and sentiment confidence", func(db string) []string {
		q := "`" + db + "`"
		return []string{
			// Rows written before version 3 held the declared language in
			// lang: lang_declared reads it from there for them.
			// ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS:
			// execMigration checks system.columns first (addcolumn.go).
			`ALTER TABLE ` + q + `.mentions ADD COLUMN IF NOT EXISTS lang_declared String DEFAULT lang`,
			`ALTER TABLE ` + q + `.mentions ADD COLUMN IF NOT EXISTS sentiment_confidence Float32`,
		}
	}},
	{4, "alert lifecycle: status, severity, event, first and last bucket, peak", func(db string) []string {
		q := "`" + db + "`"
		var stmts []string
		for _, c := range alertLifecycleColumns {
			stmts = append(stmts, `ALTER TABLE `+q+`.alerts ADD COLUMN IF NOT EXISTS `+"`"+c.name+"` "+c.typ)
		}
		// The view lists its columns: rebuild it with the new ones.
		return append(stmts,
			`DROP TABLE IF EXISTS `+q+`.alerts_dedup`,
			`CREATE VIEW IF NOT EXISTS `+q+`.alerts_dedup AS
SELECT `+columnList(alertColumns)+` FROM `+q+`.alerts FINAL`,
		)
	}},
	{5, "deletions and edits: deleted, edited_at; analyst views without deleted mentions", func(db string) []string {
		q := "`" + db + "`"
		stmts := make([]string, 0, 8)
		for _, name := range deletionColumns {
			for _, c := range mentionColumns {
				if c.name == name {
					stmts = append(stmts, `ALTER TABLE `+q+`.mentions ADD COLUMN IF NOT EXISTS `+"`"+c.name+"` "+c.typ)
				}
			}
		}
		// The views of migration 2 are recreated to leave out deleted
		// mentions. DROP TABLE drops a view on every release (DROP VIEW
		// is newer than 18.16).
		return append(stmts,
			`DROP TABLE IF EXISTS `+q+`.mentions_dedup`,
			`CREATE VIEW IF NOT EXISTS `+q+`.mentions_dedup AS
SELECT `+columnList(liveViewColumns())+` FROM `+q+`.mentions FINAL
WHERE `+liveFilter(q),
			`DROP TABLE IF EXISTS `+q+`.mentions_per_minute`,
			`CREATE VIEW IF NOT EXISTS `+q+`.mentions_per_minute AS
SELECT
  toStartOfMinute(created_at) AS minute,
  platform,
  arrayJoin(if(empty(topics), [''], topics)) AS topic,
  sentiment_label,
  count() AS mentions
FROM `+q+`.mentions FINAL
WHERE `+liveFilter(q)+`
GROUP BY minute, platform, topic, sentiment_label`,
		)
	}},
	// The console's response queue state and its topic rollup.
	{6, "console response queue and topic rollup", func(db string) []string {
		return []string{
			// Exact per-hour ('h') and per-day ('d') counts of distinct mentions
			// for the console's long ranges, recomputed whole for each hour or
			// day that received mentions: a recount replaces, it never adds, so
			// a redelivered batch cannot be counted twice. Readers keep, per
			// (grain, dim, t), the rows of the latest recount (version).
			`CREATE TABLE IF NOT EXISTS ` + "`" + db + "`" + `.topic_rollup (
  grain String,
  dim String,
  topic String,
  t ` + dateTime + `,
  key String,
  n UInt64,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (grain, dim, topic, t, key)`,
			// One row per mention a person acted on in the console: the latest
			// state wins (version is the action's time in nanoseconds). Keyed by
			// mention id, so writing the same action twice changes nothing.
			`CREATE TABLE IF NOT EXISTS ` + "`" + db + "`" + `.responses (
  ` + columnDefs(responseColumns) + `
) ENGINE = ReplacingMergeTree(version)
ORDER BY mention_id`,
		}
	}},
	{7, "reviews and Q&A: rating, answered; mentions_dedup with them", func(db string) []string {
		q := "`" + db + "`"
		var stmts []string
		for _, name := range reviewColumns {
			for _, c := range mentionColumns {
				if c.name == name {
					stmts = append(stmts, `ALTER TABLE `+q+`.mentions ADD COLUMN IF NOT EXISTS `+"`"+c.name+"` "+c.typ)
				}
			}
		}
		// mentions_dedup lists its columns, so it is recreated to show the
		// new ones (every column up to them exists at this version).
		return append(stmts,
			`DROP TABLE IF EXISTS `+q+`.mentions_dedup`,
			`CREATE VIEW IF NOT EXISTS `+q+`.mentions_dedup AS
SELECT `+columnList(viewColumnsThrough(reviewColumns[len(reviewColumns)-1]))+` FROM `+q+`.mentions FINAL
WHERE `+liveFilter(q),
		)
	}},
	// Re-enrichment (earshot reenrich) writes a new version of a stored
	// mention with the same collected_at, so the ReplacingMergeTree
	// version stays collected_at: equal versions keep the row inserted
	// last, which is the re-enriched one; a later collection (greater
	// collected_at) and a tombstone (the largest DateTime) still outrank
	// it. enriched_at records which enrichment a row holds, so a run can
	// tell and show what it rewrote. See README, "Re-enrichment", for why
	// the engine's version column is not changed (ClickHouse cannot alter
	// it in place, on 18.16 or later releases).
	{8, "re-enrichment: enriched_at", func(db string) []string {
		q := "`" + db + "`"
		for _, c := range mentionColumns {
			if c.name == enrichedAtColumn {
				return []string{`ALTER TABLE ` + q + `.mentions ADD COLUMN IF NOT EXISTS ` + "`" + c.name + "` " + c.typ}
			}
		}
		panic("no column " + enrichedAtColumn)
	}},
	// The console's topic index (issue 14).
	{9, "console topic index and its passes", func(db string) []string {
		q := "`" + db + "`"
		return []string{
			// One row per live mention and topic ('' too: every mention),
			// copied by the console's rollup pass from the newest version of
			// each mention, without deleted ones, and sorted by topic and
			// time, so a topic's range is one contiguous read. A pass copies
			// whole hours under a new version; readers keep, per hour, the
			// rows of the latest version recorded in topic_passes, so a
			// mention copied twice, or changed or deleted since, is never
			// counted twice. See console/README.md.
			`CREATE TABLE IF NOT EXISTS ` + q + `.topic_mentions (
  ` + columnDefs(topicIndexColumns) + `
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(hour)
ORDER BY (topic, hour, created_at, platform, id)`,
			// One row per hour a pass copied completely, with its version.
			`CREATE TABLE IF NOT EXISTS ` + q + `.topic_passes (
  hour ` + dateTime + `,
  version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY hour`,
		}
	}},
}

// topicIndexColumns is the console's topic_mentions table (migration 9).
var topicIndexColumns = []column{
	{"topic", "String"},
	{"hour", dateTime},
	{"created_at", dateTime},
	{"platform", "String"},
	{"id", "String"},
	{"sentiment_label", "String"},
	{"sentiment", "Float32"},
	{"author_handle", "String"},
	{"author_name", "String"},
	{"author_followers", "Int64"},
	{"hashtags", "Array(String)"},
	{"domains", "Array(String)"},
	{"dup_cluster", "String"},
	{"snippet", "String"}, // the title, or the first 200 characters of the text
	{"version", "UInt64"},
}

// enrichedAtColumn is the column migration 8 adds.
const enrichedAtColumn = "enriched_at"

// SchemaVersion is the schema version this binary migrates to.
func SchemaVersion() uint32 { return migrations[len(migrations)-1].version }

// Migrate creates the database and brings the schema to SchemaVersion. It is
// idempotent and safe to run from several processes at once. A database
// already migrated by a newer binary is left alone (migrations only add).
func (s *Store) Migrate(ctx context.Context) error {
	q := "`" + s.db + "`"
	if s.cluster != "" {
		// Every node has the schema already (the common start of a
		// replica): no DDL, which would wait for every node of the cluster,
		// down ones included.
		if v, err := s.SchemaVersionApplied(ctx); err == nil && v >= SchemaVersion() {
			return s.checkColumns(ctx, true)
		}
	}
	engine := `ReplacingMergeTree(applied_at)`
	if s.cluster != "" {
		// ClickHouse 18.16 crashes (a null ZooKeeper session in
		// createImpl) on a DDL ON CLUSTER sent before the server has
		// talked to ZooKeeper since it started; reading system.zookeeper
		// opens the session first, and says clearly when there is none.
		var n uint64
		if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.zookeeper WHERE path = '/'").Scan(&n); err != nil {
			return fmt.Errorf("migrate %s on cluster %s: the server has no ZooKeeper (or Keeper) session, which replicated tables need: %w", s.db, s.cluster, classify(err))
		}
		// One copy on every node of the cluster (one ZooKeeper path for all
		// shards), so any node answers which versions are applied.
		engine = `ReplicatedReplacingMergeTree('/clickhouse/tables/all/` + s.db + `/schema_migrations', '{shard}-{replica}', applied_at)`
	}
	for _, stmt := range []string{
		s.onCluster(`CREATE DATABASE IF NOT EXISTS ` + q),
		s.onCluster(`CREATE TABLE IF NOT EXISTS ` + q + `.schema_migrations (
  version UInt32,
  name String,
  applied_at ` + dateTime + `
) ENGINE = ` + engine + ` ORDER BY version`),
	} {
		if err := s.conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("migrate %s: %s: %w", s.db, firstLine(stmt), classify(err))
		}
	}
	applied, err := s.appliedVersions(ctx)
	if err != nil {
		return err
	}
	for _, m := range migrations {
		if slices.Contains(applied, m.version) {
			continue
		}
		var stmts []string
		for _, stmt := range m.stmts(s.db) {
			// On a cluster an added column also drops and recreates the
			// Distributed table (cluster.go); when both tables have it
			// already, nothing is run, so a role migrating at the same time
			// never finds the table gone.
			if done, err := s.columnEverywhere(ctx, stmt); err != nil {
				return fmt.Errorf("migrate %s to version %d (%s): %w", s.db, m.version, m.name, err)
			} else if !done {
				stmts = append(stmts, s.ddl([]string{stmt})...)
			}
		}
		for _, stmt := range stmts {
			if err := s.execMigration(ctx, stmt); err != nil && !columnExists(err) {
				// A table made by something else is the likelier cause, and
				// says more than the server's message about a view.
				if cerr := s.checkColumns(ctx, false); cerr != nil {
					return cerr
				}
				return fmt.Errorf("migrate %s to version %d (%s): %s: %w", s.db, m.version, m.name, firstLine(stmt), classify(err))
			}
		}
		if err := s.recordMigration(ctx, m); err != nil {
			return err
		}
	}
	return s.checkColumns(ctx, true)
}

// ddl returns the statements to run for a migration's statements: as
// written on a single server, translated by clusterDDL on a cluster.
func (s *Store) ddl(stmts []string) []string {
	if s.cluster == "" {
		return stmts
	}
	dist := distributedTables(s.db)
	var out []string
	for _, st := range stmts {
		out = append(out, clusterDDL(st, s.db, s.cluster, dist)...)
	}
	return out
}

// onCluster adds ON CLUSTER to a statement of Migrate's own on a cluster.
func (s *Store) onCluster(stmt string) string {
	if s.cluster == "" {
		return stmt
	}
	h := ddlHead.FindStringSubmatchIndex(stmt)
	return stmt[:h[5]] + " ON CLUSTER `" + s.cluster + "`" + stmt[h[5]:]
}

// SchemaVersionApplied returns the highest migration recorded in the database
// (0 when none).
func (s *Store) SchemaVersionApplied(ctx context.Context) (uint32, error) {
	v, err := s.appliedVersions(ctx)
	if err != nil {
		return 0, err
	}
	if len(v) == 0 {
		return 0, nil
	}
	return slices.Max(v), nil
}

func (s *Store) appliedVersions(ctx context.Context) ([]uint32, error) {
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT version FROM `"+s.db+"`.schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("migrate %s: read schema_migrations: %w", s.db, classify(err))
	}
	defer rows.Close()
	var out []uint32
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("migrate %s: read schema_migrations: %w", s.db, classify(err))
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate %s: read schema_migrations: %w", s.db, classify(err))
	}
	return out, nil
}

func (s *Store) recordMigration(ctx context.Context, m migration) error {
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO `"+s.db+"`.schema_migrations (version, name, applied_at)")
	if err != nil {
		return fmt.Errorf("migrate %s: record version %d: %w", s.db, m.version, classify(err))
	}
	defer b.Close()
	if err := b.Append(m.version, m.name, s.now().UTC().Truncate(time.Second)); err != nil {
		return fmt.Errorf("migrate %s: record version %d: %w", s.db, m.version, classify(err))
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("migrate %s: record version %d: %w", s.db, m.version, classify(err))
	}
	return nil
}

// checkColumns verifies that the tables have every column this binary
// writes, so a table created by hand or by another tool fails here with a
// clear message instead of on the first batch. A table that does not exist
// is reported only when all is set.
func (s *Store) checkColumns(ctx context.Context, all bool) error {
	for _, t := range []struct {
		name string
		cols []column
	}{{"mentions", mentionColumns}, {"alerts", alertColumns}} {
		rows, err := s.conn.Query(ctx, "SELECT name, type FROM system.columns WHERE database = ? AND table = ?", s.db, t.name)
		if err != nil {
			return fmt.Errorf("migrate %s: check %s columns: %w", s.db, t.name, classify(err))
		}
		have := map[string]string{}
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				rows.Close()
				return fmt.Errorf("migrate %s: check %s columns: %w", s.db, t.name, classify(err))
			}
			have[name] = typ
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("migrate %s: check %s columns: %w", s.db, t.name, classify(err))
		}
		if len(have) == 0 {
			if !all {
				continue
			}
			return fmt.Errorf("migrate %s: table %s does not exist after migrating: %w", s.db, t.name, ErrRejected)
		}
		var problems []string
		for _, c := range t.cols {
			typ, ok := have[c.name]
			switch {
			case !ok:
				problems = append(problems, c.name+" is missing")
			case typ != c.typ && strings.Replace(typ, "DateTime('UTC')", "DateTime", 1) != strings.Replace(c.typ, "DateTime('UTC')", "DateTime", 1):
				problems = append(problems, fmt.Sprintf("%s is %s, want %s", c.name, typ, c.typ))
			}
		}
		if len(problems) > 0 {
			return fmt.Errorf("migrate %s: table %s was not created by earshot's migrations: %s: %w",
				s.db, t.name, strings.Join(problems, "; "), ErrRejected)
		}
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSuffix(strings.TrimSpace(s), " (")
}
