package clickhouse

import "context"

// ExecMigrationForTest runs statements written as a migration's are, in
// the single-server form, translated as Migrate translates them.
func (s *Store) ExecMigrationForTest(ctx context.Context, stmts func(db string) []string) error {
	for _, st := range s.ddl(stmts(s.db)) {
		if err := s.conn.Exec(ctx, st); err != nil {
			return err
		}
	}
	return nil
}
