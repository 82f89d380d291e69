package clickhouse_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/sink/clickhouse"
	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

// serverCPU returns the managed server's CPU time (user+system) so far.
func serverCPU(tb testing.TB) time.Duration {
	tb.Helper()
	s := chtest.Start(tb)
	if s.Local == nil {
		tb.Skip("needs the managed local server (its pid) to read its CPU time")
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.Local.Pid()))
	if err != nil {
		tb.Skipf("server CPU: %v", err)
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond // USER_HZ 100
}

// waitMerged waits until the database has no merge running for a second.
func waitMerged(tb testing.TB, st *clickhouse.Store) {
	tb.Helper()
	quiet := 0
	for quiet < 4 {
		time.Sleep(250 * time.Millisecond)
		if queryUint(tb, st, "SELECT count() FROM system.merges WHERE database = '"+st.Database()+"'") == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
}

// BenchmarkServerCPUByBatch writes the same 60,000 article-length mentions
// in batches of several sizes, each into its own database, and reports the
// ClickHouse server's CPU per mention, merges included (it waits until
// the merges end). Each INSERT makes a part, and a part costs the server a
// fixed amount of CPU (writing a file or two per column, then merging it)
// however few rows it holds: the figure falls steeply with the batch size.
// With -v it logs the CPU by server thread (on 18.16: TCPHandler runs the
// inserts, BackgrProcPool the merges).
//
//	go test -run '^$' -bench ServerCPUByBatch -benchtime 1x ./sink/clickhouse/
func BenchmarkServerCPUByBatch(b *testing.B) {
	const total = 60000
	ctx := context.Background()
	base := sampleMentions(total, time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	for _, m := range base {
		m.Text += strings.Repeat(" Reports say the company is recalling thousands of units after complaints about overheating.", 8)
		m.Enrichment.Topics = []string{"acme", "t0042"}
		m.Enrichment.Versions = map[string]string{"lang": "2", "topics": "2", "dedup": "2"}
	}
	sizes := []int{2000, 3500, 7000, 10000}
	stores := make([]*clickhouse.Store, len(sizes))
	for k := range sizes {
		stores[k] = openStore(b)
	}
	cpu := make([]time.Duration, len(sizes))
	threads := make([]map[string]time.Duration, len(sizes))
	for i := 0; b.Loop(); i++ {
		for k, size := range sizes {
			for j, m := range base {
				m.ID = fmt.Sprintf("twitter:%d-%d-%07d", i, size, j)
			}
			waitMerged(b, stores[k])
			c0 := serverCPU(b)
			t0 := threadCPU(b)
			for off := 0; off < total; off += size {
				if err := stores[k].Write(ctx, base[off:min(total, off+size)]); err != nil {
					b.Fatal(err)
				}
			}
			waitMerged(b, stores[k])
			cpu[k] += serverCPU(b) - c0
			t1 := threadCPU(b)
			if threads[k] == nil {
				threads[k] = map[string]time.Duration{}
			}
			for n, v := range t1 {
				threads[k][n] += v - t0[n]
			}
		}
	}
	for k, size := range sizes {
		b.Logf("batch %d: CPU by server thread %v", size, threads[k])
		b.ReportMetric(float64(cpu[k].Microseconds())/float64(b.N*total), fmt.Sprintf("us/mention@%d", size))
	}
}

// threadCPU returns the managed server's CPU time by thread name, user
// (name/u) and system (name/s).
func threadCPU(tb testing.TB) map[string]time.Duration {
	s := chtest.Start(tb)
	out := map[string]time.Duration{}
	dir := fmt.Sprintf("/proc/%d/task", s.Local.Pid())
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		raw, err := os.ReadFile(dir + "/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		str := string(raw)
		name := str[strings.IndexByte(str, '(')+1 : strings.LastIndexByte(str, ')')]
		f := strings.Fields(str[strings.LastIndexByte(str, ')')+2:])
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		out[name+"/u"] += time.Duration(u) * 10 * time.Millisecond
		out[name+"/s"] += time.Duration(st) * 10 * time.Millisecond
	}
	return out
}

// BenchmarkServerCPUPerPoll measures the server CPU of one query like the
// end-to-end bench's visibility poll (`earshot bench` reads, every 100 ms,
// the ids above each platform's lowest unseen one) against a table of
// 60,000 mentions in parts of 3,500, next to the CPU of an INSERT of
// 3,500 in the same run.
//
//	go test -run '^$' -bench ServerCPUPerPoll -benchtime 1x ./sink/clickhouse/
func BenchmarkServerCPUPerPoll(b *testing.B) {
	const total, size, polls = 60000, 3500, 200
	ctx := context.Background()
	st := openStore(b)
	ms := sampleMentions(total, time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	plats := []string{"twitter", "reddit", "bluesky", "mastodon", "rss"}
	for j, m := range ms {
		m.Platform = plats[j%len(plats)]
		m.ID = fmt.Sprintf("r01:%07d", j)
		m.Text += strings.Repeat(" Reports say the company is recalling thousands of units after complaints about overheating.", 8)
	}
	var pollCPU, insertCPU time.Duration
	inserts := 0
	for b.Loop() {
		for off := 0; off < total; off += size {
			c0 := serverCPU(b)
			if err := st.Write(ctx, ms[off:min(total, off+size)]); err != nil {
				b.Fatal(err)
			}
			insertCPU += serverCPU(b) - c0
			inserts++
		}
		waitMerged(b, st)
		c0 := serverCPU(b)
		for i := range polls {
			low := fmt.Sprintf("r01:%07d", total-size+i)
			var conds []string
			var args []any
			for _, p := range plats {
				conds = append(conds, "(platform = ? AND id >= ? AND id < ?)")
				args = append(args, p, low, "r01;")
			}
			rows, err := st.Conn().Query(ctx, "SELECT id FROM `"+st.Database()+"`.mentions WHERE "+strings.Join(conds, " OR "), args...)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
			}
			rows.Close()
		}
		pollCPU += serverCPU(b) - c0
	}
	b.ReportMetric(float64(pollCPU.Microseconds())/float64(b.N*polls), "us/poll")
	b.ReportMetric(float64(insertCPU.Microseconds())/float64(inserts), "us/insert-of-3500(no-merges)")
}

// BenchmarkCPUByCompression writes the same 7,000-mention batches of
// about 1 KB with LZ4 on the native protocol and without, alternating in
// one run, and reports the CPU per mention of the server (merges
// included) and of this process (the client: building, compressing and
// sending the batch).
//
//	go test -run '^$' -bench CPUByCompression -benchtime 3x ./sink/clickhouse/
func BenchmarkCPUByCompression(b *testing.B) {
	const total, size = 42000, 7000
	ctx := context.Background()
	lz4 := openStore(b)
	cfg := chtest.NewDatabase(b)
	cfg.Compression = "none"
	plain, err := clickhouse.Open(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close()
	if err := plain.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	base := sampleMentions(total, time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	for _, m := range base {
		m.Text += strings.Repeat(" Reports say the company is recalling thousands of units after complaints about overheating.", 8)
	}
	modes := []struct {
		name string
		st   *clickhouse.Store
	}{{"lz4", lz4}, {"none", plain}}
	server := make([]time.Duration, len(modes))
	client := make([]time.Duration, len(modes))
	for i := 0; b.Loop(); i++ {
		for k, md := range modes {
			for j, m := range base {
				m.ID = fmt.Sprintf("twitter:%d-%s-%07d", i, md.name, j)
			}
			waitMerged(b, md.st)
			s0, c0 := serverCPU(b), selfCPU()
			for off := 0; off < total; off += size {
				if err := md.st.Write(ctx, base[off:off+size]); err != nil {
					b.Fatal(err)
				}
			}
			client[k] += selfCPU() - c0
			waitMerged(b, md.st)
			server[k] += serverCPU(b) - s0
		}
	}
	for k, md := range modes {
		b.ReportMetric(float64(server[k].Microseconds())/float64(b.N*total), "server-us/mention-"+md.name)
		b.ReportMetric(float64(client[k].Microseconds())/float64(b.N*total), "client-us/mention-"+md.name)
	}
}

// selfCPU is this process's CPU time (user+system) so far.
func selfCPU() time.Duration {
	raw, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}
