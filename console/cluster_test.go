package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/console"
	"github.com/earshot-dev/earshot/internal/clustertest"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
)

// TestIndexOnACluster runs the rollup pass and the pages on two shards
// (real clickhouse-server processes and ZooKeeper): the index and rollup
// tables are Distributed, the pass inserts through them and the readers'
// subqueries are GLOBAL, and each mention still counts once.
func TestIndexOnACluster(t *testing.T) {
	dir := t.TempDir()
	zk := clustertest.StartZooKeeper(t, dir+"/zk")
	certs := clustertest.NewCerts(t, dir+"/certs")
	chc := clustertest.StartClickHouseCluster(t, dir, zk, certs, 2, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := clickhouse.Open(ctx, chc.Config("earshot_console"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tbl := range []string{"topic_mentions", "topic_passes", "topic_rollup"} {
		var engine string
		if err := st.Conn().QueryRow(ctx, "SELECT engine FROM system.tables WHERE database = 'earshot_console' AND name = ?", tbl).Scan(&engine); err != nil || engine != "Distributed" {
			t.Fatalf("%s is %q (%v); want a Distributed table on a cluster", tbl, engine, err)
		}
	}
	seed(t, st)
	seed(t, st)
	c, err := console.New(options(st, "127.0.0.1:0", nil))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	check := func(step, want string, wantDet []string) {
		t.Helper()
		if err := c.Refresh(ctx); err != nil {
			t.Fatalf("%s: Refresh on a cluster: %v", step, err)
		}
		for _, r := range []string{"24h", "7d"} {
			var p indexedPage
			if code := getJSON(t, get(t, srv.URL+"/api/topic?range="+r), &p); code != http.StatusOK {
				t.Fatalf("%s: GET /api/topic?range=%s = %d", step, r, code)
			}
			if got := summary(p); got != want {
				t.Errorf("%s: topic page %s on a cluster: %s; want %s", step, r, got, want)
			}
			var pp peoplePage
			if code := getJSON(t, get(t, srv.URL+"/api/people?range="+r), &pp); code != http.StatusOK {
				t.Fatalf("%s: GET /api/people = %d", step, code)
			}
			if _, det := handles(pp); !slices.Equal(det, wantDet) {
				t.Errorf("%s: detractors %s on a cluster: %v; want %v", step, r, det, wantDet)
			}
		}
	}
	check("stored twice", "volume 4, positive 0, negative 4, voice map[acme:4/4 refund:2/2]",
		[]string{"u-forum:1×1", "u-forum:3×1", "u-forum:4×1", "u-mastodon:2×1"})
	now := time.Now().UTC()
	if err := st.Write(ctx, []*pipeline.Mention{pipeline.Tombstone("mastodon", "mastodon:2", "test", now.Add(-10*time.Minute), now)}); err != nil {
		t.Fatal(err)
	}
	check("a deletion", "volume 3, positive 0, negative 3, voice map[acme:3/3 refund:2/2]",
		[]string{"u-forum:1×1", "u-forum:3×1", "u-forum:4×1"})
}
