package clickhouse

import (
	"fmt"
	"regexp"
	"strings"
)

// Migrations on a ClickHouse cluster (clickhouse.cluster set).
//
// THE RULE FOR MIGRATIONS: write every statement once, in the single-server
// form, with the database qualified (`db`.table), idempotent (IF NOT
// EXISTS, IF EXISTS), and with tables created by `CREATE TABLE … ENGINE =
// …MergeTree(…)`. Never write ON CLUSTER, Replicated… or Distributed
// by hand: clusterDDL derives the cluster form, so a migration is written
// and tested once and runs on both. On a cluster:
//
//   - CREATE DATABASE / CREATE VIEW / DROP … / RENAME … / other DDL: the
//     same statement with ON CLUSTER after the object's name.
//   - CREATE TABLE db.t (…) ENGINE = XMergeTree(args) …: two tables on
//     every node: the data in db.t_local, ENGINE =
//     ReplicatedXMergeTree('/clickhouse/tables/{shard}/db/t_local',
//     '{replica}', args) with the same columns, partitioning and order; and
//     db.t itself as ENGINE = Distributed(cluster, db, t_local,
//     cityHash64(id)) (rand() for a table without an id column). Queries
//     and inserts keep naming db.t: every version of a mention goes to one
//     shard, so FINAL (which runs on each shard) folds them all.
//   - ALTER TABLE db.t on such a table: column changes (ADD/DROP/MODIFY/
//     RENAME/COMMENT COLUMN) go to db.t_local ON CLUSTER, then db.t is
//     dropped and created again AS db.t_local, so the two keep the same
//     columns. (ClickHouse 18.16 refuses ALTER … ON CLUSTER on a
//     Distributed table of a cluster with internal_replication; a
//     Distributed table holds no data with synchronous inserts, and a sink
//     insert in the moment between is retried.) Anything else (UPDATE,
//     DELETE, partitions, indices) goes to db.t_local only.
//   - INSERT and SELECT statements run as written.
//
// Each server needs the {shard} and {replica} macros, the cluster in
// remote_servers with internal_replication true, and ZooKeeper or
// ClickHouse Keeper (see README, "Running on a cluster").

// localSuffix names the per-node data table behind a Distributed table.
const localSuffix = "_local"

var (
	// ddlHead matches a DDL statement up to and including the object name.
	ddlHead = regexp.MustCompile(`(?is)^\s*(CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMPORARY\s+)?(?:TABLE|VIEW|MATERIALIZED\s+VIEW|DATABASE|DICTIONARY)\s+(?:IF\s+NOT\s+EXISTS\s+)?|ALTER\s+TABLE\s+|DROP\s+(?:TABLE|VIEW|DATABASE|DICTIONARY)\s+(?:IF\s+EXISTS\s+)?|RENAME\s+TABLE\s+|TRUNCATE\s+TABLE\s+(?:IF\s+EXISTS\s+)?|OPTIMIZE\s+TABLE\s+)((?:` + "`[^`]+`" + `|[A-Za-z_][A-Za-z0-9_]*)(?:\.(?:` + "`[^`]+`" + `|[A-Za-z_][A-Za-z0-9_]*))?)`)
	// mergeTreeEngine matches a MergeTree-family engine and its arguments.
	mergeTreeEngine = regexp.MustCompile(`(?is)ENGINE\s*=\s*([A-Za-z]*)MergeTree(?:\s*\(([^)]*)\))?`)
	columnAlter     = regexp.MustCompile(`(?is)^\s*(ADD|DROP|MODIFY|RENAME|COMMENT|CLEAR)\s+COLUMN\b`)
	idColumn        = regexp.MustCompile("(?m)^\\s*`?id`?\\s+String\\b")
)

var qualifiedName = regexp.MustCompile("^(?:(`[^`]+`|[A-Za-z_][A-Za-z0-9_]*)\\.)?(`[^`]+`|[A-Za-z_][A-Za-z0-9_]*)$")

// splitName splits a possibly qualified, possibly backquoted name.
func splitName(name string) (db, table string) {
	m := qualifiedName.FindStringSubmatch(name)
	if m == nil {
		return "", name
	}
	return strings.Trim(m[1], "`"), strings.Trim(m[2], "`")
}

// distributedTables returns the tables the migrations create with a
// MergeTree engine, with their sharding keys: on a cluster each becomes
// t_local plus Distributed t.
func distributedTables(db string) map[string]string {
	out := map[string]string{}
	for _, m := range migrations {
		for _, stmt := range m.stmts(db) {
			h := ddlHead.FindStringSubmatch(stmt)
			if h == nil || !strings.HasPrefix(strings.ToUpper(strings.TrimSpace(h[1])), "CREATE") || !strings.Contains(strings.ToUpper(h[1]), "TABLE") {
				continue
			}
			if mergeTreeEngine.MatchString(stmt) {
				_, t := splitName(h[2])
				out[t] = shardingKey(stmt)
			}
		}
	}
	return out
}

// clusterDDL translates one single-server migration statement to the
// statements that do the same on cluster (see the rule above).
func shardingKey(createStmt string) string {
	if idColumn.MatchString(createStmt) {
		return "cityHash64(id)"
	}
	return "rand()"
}

func distributedDDL(head, db, table, on, cluster, key string) string {
	q := "`" + db + "`."
	return fmt.Sprintf("%s%s`%s`%s AS %s`%s` ENGINE = Distributed(`%s`, `%s`, `%s`, %s)",
		head, q, table, on, q, table+localSuffix, cluster, db, table+localSuffix, key)
}

func clusterDDL(stmt, db, cluster string, distributed map[string]string) []string {
	h := ddlHead.FindStringSubmatchIndex(stmt)
	if h == nil {
		return []string{stmt} // INSERT, SELECT, SYSTEM …: as written
	}
	head, name, rest := stmt[h[2]:h[3]], stmt[h[4]:h[5]], stmt[h[5]:]
	on := " ON CLUSTER `" + cluster + "`"
	q := "`" + db + "`."
	_, table := splitName(name)
	verb := strings.ToUpper(strings.Fields(head)[0])
	switch {
	case verb == "CREATE" && strings.Contains(strings.ToUpper(head), "TABLE") && mergeTreeEngine.MatchString(rest):
		local := table + localSuffix
		m := mergeTreeEngine.FindStringSubmatchIndex(rest)
		kind := rest[m[2]:m[3]]
		args := ""
		if m[4] >= 0 {
			args = strings.TrimSpace(rest[m[4]:m[5]])
		}
		repl := fmt.Sprintf("ENGINE = Replicated%sMergeTree('/clickhouse/tables/{shard}/%s/%s', '{replica}'", kind, db, local)
		if args != "" {
			repl += ", " + args
		}
		repl += ")"
		localStmt := head + q + "`" + local + "`" + on + rest[:m[0]] + repl + rest[m[1]:]
		return []string{localStmt, distributedDDL(head, db, table, on, cluster, shardingKey(stmt))}
	case verb == "ALTER" && distributed[table] != "":
		local := head + q + "`" + table + localSuffix + "`" + on + rest
		if columnAlter.MatchString(rest) {
			return []string{local,
				"DROP TABLE IF EXISTS " + q + "`" + table + "`" + on,
				distributedDDL("CREATE TABLE IF NOT EXISTS ", db, table, on, cluster, distributed[table])}
		}
		return []string{local}
	default:
		return []string{head + name + on + rest}
	}
}
