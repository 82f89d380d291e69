package clickhouse

import (
	"context"

	"github.com/earshot-dev/earshot/pipeline"
)

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

// WriteTableForTest writes a batch to another table, e.g. mentions_local.
func (s *Store) WriteTableForTest(ctx context.Context, table string, ms []*pipeline.Mention) error {
	return s.insertMentionsInto(ctx, table, ms)
}
