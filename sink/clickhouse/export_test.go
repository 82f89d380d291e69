package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// WriteRows is the row-wise insert Write used before it appended column by
// column: one Append of boxed values per mention. Benchmarks keep it as
// the baseline in the same run.
func (s *Store) WriteRows(ctx context.Context, ms []*pipeline.Mention) error {
	b, err := s.conn.PrepareBatch(ctx, s.mentionsInsert())
	if err != nil {
		return err
	}
	defer b.Close()
	ingested := s.now().UTC().Truncate(time.Second)
	for _, m := range ms {
		if err := b.Append(mentionRow(m, ingested)...); err != nil {
			return fmt.Errorf("append %q: %w", m.ID, err)
		}
	}
	return b.Send()
}

// MigrationCount is how many migrations this binary has (versions may have
// gaps while features land on separate branches).
func MigrationCount() int { return len(migrations) }

// ExecMigrationForTest runs statements written as a migration's are, in
// the single-server form, translated as Migrate translates them.
func (s *Store) ExecMigrationForTest(ctx context.Context, stmts func(db string) []string) error {
	for _, st := range s.ddl(stmts(s.db)) {
		if err := s.execMigration(ctx, st); err != nil && !columnExists(err) {
			return err
		}
	}
	return nil
}

// WriteTableForTest writes a batch to another table, e.g. mentions_local.
func (s *Store) WriteTableForTest(ctx context.Context, table string, ms []*pipeline.Mention) error {
	return s.insertMentionsInto(ctx, table, ms)
}
