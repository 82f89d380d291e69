package console

import (
	"context"
	"fmt"
	"slices"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// The topic index (table topic_mentions, migration 9) is a narrow copy of
// the live mentions, one row per mention and topic (and one under '' for
// every mention), sorted by topic and time: a topic's range is one
// contiguous read of a few columns, where the mentions table (sorted by
// platform and id) must be scanned whole for any time range.
//
// Exactly once: a rollup pass copies whole hours, each mention once (its
// newest version, as ReplacingMergeTree keeps it: the greatest
// collected_at, then the latest ingested; none when a tombstone deletes
// it), under the pass's version, and then records (hour, version) in
// topic_passes. Readers keep, for each hour, only the rows of its latest
// recorded version. A redelivered batch, a later version with other topics
// or label, and a deletion therefore replace what an hour holds; they can
// never add to it. An hour whose copy failed halfway is not recorded, so
// its rows are never read.

// versionKey orders the stored versions of a mention the way the mentions
// table's ReplacingMergeTree(collected_at) does: greatest collected_at
// (a tombstone has the largest), then the last ingested.
const versionKey = "toUInt64(collected_at) * 4294967296 + toUInt64(ingested_at)"

// indexCopy copies the live mentions of a set of hours (unix seconds) into
// topic_mentions; args: version, hours.
func (s *Server) indexCopy() string {
	m := s.table("mentions")
	return "INSERT INTO " + s.table("topic_mentions") + " (topic, hour, created_at, platform, id, sentiment_label, sentiment, author_handle, " +
		"author_name, author_followers, hashtags, domains, dup_cluster, snippet, version) " +
		"SELECT arrayJoin(arrayPushFront(topics, '')) AS topic, toStartOfHour(created_at), created_at, platform, id, sentiment_label, sentiment, " +
		"author_handle, author_name, author_followers, hashtags, domains, dup_cluster, snippet, toUInt64(?) FROM (" +
		"SELECT platform, id, any(created_at) AS created_at, argMax(topics, vk) AS topics, argMax(sentiment_label, vk) AS sentiment_label, " +
		"argMax(sentiment, vk) AS sentiment, argMax(author_handle, vk) AS author_handle, argMax(author_name, vk) AS author_name, " +
		"argMax(author_followers, vk) AS author_followers, argMax(hashtags, vk) AS hashtags, argMax(domains, vk) AS domains, " +
		"argMax(dup_cluster, vk) AS dup_cluster, argMax(if(title != '', title, substring(text, 1, 200)), vk) AS snippet, argMax(deleted, vk) AS del " +
		"FROM (SELECT platform, id, created_at, topics, sentiment_label, sentiment, author_handle, author_name, author_followers, hashtags, " +
		"domains, dup_cluster, title, text, deleted, " + versionKey + " AS vk FROM " + m + " WHERE toUInt32(toStartOfHour(created_at)) IN ? " +
		// A tombstone whose post's created_at was unknown is in another
		// partition (and hour): it still hides the post.
		"AND (platform, id) GLOBAL NOT IN (SELECT platform, id FROM " + m + " WHERE deleted = 1)) " +
		"GROUP BY platform, id HAVING del = 0)"
}

// indexChunk is how many hours one copy statement covers, bounding the
// server memory of the first pass over a large table.
const indexChunk = 24

// insertSync makes an INSERT return once every shard has its rows (on a
// cluster the tables are Distributed), so topic_passes never records an
// hour before its rows are readable. A single server ignores it.
func insertSync(ctx context.Context) context.Context {
	return ch.Context(ctx, ch.WithSettings(ch.Settings{"insert_distributed_sync": 1}))
}

// indexHours copies hours into the index under version v, recording each
// chunk in topic_passes once its rows are stored.
func (s *Server) indexHours(ctx context.Context, hours []uint32, v uint64) error {
	ctx = insertSync(ctx)
	for c := range slices.Chunk(hours, indexChunk) {
		set := make([]any, len(c))
		for i, h := range c {
			set[i] = h
		}
		if err := s.store.Conn().Exec(ctx, s.indexCopy(), v, ch.GroupSet{Value: set}); err != nil {
			return fmt.Errorf("topic index: copy: %w", err)
		}
		b, err := s.store.Conn().PrepareBatch(ctx, "INSERT INTO "+s.table("topic_passes")+" (hour, version)")
		if err != nil {
			return fmt.Errorf("topic index: record pass: %w", err)
		}
		for _, h := range c {
			if err := b.Append(time.Unix(int64(h), 0).UTC(), v); err != nil {
				b.Abort()
				return fmt.Errorf("topic index: record pass: %w", err)
			}
		}
		if err := b.Send(); err != nil {
			return fmt.Errorf("topic index: record pass: %w", err)
		}
	}
	return nil
}

// indexLatest keeps the rows of the latest recorded pass of each hour in
// [from, to); args: from, to (unix seconds, whole hours).
func (s *Server) indexLatest() string {
	return "(hour, version) GLOBAL IN (SELECT hour, max(version) FROM " + s.table("topic_passes") +
		" WHERE hour >= toDateTime(?) AND hour < toDateTime(?) GROUP BY hour)"
}

// indexWhere is the filter of a window in the index: one topic (the empty
// topic: all mentions), or every named topic when allTopics is set (share of voice).
func (s *Server) indexWhere(w window, topic string, allTopics bool) (string, []any) {
	hFrom, hTo := w.from.Truncate(time.Hour).Unix(), w.to.Add(time.Hour-time.Second).Truncate(time.Hour).Unix()
	sql, args := "topic = ?", []any{topic}
	if allTopics {
		sql, args = "topic != ''", nil
	}
	sql += " AND hour >= toDateTime(?) AND hour < toDateTime(?) AND created_at >= toDateTime(?) AND created_at < toDateTime(?) AND " + s.indexLatest()
	return sql, append(args, hFrom, hTo, w.from.Unix(), w.to.Unix(), hFrom, hTo)
}
