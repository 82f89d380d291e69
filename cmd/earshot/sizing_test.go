//go:build clusterproof

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/internal/clustertest"
	"github.com/earshot-dev/earshot/pipeline"
)

// procUsage is a process's CPU seconds so far and its peak resident memory.
func procUsage(pid int) (cpu float64, hwmMB float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	cpu = (ut + st) / 100 // USER_HZ
	st2, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(st2), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			hwmMB = kb / 1024
		}
	}
	return cpu, hwmMB
}

// TestSizing measures each role's CPU seconds and peak memory per million
// mentions on this machine, on the cluster of TestClusterProof (three NATS
// servers at R3, one ClickHouse shard of two replicas): EARSHOT_SIZING_N
// mentions (default 100,000) are published as a connector would, and one
// enrich, one sink and one detect process carry them into ClickHouse.
// The servers' CPU is counted net of an idle window as long as the run.
func TestSizing(t *testing.T) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("EARSHOT_SIZING_N")); err == nil && v > 0 {
		n = v
	}
	dir := t.TempDir()
	bin, natsBin := buildBinaries(t, dir)
	nc := clustertest.StartNATSCluster(t, filepath.Join(dir, "nats"), 3, natsBin)
	zk := clustertest.StartZooKeeper(t, filepath.Join(dir, "zk"))
	chc := clustertest.StartClickHouseCluster(t, filepath.Join(dir, "ch"), zk, nc.Certs, 1, 2)
	chCfg := chc.Config("earshot")
	doc := map[string]any{
		"data_dir": filepath.Join(dir, "data"), "http": map[string]any{"listen": "off"},
		"nats": map[string]any{
			"url": strings.Split(nc.URL(), ","), "nkey_file": nc.User.SeedFile,
			"tls":     map[string]any{"ca": nc.Certs.CA, "cert": nc.Certs.ClientCert, "key": nc.Certs.ClientKey},
			"streams": map[string]any{"replicas": 3, "max_bytes": 1 << 30},
		},
		"clickhouse": map[string]any{"addrs": chCfg.Endpoints(), "cluster": chCfg.Cluster, "database": "earshot",
			"password": map[string]any{"file": chCfg.Password.File}, "tls": map[string]any{"ca": chCfg.TLS.CA}},
		"topics": benchTopics(100),
		"detect": map[string]any{"kv_replicas": 3},
	}
	raw, _ := yaml.Marshal(doc)
	cfgFile := filepath.Join(dir, "earshot.yaml")
	if err := os.WriteFile(cfgFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(cfgFile, raw)
	if err != nil {
		t.Fatal(err)
	}
	in := newInfra(cfg)
	defer in.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := in.openNATS(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := in.openClickHouse(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := ensureRoleResources(ctx, cfg, in); err != nil {
		t.Fatal(err)
	}
	logs := filepath.Join(dir, "logs")
	_ = os.MkdirAll(logs, 0o755)
	roles := map[string]*proc{}
	for _, r := range []string{"enrich", "sink", "detect"} {
		roles[r] = startProc(t, bin, logs, r, r, "--config", cfgFile)
	}
	servers := map[string]int{}
	for i := range nc.Nodes {
		servers[fmt.Sprintf("nats-server %d", i+1)] = nc.Pid(i)
	}
	for i, nd := range chc.Nodes {
		servers[fmt.Sprintf("clickhouse-server %d", i+1)] = nd.Local.Pid()
	}
	time.Sleep(5 * time.Second) // roles up
	usage := func() map[string]float64 {
		u := map[string]float64{}
		for name, p := range roles {
			u[name], _ = procUsage(p.cmd.Process.Pid)
		}
		for name, pid := range servers {
			u[name], _ = procUsage(pid)
		}
		return u
	}
	// Publish as a connector does, measuring this process's CPU for it.
	ms := roundCopies(benchWorkload(1, n, brandNames(benchTopics(100))), "sizing")
	u0 := usage()
	var r0, r1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	start := time.Now()
	pub := pipeline.NewRawPublisher(in.js, nil)
	for i := 0; i < n; i += 1000 {
		if err := pub.Publish(ctx, ms[i:min(i+1000, n)]); err != nil {
			t.Fatal(err)
		}
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	pubCPU := tv(r1.Utime) + tv(r1.Stime) - tv(r0.Utime) - tv(r0.Stime)
	for {
		var c uint64
		_ = in.store.Conn().QueryRow(ctx, "SELECT count() FROM earshot.mentions").Scan(&c)
		if c >= uint64(n) && consumersIdle(in, [2]string{"MENTIONS", "enrich"}, [2]string{"ENRICHED", "sink"}, [2]string{"ENRICHED", "detect"}) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("not stored in time: %d of %d", c, n)
		}
		time.Sleep(time.Second)
	}
	elapsed := time.Since(start)
	u1 := usage()
	// Idle baseline of the servers over as long a window.
	idleWin := min(elapsed, 30*time.Second)
	time.Sleep(idleWin)
	u2 := usage()
	perM := 1e6 / float64(n)
	t.Logf("%d mentions through the cluster in %v (%.0f mentions/s)", n, elapsed.Round(time.Second), float64(n)/elapsed.Seconds())
	t.Logf("%-22s %12s %12s", "process", "CPU s / 1M", "peak RSS MB")
	t.Logf("%-22s %12.1f %12s", "connect (publish only)", pubCPU*perM, "-")
	for _, name := range []string{"enrich", "sink", "detect"} {
		_, hwm := procUsage(roles[name].cmd.Process.Pid)
		t.Logf("%-22s %12.1f %12.0f", name, (u1[name]-u0[name])*perM, hwm)
	}
	for _, name := range []string{"nats-server 1", "nats-server 2", "nats-server 3", "clickhouse-server 1", "clickhouse-server 2"} {
		idle := (u2[name] - u1[name]) * elapsed.Seconds() / idleWin.Seconds()
		_, hwm := procUsage(servers[name])
		t.Logf("%-22s %12.1f %12.0f", name, (u1[name]-u0[name]-idle)*perM, hwm)
	}
	var c uint64
	_ = in.store.Conn().QueryRow(ctx, "SELECT count() FROM earshot.mentions FINAL").Scan(&c)
	if c != uint64(n) {
		t.Errorf("count() FINAL = %d; want %d", c, n)
	}
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
