package clickhouse

import (
	"encoding/binary"
	"strconv"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/earshot-dev/earshot/pipeline"
)

// Idempotent retries.
//
// A Send that timed out may have been committed by the server; the sink
// runner then writes the same batch again. What makes that harmless:
//
//   - Always: every table is a ReplacingMergeTree keyed by id and analysts
//     read through FINAL, so a row stored twice is counted once.
//   - On a cluster, also before any merge: replicated tables
//     (ReplicatedReplacingMergeTree) drop an inserted block whose checksum
//     equals one of the last replicated_deduplication_window (100) blocks,
//     the same on every replica, because the checksums live in ZooKeeper.
//     ClickHouse 18.16 has nothing else (no insert_deduplication_token), so
//     earshot makes a retried batch byte-identical: same rows in the same
//     order, and the same ingested_at, remembered here by the batch's
//     content for a retry window. Through the Distributed table with
//     insert_distributed_sync=1, each shard receives the same sub-block on
//     every attempt (the split by cityHash64(id) is deterministic), so it
//     is dropped there too.
//   - On current releases (22.2 and later) the batch's hash is also sent as
//     insert_deduplication_token, which deduplicates even if the block
//     differed (Distributed inserts forward it to the shards). It acts on
//     replicated tables only: a single server's plain ReplacingMergeTree
//     deduplicates inserts only when the table's
//     non_replicated_deduplication_window is above 0, which earshot's
//     schema does not set, so there a retried batch is two physical rows
//     until a merge, and FINAL folds them.
//
// A batch redelivered by NATS to another sink replica is usually composed
// differently, so only FINAL folds it; count() FINAL = uniqExact(id) holds
// either way.

// retryWindow is how long a batch's ingested_at is remembered.
const retryWindow = 15 * time.Minute

type retryStamps struct {
	mu    sync.Mutex
	seen  map[uint64]time.Time // batch hash -> ingested_at
	at    map[uint64]time.Time // batch hash -> first write, for expiry
	swept time.Time
}

// batchHash identifies a batch's content: ids and collected_at, in order.
func batchHash(ms []*pipeline.Mention) uint64 {
	h := xxhash.New()
	var b [8]byte
	for _, m := range ms {
		_, _ = h.WriteString(m.ID)
		_, _ = h.WriteString(m.Platform)
		binary.LittleEndian.PutUint64(b[:], uint64(m.CollectedAt.UnixNano()))
		_, _ = h.Write(b[:])
	}
	return h.Sum64()
}

// stamp returns the ingested_at of the batch with hash key: the one used
// at its first write within the window, else now.
func (r *retryStamps) stamp(key uint64, now time.Time) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen, r.at = map[uint64]time.Time{}, map[uint64]time.Time{}
	}
	if t, ok := r.seen[key]; ok && now.Sub(r.at[key]) < retryWindow {
		return t
	}
	// Kept after a successful write too: a Send that reported success to
	// the server but whose batch is written again (the caller could not
	// tell) is as identical. Swept once a minute.
	if now.Sub(r.swept) > time.Minute {
		r.swept = now
		for k, at := range r.at {
			if now.Sub(at) >= retryWindow {
				delete(r.seen, k)
				delete(r.at, k)
			}
		}
	}
	t := now.UTC().Truncate(time.Second)
	r.seen[key], r.at[key] = t, now
	return t
}

func dedupToken(key uint64) string { return "earshot-" + strconv.FormatUint(key, 16) }
