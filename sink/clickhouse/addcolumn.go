package clickhouse

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// addColumnIfNotExists matches a migration's `ALTER TABLE db.t ADD COLUMN
// IF NOT EXISTS col Type`. ClickHouse 18.16 does not parse IF NOT EXISTS
// there, so execMigration runs it as a check of system.columns and a plain
// ADD COLUMN, which every release accepts.
// On a cluster the statement arrives translated (cluster.go): on the local
// table and with ON CLUSTER, which the same check covers.
var addColumnIfNotExists = regexp.MustCompile("(?is)^ALTER TABLE\\s+`?([^`.\\s]+)`?\\.`?([^`.\\s]+)`?(\\s+ON CLUSTER\\s+`?[^`\\s]+`?)?\\s+ADD COLUMN IF NOT EXISTS\\s+`?([^`\\s]+)`?\\s+(.+)$")

// execMigration runs one migration statement idempotently.
func (s *Store) execMigration(ctx context.Context, stmt string) error {
	m := addColumnIfNotExists.FindStringSubmatch(strings.TrimSpace(stmt))
	if m == nil {
		return s.conn.Exec(ctx, stmt)
	}
	db, table, on, col, typ := m[1], m[2], m[3], m[4], m[5]
	has := func() (bool, error) {
		var n uint64
		err := s.conn.QueryRow(ctx, "SELECT count() FROM system.columns WHERE database = ? AND table = ? AND name = ?", db, table, col).Scan(&n)
		return n > 0, err
	}
	if ok, err := has(); err != nil || ok {
		return err
	}
	err := s.conn.Exec(ctx, fmt.Sprintf("ALTER TABLE `%s`.`%s`%s ADD COLUMN `%s` %s", db, table, on, col, typ))
	if err != nil {
		// Another role migrating at the same time may have added it.
		if ok, herr := has(); herr == nil && ok {
			return nil
		}
	}
	return err
}

// columnEverywhere reports whether stmt adds a column (ADD COLUMN IF NOT
// EXISTS) that, on a cluster, this node's local and Distributed tables both
// have already. On a single server it is always false: execMigration checks
// there.
func (s *Store) columnEverywhere(ctx context.Context, stmt string) (bool, error) {
	if s.cluster == "" {
		return false, nil
	}
	m := addColumnIfNotExists.FindStringSubmatch(strings.TrimSpace(stmt))
	if m == nil || m[3] != "" {
		return false, nil
	}
	db, table, col := m[1], m[2], m[4]
	var n uint64
	err := s.conn.QueryRow(ctx, "SELECT count() FROM system.columns WHERE database = ? AND table IN (?, ?) AND name = ?",
		db, table, table+localSuffix, col).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read columns of %s.%s: %w", db, table, classify(err))
	}
	return n == 2, nil
}
