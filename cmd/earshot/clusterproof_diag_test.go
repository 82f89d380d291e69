//go:build clusterproof

package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
)

// keepLogsOnFailure copies every log under dir (the roles', ClickHouse's,
// NATS's, ZooKeeper's) to a directory that outlives the test when it
// fails, and names it: the test's own directory is removed at its end.
func keepLogsOnFailure(t *testing.T, dir string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		keep, err := os.MkdirTemp("", "earshot-clusterproof-failed-")
		if err != nil {
			t.Logf("keep logs: %v", err)
			return
		}
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(d.Name(), ".log") {
				return nil
			}
			rel, _ := filepath.Rel(dir, path)
			dst := filepath.Join(keep, rel)
			_ = os.MkdirAll(filepath.Dir(dst), 0o755)
			src, err := os.Open(path)
			if err != nil {
				return nil
			}
			defer src.Close()
			out, err := os.Create(dst)
			if err != nil {
				return nil
			}
			defer out.Close()
			_, _ = io.Copy(out, src)
			return nil
		})
		t.Logf("logs of the failed run kept in %s", keep)
	})
}

// logReplicaState logs what one ClickHouse node says about its replica of
// mentions_local: read-only, its ZooKeeper session, its replication queue
// and the first errors in it (a replica that never caught up shows here).
func logReplicaState(t *testing.T, ctx context.Context, st *clickhouse.Store, addr, password string) {
	rows, err := st.Conn().Query(ctx, "SELECT toString(is_readonly), toString(is_session_expired), toString(queue_size), toString(inserts_in_queue), "+
		"toString(log_pointer), toString(log_max_index), toString(absolute_delay), toString(active_replicas), toString(total_replicas) "+
		"FROM remote('"+addr+"', system.replicas, 'default', '"+password+"') WHERE table = 'mentions_local'")
	if err != nil {
		t.Logf("  %s replicas: %v", addr, err)
		return
	}
	for rows.Next() {
		v := make([]string, 9)
		if err := rows.Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]); err != nil {
			t.Logf("  %s replicas: %v", addr, err)
			break
		}
		t.Logf("  %s: readonly %s, session expired %s, queue %s (inserts %s), log pointer %s of %s, delay %ss, active replicas %s of %s",
			addr, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8])
	}
	rows.Close()
	rows, err = st.Conn().Query(ctx, "SELECT type, new_part_name, toString(num_tries), last_exception "+
		"FROM remote('"+addr+"', system.replication_queue, 'default', '"+password+"') WHERE table = 'mentions_local' AND last_exception != '' LIMIT 3")
	if err != nil {
		t.Logf("  %s replication queue: %v", addr, err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var typ, part, tries, exc string
		if err := rows.Scan(&typ, &part, &tries, &exc); err != nil {
			t.Logf("  %s replication queue: %v", addr, err)
			return
		}
		t.Logf("  %s queue: %s %s, %s tries: %.300s", addr, typ, part, tries, exc)
	}
}

// logStreams logs how many messages each stream holds: fewer in MENTIONS
// than sent means they were never collected (a connector), fewer stored
// than in ENRICHED means they were lost after (a sink or ClickHouse).
func logStreams(t *testing.T, ctx context.Context, js jetstream.JetStream) {
	for _, name := range []string{pipeline.StreamMentions, pipeline.StreamEnriched} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Logf("stream %s: %v", name, err)
			continue
		}
		st := s.CachedInfo().State
		t.Logf("stream %s holds %d messages (sequences %d to %d)", name, st.Msgs, st.FirstSeq, st.LastSeq)
	}
}

// logPubAckTimeouts says which roles hit pipeline.PubAckTimeout (a publish
// whose acknowledgement was lost, then retried): before it existed, such a
// publish waited forever.
func logPubAckTimeouts(t *testing.T, logs string) {
	entries, _ := os.ReadDir(logs)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(logs, e.Name()))
		if err != nil {
			continue
		}
		if n := strings.Count(string(b), pipeline.ErrPubAckTimeout.Error()); n > 0 {
			t.Logf("%s: %d publishes not acknowledged within %v, retried", strings.TrimSuffix(e.Name(), ".log"), n, pipeline.PubAckTimeout)
		}
	}
}
