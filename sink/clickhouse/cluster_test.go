package clickhouse_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/internal/clustertest"
	"github.com/earshot-dev/earshot/sink/clickhouse"
)

// A two-shard cluster over TLS: migrations run ON CLUSTER from two
// processes at once; mentions spread over both shards through the
// Distributed table; a retried batch is dropped by the replicated tables
// before any merge; FINAL through `mentions` counts every mention once.
func TestClusterSchemaAndWrites(t *testing.T) {
	dir := t.TempDir()
	zk := clustertest.StartZooKeeper(t, dir+"/zk")
	certs := clustertest.NewCerts(t, dir+"/certs")
	chc := clustertest.StartClickHouseCluster(t, dir, zk, certs, 2, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Two stores, each entering through a different node, migrate at once.
	stores := make([]*clickhouse.Store, 2)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range stores {
		cfg := chc.Config("earshot_c")
		addrs := chc.SecureAddrs()
		cfg.Addrs = clickhouse.AddrList(addrs[i] + "," + addrs[1-i])
		wg.Go(func() {
			st, err := clickhouse.Open(ctx, cfg)
			if err != nil {
				errs[i] = err
				return
			}
			stores[i] = st
			errs[i] = st.Migrate(ctx)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
	}
	for _, st := range stores {
		t.Cleanup(func() { _ = st.Close() })
	}
	st := stores[0]
	for _, tbl := range []struct{ name, engine string }{
		{"mentions", "Distributed"}, {"mentions_local", "ReplicatedReplacingMergeTree"},
		{"alerts", "Distributed"}, {"alerts_local", "ReplicatedReplacingMergeTree"},
		{"mentions_dedup", "View"}, {"mentions_per_minute", "View"}, {"schema_migrations", "ReplicatedReplacingMergeTree"},
	} {
		// On every node.
		q := fmt.Sprintf("SELECT count() FROM remote('%s', system.tables, 'default', '%s') WHERE database = 'earshot_c' AND name = '%s' AND engine = '%s'",
			chc.Addrs()[0]+","+chc.Addrs()[1], chc.Password, tbl.name, tbl.engine)
		if n := queryUint(t, st, q); n != 2 {
			t.Errorf("table %s with engine %s on %d of 2 nodes", tbl.name, tbl.engine, n)
		}
	}

	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ms := sampleMentions(1000, base)
	if err := st.Write(ctx, ms[:500]); err != nil {
		t.Fatal(err)
	}
	if err := stores[1].Write(ctx, ms[500:]); err != nil {
		t.Fatal(err)
	}
	// The first batch again, as after a Send that timed out but had been
	// committed: the same store retries the same slice.
	if err := st.Write(ctx, ms[:500]); err != nil {
		t.Fatal(err)
	}
	// Rows land on both shards, and the retried batch was dropped by the
	// replicated tables before any merge (no FINAL here).
	var raw uint64
	for _, addr := range chc.Addrs() {
		n := queryUint(t, st, fmt.Sprintf("SELECT count() FROM remote('%s', earshot_c.mentions_local, 'default', '%s')", addr, chc.Password))
		if n == 0 || n == 1000 {
			t.Errorf("shard at %s holds %d of 1000 mentions; want a share", addr, n)
		}
		raw += n
	}
	if raw != 1000 {
		t.Errorf("rows over the shards without FINAL = %d; want 1000 (the retried batch deduplicated by block)", raw)
	}
	if n := queryUint(t, st, "SELECT count() FROM $db.mentions FINAL"); n != 1000 {
		t.Errorf("count() FINAL through the Distributed table = %d; want 1000", n)
	}
	if n := queryUint(t, st, "SELECT uniqExact(id) FROM $db.mentions"); n != 1000 {
		t.Errorf("uniqExact(id) = %d; want 1000", n)
	}
	// One per mention and topic (a mention without topics counts once).
	perTopic := uint64(0)
	for _, m := range ms {
		perTopic += uint64(max(len(m.Enrichment.Topics), 1))
	}
	if n := queryUint(t, st, "SELECT toUInt64(sum(mentions)) FROM $db.mentions_per_minute"); n != perTopic {
		t.Errorf("mentions_per_minute sums to %d; want %d", n, perTopic)
	}
	// A newer collection of some mentions replaces them (on their shard).
	later := sampleMentions(100, base)
	for _, m := range later {
		m.CollectedAt = m.CollectedAt.Add(time.Hour)
		m.Engagement.Likes = 123456789
	}
	if err := stores[1].Write(ctx, later); err != nil {
		t.Fatal(err)
	}
	if n := queryUint(t, st, "SELECT count() FROM $db.mentions FINAL"); n != 1000 {
		t.Errorf("count() FINAL after a newer collection = %d; want 1000", n)
	}
	if n := queryUint(t, st, "SELECT count() FROM $db.mentions FINAL WHERE likes = 123456789"); n != 100 {
		t.Errorf("newer versions visible through FINAL = %d; want 100", n)
	}
	// A re-enriched version (same collected_at, written last) replaces the
	// stored one on its shard, including mentions collected again above.
	re := sampleMentions(150, base)[50:]
	for i, m := range re {
		if i < 50 {
			m.CollectedAt, m.Engagement.Likes = m.CollectedAt.Add(time.Hour), 123456789
		}
		m.Enrichment.Topics = []string{"reenriched"}
	}
	if err := st.WriteReenriched(ctx, re, base.Add(72*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := queryUint(t, st, "SELECT count() FROM $db.mentions FINAL"); n != 1000 {
		t.Errorf("count() FINAL after a re-enrichment = %d; want 1000", n)
	}
	if n := queryUint(t, st, "SELECT count() FROM $db.mentions FINAL WHERE has(topics, 'reenriched')"); n != 100 {
		t.Errorf("re-enriched versions visible through FINAL = %d; want 100", n)
	}
	if n := queryUint(t, st, "SELECT count() FROM $db.mentions FINAL WHERE likes = 123456789"); n != 100 {
		t.Errorf("newer collections after a re-enrichment = %d; want still 100", n)
	}
	// A later migration adding a column, written in the single-server form
	// (IF NOT EXISTS, which 18.16 does not parse), reaches the local tables
	// and the Distributed table on every node, and runs again harmlessly.
	for range 2 {
		err := st.ExecMigrationForTest(ctx, func(db string) []string {
			return []string{"ALTER TABLE `" + db + "`.mentions ADD COLUMN IF NOT EXISTS cluster_probe UInt8"}
		})
		if err != nil {
			t.Fatalf("column migration on the cluster: %v", err)
		}
	}
	q := fmt.Sprintf("SELECT count() FROM remote('%s', system.columns, 'default', '%s') WHERE database = 'earshot_c' AND table IN ('mentions', 'mentions_local') AND name = 'cluster_probe'",
		chc.Addrs()[0]+","+chc.Addrs()[1], chc.Password)
	if n := queryUint(t, st, q); n != 4 {
		t.Errorf("column cluster_probe on %d of 4 tables (2 nodes x mentions, mentions_local)", n)
	}
	if err := st.Write(ctx, sampleMentions(1, base.Add(time.Hour))); err != nil {
		t.Errorf("write after the column migration: %v", err)
	}
	if n := queryUint(t, st, "SELECT count() FROM $db.mentions FINAL WHERE deleted = 0"); n != 1000 {
		t.Errorf("count() FINAL after the column migration = %d; want 1000", n)
	}
	// Migrating again with everything in place runs no DDL and succeeds.
	if err := stores[1].Migrate(ctx); err != nil {
		t.Errorf("Migrate again: %v", err)
	}
}

// BenchmarkClusterInsert compares the two ways a sink can write on a
// cluster of one shard with two replicas, over TLS: through the
// Distributed table (insert_distributed_sync: acknowledged once the shard's
// replica stored it) and straight into the entry node's local replicated
// table (what writing to the owning shard costs when the client knows the
// topology). Batches of 10,000 distinct mentions.
func BenchmarkClusterInsert(b *testing.B) {
	dir := b.TempDir()
	zk := clustertest.StartZooKeeper(b, dir+"/zk")
	chc := clustertest.StartClickHouseCluster(b, dir, zk, clustertest.NewCerts(b, dir+"/certs"), 1, 2)
	ctx := context.Background()
	st, err := clickhouse.Open(ctx, chc.Config("bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	seq := 0
	for _, table := range []string{"mentions", "mentions_local"} {
		b.Run(table, func(b *testing.B) {
			for b.Loop() {
				ms := sampleMentions(10_000, base)
				for _, m := range ms {
					m.ID = fmt.Sprintf("bench:%d", seq)
					seq++
				}
				if err := st.WriteTableForTest(ctx, table, ms); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*10_000)/b.Elapsed().Seconds(), "mentions/s")
		})
	}
}
