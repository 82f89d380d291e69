package console

import (
	"context"
	"fmt"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// The topic page's long ranges (7d, 30d) read exact counts from the
// topic_rollup table instead of building id sets over a million mentions
// on every request. A pass recounts, with uniqExact(id), every hour and day
// that received mentions since the previous pass (by ingested_at), and
// writes the whole recount under a new version: a recount replaces, so a
// mention stored twice is still counted once, and readers keep only the
// latest recount of each hour or day.
const (
	rollupEvery   = 15 * time.Second
	rollupOverlap = time.Minute // ingested_at is whole seconds; batches commit after stamping
	rollupMin     = 7 * 24 * time.Hour
)

// Run keeps the rollup current until ctx ends. Every console process may
// run it: recounts of the same hour are the same. A locked console (no
// auth off loopback) serves no page, so it counts nothing.
func (s *Server) Run(ctx context.Context) {
	if s.auth.locked {
		return
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
			s.metrics.errors.Inc()
			s.log.Warn("topic rollup pass failed; the long ranges read the mentions table meanwhile", "err", err)
		}
		t.Reset(rollupEvery)
	}
}

// Refresh runs one rollup pass.
func (s *Server) Refresh(ctx context.Context) error {
	s.rollMu.Lock()
	defer s.rollMu.Unlock()
	start := s.now().UTC()
	if !s.rollInit {
		var v uint64
		if err := s.store.Conn().QueryRow(ctx, "SELECT max(version) FROM "+s.table("topic_rollup")).Scan(&v); err != nil {
			return fmt.Errorf("topic rollup: %w", err)
		}
		if v > 0 {
			s.rollMark = time.Unix(0, int64(v)).Add(-rollupOverlap)
		}
		s.rollInit = true
	}
	mark := max(s.rollMark.Unix(), 0)
	rows, err := s.store.Conn().Query(ctx, "SELECT DISTINCT toUInt32(toStartOfHour(created_at)) AS h FROM "+s.table("mentions")+
		" WHERE ingested_at >= toDateTime(?) ORDER BY h", mark)
	if err != nil {
		return fmt.Errorf("topic rollup: changed hours: %w", err)
	}
	var hours, days []any
	seenDay := map[uint32]bool{}
	for rows.Next() {
		var h uint32
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return fmt.Errorf("topic rollup: %w", err)
		}
		hours = append(hours, h)
		if d := h / 86400 * 86400; !seenDay[d] {
			seenDay[d] = true
			days = append(days, d)
		}
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return fmt.Errorf("topic rollup: %w", err)
	}
	if len(hours) > 0 {
		v := uint64(start.UnixNano())
		into := "INSERT INTO " + s.table("topic_rollup") + " (grain, dim, topic, t, key, n, version) "
		from := " FROM " + s.table("mentions") + " ARRAY JOIN arrayPushFront(topics, '') AS topic WHERE "
		for _, q := range []struct {
			sql string
			set []any
		}{
			{into + "SELECT 'h', 'label', topic, toStartOfHour(created_at) AS t, sentiment_label AS key, uniqExact(id), toUInt64(?)" + from +
				"toUInt32(toStartOfHour(created_at)) IN ? GROUP BY topic, t, key", hours},
			{into + "SELECT 'd', 'hashtag', topic, toStartOfDay(created_at) AS t, arrayJoin(hashtags) AS key, uniqExact(id), toUInt64(?)" + from +
				"toUInt32(toStartOfDay(created_at)) IN ? GROUP BY topic, t, key", days},
			{into + "SELECT 'd', 'domain', topic, toStartOfDay(created_at) AS t, arrayJoin(domains) AS key, uniqExact(id), toUInt64(?)" + from +
				"toUInt32(toStartOfDay(created_at)) IN ? GROUP BY topic, t, key", days},
		} {
			if err := s.store.Conn().Exec(ctx, q.sql, v, ch.GroupSet{Value: q.set}); err != nil {
				return fmt.Errorf("topic rollup: recount: %w", err)
			}
		}
	}
	s.rollMark = start.Add(-rollupOverlap)
	s.rollReady.Store(true)
	return nil
}

// useRollup reports whether the window is read from the rollup. It does
// not wait for a pass in progress.
func (s *Server) useRollup(w window) bool {
	return s.rollReady.Load() && w.length >= rollupMin
}

// latest keeps the rows of the latest recount of each t of one grain and
// dim; args: grain, dim, from, to.
const latest = " AND (t, version) IN (SELECT t, max(version) FROM %s WHERE grain = ? AND dim = ? AND t >= toDateTime(?) AND t < toDateTime(?) GROUP BY t)"

// rollupSeries returns per-hour counts by label for one topic (” = all).
func (s *Server) rollupSeries(ctx context.Context, win window, topic string) (map[int64]map[string]uint64, error) {
	rows, err := s.store.Conn().Query(ctx, "SELECT toUInt32(t), key, n FROM "+s.table("topic_rollup")+" FINAL WHERE grain = 'h' AND dim = 'label' "+
		"AND topic = ? AND t >= toDateTime(?) AND t < toDateTime(?)"+fmt.Sprintf(latest, s.table("topic_rollup")),
		topic, win.from.Unix(), win.to.Unix(), "h", "label", win.from.Unix(), win.to.Unix())
	if err != nil {
		return nil, fmt.Errorf("series (rollup): %w", err)
	}
	defer rows.Close()
	out := map[int64]map[string]uint64{}
	for rows.Next() {
		var t uint32
		var key string
		var n uint64
		if err := rows.Scan(&t, &key, &n); err != nil {
			return nil, fmt.Errorf("series (rollup): %w", err)
		}
		if out[int64(t)] == nil {
			out[int64(t)] = map[string]uint64{}
		}
		out[int64(t)][key] += n
	}
	return out, rows.Err()
}

// rollupVoice returns per-topic mention and negative counts.
func (s *Server) rollupVoice(ctx context.Context, win window) (map[string]*[2]uint64, error) {
	rows, err := s.store.Conn().Query(ctx, "SELECT topic, key = 'negative', sum(n) FROM "+s.table("topic_rollup")+" FINAL WHERE grain = 'h' AND dim = 'label' "+
		"AND topic != '' AND t >= toDateTime(?) AND t < toDateTime(?)"+fmt.Sprintf(latest, s.table("topic_rollup"))+" GROUP BY topic, key = 'negative'",
		win.from.Unix(), win.to.Unix(), "h", "label", win.from.Unix(), win.to.Unix())
	if err != nil {
		return nil, fmt.Errorf("share of voice (rollup): %w", err)
	}
	defer rows.Close()
	out := map[string]*[2]uint64{}
	for rows.Next() {
		var t string
		var neg uint8
		var n uint64
		if err := rows.Scan(&t, &neg, &n); err != nil {
			return nil, fmt.Errorf("share of voice (rollup): %w", err)
		}
		if out[t] == nil {
			out[t] = &[2]uint64{}
		}
		out[t][0] += n
		if neg != 0 {
			out[t][1] += n
		}
	}
	return out, rows.Err()
}

// rollupTop returns the top keys of a per-day dim (hashtag, domain).
func (s *Server) rollupTop(ctx context.Context, win window, dim, topic string) ([]count, error) {
	return s.counts(ctx, "SELECT key, sum(n) AS c, '' FROM "+s.table("topic_rollup")+" FINAL WHERE grain = 'd' AND dim = ? AND topic = ? "+
		"AND t >= toDateTime(?) AND t < toDateTime(?)"+fmt.Sprintf(latest, s.table("topic_rollup"))+" GROUP BY key ORDER BY c DESC, key LIMIT 15",
		dim, topic, win.from.Unix(), win.to.Unix(), "d", dim, win.from.Unix(), win.to.Unix())
}
