package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// SearchRange selects the stored mentions a search reads.
type SearchRange struct {
	From, To time.Time // created_at in [From, To)
	Platform string    // only this platform ("" all)
	Limit    int       // read at most this many, newest first (0: all)
}

// SearchStored is the one code path of every query over stored mentions:
// the console's search and earshot backtest. It reads the live mentions
// of r as analysts see them (the newest version of each, under FINAL,
// without deleted ones), newest first, runs m (the enrichment's own topic
// matcher, compiled by the caller) on each, and calls fn with the mention
// and what m matched in it (nil ids when nothing). No user string goes
// into SQL. It returns how many mentions it read.
func (s *Store) SearchStored(ctx context.Context, r SearchRange, m pipeline.Matcher,
	fn func(mention *pipeline.Mention, ids []string, spans []pipeline.Span) error) (int, error) {
	q := "`" + s.db + "`"
	query := "SELECT " + columnList(storedColumns()) + " FROM " + q + ".mentions FINAL" +
		" WHERE created_at >= ? AND created_at < ? AND " + liveFilter(q)
	params := []any{clampDateTime(r.From), clampDateTime(r.To)}
	if r.Platform != "" {
		query += " AND platform = ?"
		params = append(params, r.Platform)
	}
	query += " ORDER BY created_at DESC, platform, id"
	if r.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", r.Limit)
	}
	rows, err := s.conn.Query(ctx, query, params...)
	if err != nil {
		return 0, fmt.Errorf("search mentions in %s: %w", s.db, classify(err))
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		mention, err := scanStored(rows)
		if err != nil {
			return n, fmt.Errorf("search mentions in %s: %w", s.db, err)
		}
		n++
		ids, spans := m.Match(mention)
		if err := fn(mention, ids, spans); err != nil {
			return n, err
		}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("search mentions in %s: %w", s.db, classify(err))
	}
	return n, nil
}

// clampDateTime keeps t inside DateTime's range, in UTC.
func clampDateTime(t time.Time) time.Time {
	switch {
	case t.Before(minDateTime):
		return minDateTime
	case t.After(maxDateTime):
		return maxDateTime
	}
	return t.UTC()
}
