package clickhouse

import (
	"strings"
	"testing"
)

// The statements other migrations add (columns, a new table, a view
// recreated) come out in their cluster form without being written twice.
func TestClusterDDLTranslatesGenerically(t *testing.T) {
	dist := map[string]string{"mentions": "cityHash64(id)", "alerts": "cityHash64(id)", "console": "cityHash64(id)"}
	cases := []struct {
		in   string
		want []string
	}{
		{"CREATE DATABASE IF NOT EXISTS `db`", []string{"CREATE DATABASE IF NOT EXISTS `db` ON CLUSTER `c`"}},
		{"ALTER TABLE `db`.mentions ADD COLUMN IF NOT EXISTS lang_script String AFTER lang", []string{
			"ALTER TABLE `db`.`mentions_local` ON CLUSTER `c` ADD COLUMN IF NOT EXISTS lang_script String AFTER lang",
			"DROP TABLE IF EXISTS `db`.`mentions` ON CLUSTER `c`",
			"CREATE TABLE IF NOT EXISTS `db`.`mentions` ON CLUSTER `c` AS `db`.`mentions_local` ENGINE = Distributed(`c`, `db`, `mentions_local`, cityHash64(id))"}},
		{"ALTER TABLE db.mentions UPDATE deleted = 1 WHERE id = 'x'", []string{
			"ALTER TABLE `db`.`mentions_local` ON CLUSTER `c` UPDATE deleted = 1 WHERE id = 'x'"}},
		{"DROP TABLE IF EXISTS `db`.mentions_per_minute", []string{"DROP TABLE IF EXISTS `db`.mentions_per_minute ON CLUSTER `c`"}},
		{"CREATE VIEW IF NOT EXISTS `db`.v AS\nSELECT id FROM `db`.mentions FINAL", []string{
			"CREATE VIEW IF NOT EXISTS `db`.v ON CLUSTER `c` AS\nSELECT id FROM `db`.mentions FINAL"}},
		{"CREATE TABLE IF NOT EXISTS `db`.console (\n  `id` String,\n  `at` DateTime\n) ENGINE = ReplacingMergeTree(at)\nORDER BY id", []string{
			"CREATE TABLE IF NOT EXISTS `db`.`console_local` ON CLUSTER `c` (\n  `id` String,\n  `at` DateTime\n) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/console_local', '{replica}', at)\nORDER BY id",
			"CREATE TABLE IF NOT EXISTS `db`.`console` ON CLUSTER `c` AS `db`.`console_local` ENGINE = Distributed(`c`, `db`, `console_local`, cityHash64(id))"}},
		{"CREATE TABLE IF NOT EXISTS db.events (\n  n UInt64\n) ENGINE = MergeTree ORDER BY n", []string{
			"CREATE TABLE IF NOT EXISTS `db`.`events_local` ON CLUSTER `c` (\n  n UInt64\n) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/db/events_local', '{replica}') ORDER BY n",
			"CREATE TABLE IF NOT EXISTS `db`.`events` ON CLUSTER `c` AS `db`.`events_local` ENGINE = Distributed(`c`, `db`, `events_local`, rand())"}},
		{"INSERT INTO `db`.x VALUES (1)", []string{"INSERT INTO `db`.x VALUES (1)"}},
	}
	for _, c := range cases {
		got := clusterDDL(c.in, "db", "c", dist)
		if strings.Join(got, "\n;\n") != strings.Join(c.want, "\n;\n") {
			t.Errorf("clusterDDL(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
	// Every table of the shipped migrations is found.
	d := distributedTables("db")
	if d["mentions"] != "cityHash64(id)" || d["alerts"] != "cityHash64(id)" || d["mentions_dedup"] != "" {
		t.Errorf("distributedTables = %v; want mentions and alerts, not the views", d)
	}
}
