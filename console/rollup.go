package console

import (
	"context"
	"errors"
	"fmt"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// A rollup pass keeps two things current: the topic index (index.go),
// which serves every range's authors, clusters and people and the short
// ranges whole, and the topic_rollup table, which the long ranges (7d,
// 30d) read their series, share of voice, hashtags and domains from. A
// pass finds every hour that received mentions (by ingested_at) or lost
// one to a deletion since the previous pass, copies those hours into the
// index under a new version, and recounts those hours and their days of
// topic_rollup from the index, writing the whole recount under the same
// version: a recount replaces, so a mention stored twice is still counted
// once, and readers keep only the latest recount of each hour or day.
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
		// The last complete pass (its 'pass' row is written last): a pass
		// cut short is done again from the one before.
		if err := s.store.Conn().QueryRow(ctx, "SELECT max(version) FROM "+s.table("topic_rollup")+" WHERE grain = 'pass'").Scan(&v); err != nil {
			return fmt.Errorf("topic rollup: %w", err)
		}
		if v > 0 {
			s.rollMark = time.Unix(0, int64(v)).Add(-rollupOverlap)
		}
		s.rollInit = true
	}
	mark := max(s.rollMark.Unix(), 0)
	m := s.table("mentions")
	// The hours that received mentions, and the hours of posts deleted,
	// since the mark.
	rows, err := s.store.Conn().Query(ctx, "SELECT DISTINCT h FROM (SELECT toUInt32(toStartOfHour(created_at)) AS h FROM "+m+
		" WHERE ingested_at >= toDateTime(?) UNION ALL SELECT toUInt32(toStartOfHour(created_at)) AS h FROM "+m+
		" WHERE (platform, id) GLOBAL IN (SELECT platform, id FROM "+m+" WHERE deleted = 1 AND ingested_at >= toDateTime(?))) ORDER BY h", mark, mark)
	if err != nil {
		return fmt.Errorf("topic rollup: changed hours: %w", err)
	}
	var hours []uint32
	var hourSet, days []any
	seenDay := map[uint32]bool{}
	for rows.Next() {
		var h uint32
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return fmt.Errorf("topic rollup: %w", err)
		}
		hours, hourSet = append(hours, h), append(hourSet, h)
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
		if err := s.indexHours(ctx, hours, v); err != nil {
			return err
		}
		tm, passes := s.table("topic_mentions"), s.table("topic_passes")
		into := "INSERT INTO " + s.table("topic_rollup") + " (grain, dim, topic, t, key, n, version) "
		// The rows of the latest pass of each hour of the set.
		latestOf := func(hourExpr string) string {
			return " AND (hour, version) GLOBAL IN (SELECT hour, max(version) FROM " + passes + " WHERE " + hourExpr + " IN ? GROUP BY hour)"
		}
		byHour, byDay := "toUInt32(hour)", "toUInt32(toStartOfDay(hour))"
		for _, q := range []struct {
			sql string
			set []any
		}{
			{into + "SELECT 'h', 'label', topic, hour AS t, sentiment_label AS key, count(), toUInt64(?) FROM " + tm +
				" WHERE " + byHour + " IN ?" + latestOf(byHour) + " GROUP BY topic, t, key", hourSet},
			{into + "SELECT 'd', 'hashtag', topic, toStartOfDay(hour) AS t, arrayJoin(hashtags) AS key, count(), toUInt64(?) FROM " + tm +
				" WHERE " + byDay + " IN ?" + latestOf(byDay) + " GROUP BY topic, t, key", days},
			{into + "SELECT 'd', 'domain', topic, toStartOfDay(hour) AS t, arrayJoin(domains) AS key, count(), toUInt64(?) FROM " + tm +
				" WHERE " + byDay + " IN ?" + latestOf(byDay) + " GROUP BY topic, t, key", days},
		} {
			set := ch.GroupSet{Value: q.set}
			if err := s.store.Conn().Exec(insertSync(ctx), q.sql, v, set, set); err != nil {
				return fmt.Errorf("topic rollup: recount: %w", err)
			}
		}
		// An empty row for every hour and day recounted, so a recount that
		// found nothing (every mention deleted) still replaces the last.
		b, err := s.store.Conn().PrepareBatch(insertSync(ctx), into)
		if err != nil {
			return fmt.Errorf("topic rollup: recount: %w", err)
		}
		for _, h := range hours {
			err = errors.Join(err, b.Append("h", "label", "", time.Unix(int64(h), 0).UTC(), "", uint64(0), v))
		}
		for _, d := range days {
			for _, dim := range []string{"hashtag", "domain"} {
				err = errors.Join(err, b.Append("d", dim, "", time.Unix(int64(d.(uint32)), 0).UTC(), "", uint64(0), v))
			}
		}
		// The pass is complete: a process starting later goes on from here.
		// No reader selects grain 'pass'.
		err = errors.Join(err, b.Append("pass", "", "", start.Truncate(time.Second), "", uint64(0), v))
		if err != nil {
			b.Abort()
			return fmt.Errorf("topic rollup: recount: %w", err)
		}
		if err := b.Send(); err != nil {
			return fmt.Errorf("topic rollup: recount: %w", err)
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
// dim; args: grain, dim, from, to. A recount writes each key once, so no
// FINAL is needed (and FINAL would fold a recount's empty row (empty
// topic and key) into the count of unscored mentions of all topics). GLOBAL:
// on a cluster topic_rollup is a Distributed table.
const latest = " AND (t, version) GLOBAL IN (SELECT t, max(version) FROM %s WHERE grain = ? AND dim = ? AND t >= toDateTime(?) AND t < toDateTime(?) GROUP BY t)"

// rollupSeries returns per-hour counts by label for one topic (” = all).
func (s *Server) rollupSeries(ctx context.Context, win window, topic string) (map[int64]map[string]uint64, error) {
	rows, err := s.store.Conn().Query(ctx, "SELECT toUInt32(t), key, n FROM "+s.table("topic_rollup")+" WHERE grain = 'h' AND dim = 'label' "+
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
	rows, err := s.store.Conn().Query(ctx, "SELECT topic, key = 'negative', sum(n) FROM "+s.table("topic_rollup")+" WHERE grain = 'h' AND dim = 'label' "+
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
	return s.counts(ctx, "SELECT key, sum(n) AS c, '' FROM "+s.table("topic_rollup")+" WHERE grain = 'd' AND dim = ? AND topic = ? AND key != '' "+
		"AND t >= toDateTime(?) AND t < toDateTime(?)"+fmt.Sprintf(latest, s.table("topic_rollup"))+" GROUP BY key ORDER BY c DESC, key LIMIT 15",
		dim, topic, win.from.Unix(), win.to.Unix(), "d", dim, win.from.Unix(), win.to.Unix())
}
