//go:build clusterproof

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/internal/clustertest"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
	"github.com/earshot-dev/earshot/sink/clickhouse"
)

// growingFeeds serves RSS feeds that gain one item per feed every tick
// while growing is on; each serves its newest 400 items, newest first.
type growingFeeds struct {
	mu      sync.Mutex
	n       map[string]int
	growing bool
}

func (g *growingFeeds) grow(names []string, every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			g.mu.Lock()
			if g.growing {
				for _, n := range names {
					g.n[n]++
				}
			}
			g.mu.Unlock()
		}
	}
}

func (g *growingFeeds) total() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := 0
	for _, v := range g.n {
		s += v
	}
	return s
}

func (g *growingFeeds) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	g.mu.Lock()
	n := g.n[name]
	g.mu.Unlock()
	var items []string
	for i := n; i >= 1 && i > n-400; i-- {
		items = append(items, rssItem(fmt.Sprintf("%s-%d", name, i), fmt.Sprintf("https://example.test/%s/%d", name, i),
			fmt.Sprintf("Acme post %d on %s", i, name), fmt.Sprintf("acme is doing things, number %d", i)))
	}
	w.Header().Set("Content-Type", "application/rss+xml")
	_, _ = w.Write([]byte(rssDoc(items...)))
}

// proc is one earshot role running as its own process.
type proc struct {
	name   string
	cmd    *exec.Cmd
	done   chan struct{}
	killed bool // on purpose
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func startProc(t *testing.T, bin, dir, name string, args ...string) *proc {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop() })
	return p
}

func (p *proc) kill() {
	p.killed = true
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.kill()
	}
}

func buildBinaries(t *testing.T, dir string) (earshot, natsServer string) {
	t.Helper()
	earshot, natsServer = filepath.Join(dir, "earshot"), filepath.Join(dir, "nats-server")
	for _, b := range [][]string{{"-o", earshot, "."}, {"-o", natsServer, "github.com/nats-io/nats-server/v2"}} {
		cmd := exec.Command("go", append([]string{"build"}, b...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %v: %v\n%s", b, err, out)
		}
	}
	return earshot, natsServer
}

// TestClusterProof runs earshot's roles as separate processes against a
// three-server NATS cluster (R3, TLS, NKey auth) and a replicated ClickHouse
// cluster (ZooKeeper, TLS) while a steady stream of mentions arrives, and
// kills things: the NATS stream leader (SIGKILL, then back), a ClickHouse
// replica (SIGKILL, then back), one enrich, one sink and one connect
// process. Every mention sent must be stored exactly once, read through the
// Distributed table, with nothing left unacknowledged.
func TestClusterProof(t *testing.T) {
	dir := t.TempDir()
	bin, natsBin := buildBinaries(t, dir)
	nc := clustertest.StartNATSCluster(t, filepath.Join(dir, "nats"), 3, natsBin)
	zk := clustertest.StartZooKeeper(t, filepath.Join(dir, "zk"))
	shards, replicas := 2, 2
	if os.Getenv("EARSHOT_CLUSTER_1X2") != "" {
		shards = 1 // a smaller machine
	}
	chc := clustertest.StartClickHouseCluster(t, filepath.Join(dir, "ch"), zk, nc.Certs, shards, replicas)
	t.Logf("NATS %s; ClickHouse %dx%d %v", nc.URL(), shards, replicas, chc.SecureAddrs())

	feeds := &growingFeeds{n: map[string]int{}}
	fsrv := httptest.NewServer(feeds)
	defer fsrv.Close()
	feedNames := []string{"feed-a", "feed-b"}
	var connectors []map[string]any
	for _, f := range feedNames {
		connectors = append(connectors, map[string]any{"type": "rss", "name": f, "interval": "10s", "jitter": 0.0,
			"feeds": []string{fsrv.URL + "/" + f}})
	}
	chCfg := chc.Config("earshot")
	doc := map[string]any{
		"data_dir": filepath.Join(dir, "data"),
		"log":      map[string]any{"level": "info"},
		"http":     map[string]any{"listen": "off"},
		"nats": map[string]any{
			"url":       strings.Split(nc.URL(), ","),
			"tls":       map[string]any{"ca": nc.Certs.CA, "cert": nc.Certs.ClientCert, "key": nc.Certs.ClientKey},
			"nkey_file": nc.User.SeedFile,
			"streams":   map[string]any{"replicas": 3, "max_bytes": 256 << 20},
		},
		"clickhouse": map[string]any{
			"addrs": chCfg.Endpoints(), "cluster": chCfg.Cluster, "database": "earshot",
			"password": map[string]any{"file": chCfg.Password.File}, "tls": map[string]any{"ca": chCfg.TLS.CA},
		},
		"topics":     []map[string]any{{"id": "acme", "query": "acme"}},
		"enrich":     map[string]any{"workers": 2, "consumer": map[string]any{"ack_wait": "20s"}},
		"sink":       map[string]any{"flush_interval": "300ms", "workers": 1, "consumer": map[string]any{"ack_wait": "20s"}},
		"detect":     map[string]any{"kv_replicas": 3, "lease_ttl": "6s"},
		"connect":    map[string]any{"lease_ttl": "6s"},
		"connectors": connectors,
	}
	raw, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "earshot.yaml")
	if err := os.WriteFile(cfgFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseConfig(cfgFile, raw); err != nil {
		t.Fatalf("config: %v\n%s", err, raw)
	}

	// migrate creates the schema on the cluster, the R3 streams, buckets
	// and consumers, before any role starts.
	if out, err := exec.Command(bin, "migrate", "--config", cfgFile).CombinedOutput(); err != nil {
		t.Fatalf("earshot migrate: %v\n%s", err, out)
	} else {
		t.Logf("migrate: %s", strings.TrimSpace(string(out)))
	}

	logs := filepath.Join(dir, "logs")
	_ = os.MkdirAll(logs, 0o755)
	keepLogsOnFailure(t, dir)
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range []string{"enrich-1", "sink-1", "connect-1", "detect-1"} {
				if b, err := os.ReadFile(filepath.Join(logs, name+".log")); err == nil {
					t.Logf("--- %s log (tail):\n%s", name, lastBytes(string(b), 3000))
				}
			}
		}
	})
	var roles []*proc
	role := func(r string, i int) *proc {
		p := startProc(t, bin, logs, fmt.Sprintf("%s-%d", r, i), r, "--config", cfgFile)
		roles = append(roles, p)
		return p
	}
	enrich := []*proc{role("enrich", 1), role("enrich", 2)}
	sinks := []*proc{role("sink", 1), role("sink", 2)}
	connects := []*proc{role("connect", 1), role("connect", 2)}
	role("detect", 1)

	stopGrow := make(chan struct{})
	feeds.mu.Lock()
	feeds.growing = true
	feeds.mu.Unlock()
	go feeds.grow(feedNames, 200*time.Millisecond, stopGrow) // 10 mentions/s over both feeds
	defer close(stopGrow)

	_, js := nc.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	step := func(d time.Duration, what string) {
		time.Sleep(d)
		t.Logf("%s (sent so far %d)", what, feeds.total())
	}

	// The two connect replicas run one feed each.
	kv, err := js.KeyValue(ctx, pipeline.ConnectBucket)
	if err != nil {
		t.Fatal(err)
	}
	holderPid := func(item string) int {
		e, err := kv.Get(ctx, "items."+item)
		if err != nil {
			return 0
		}
		var v struct{ Holder string }
		_ = json.Unmarshal(e.Value(), &v)
		parts := strings.Split(v.Holder, "-")
		if len(parts) < 3 {
			return 0
		}
		pid, _ := strconv.Atoi(parts[len(parts)-2])
		return pid
	}
	pids := map[int]bool{connects[0].cmd.Process.Pid: true, connects[1].cmd.Process.Pid: true}
	pipelinetest.WaitFor(t, time.Minute, "each connect replica to run one feed", func() bool {
		a, b := holderPid(feedNames[0]), holderPid(feedNames[1])
		return a != b && pids[a] && pids[b]
	})

	step(10*time.Second, "killing the NATS leader of MENTIONS")
	leader, err := nc.WaitStreamLeader(ctx, js, pipeline.StreamMentions, -1)
	if err != nil {
		t.Fatal(err)
	}
	nc.Kill(leader)
	step(15*time.Second, fmt.Sprintf("restarting NATS node %d", leader))
	nc.Restart(leader)
	step(5*time.Second, "killing ClickHouse replica 1 of shard 1")
	chc.Kill(0)
	step(15*time.Second, "restarting ClickHouse replica 1")
	chc.Start(0)
	step(5*time.Second, "killing enrich-1, sink-1 and connect-1 (SIGKILL)")
	enrich[0].kill()
	sinks[0].kill()
	connects[0].kill()
	killed := time.Now()
	survivor := connects[1].cmd.Process.Pid
	pipelinetest.WaitFor(t, time.Minute, "connect-2 to run both feeds", func() bool {
		return holderPid(feedNames[0]) == survivor && holderPid(feedNames[1]) == survivor
	})
	// Within one lease period (6s) of the kill: 7/8 of it by design
	// (pipeline.Shares; TestSharesSpreadAndTakeOver holds it to that).
	t.Logf("connect-2 took over connect-1's feed %v after the kill (lease_ttl 6s)", time.Since(killed).Round(100*time.Millisecond))
	step(15*time.Second, "stopping the stream")
	feeds.mu.Lock()
	feeds.growing = false
	feeds.mu.Unlock()
	sent := feeds.total()
	t.Logf("sent %d mentions", sent)
	// Every process not killed on purpose still runs: one that died on its
	// own would make a shortfall say nothing about earshot.
	checkAlive := func(when string) {
		for _, d := range clustertest.Dead(zk, nc, chc) {
			t.Errorf("%s: %s exited on its own", when, d)
		}
		for _, p := range roles {
			if !p.killed && p.exited() {
				t.Errorf("%s: %s (pid %d) exited on its own: see its log", when, p.name, p.cmd.Process.Pid)
			}
		}
	}
	checkAlive("when the stream stopped")

	st, err := clickhouse.Open(ctx, chCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	count := func(q string) uint64 {
		var n uint64
		if err := st.Conn().QueryRow(ctx, q).Scan(&n); err != nil {
			t.Logf("%s: %v", q, err)
			return 0
		}
		return n
	}
	idle := func() bool {
		for _, c := range [][2]string{{pipeline.StreamMentions, "enrich"}, {pipeline.StreamEnriched, "sink"}, {pipeline.StreamEnriched, "detect"}} {
			cons, err := js.Consumer(ctx, c[0], c[1])
			if err != nil {
				return false
			}
			info, err := cons.Info(ctx)
			if err != nil || info.NumPending != 0 || info.NumAckPending != 0 {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(3 * time.Minute)
	var stored uint64
	for {
		stored = count("SELECT count() FROM earshot.mentions FINAL")
		if stored >= uint64(sent) && idle() {
			break
		}
		if time.Now().After(deadline) {
			// Say where the rest went: dead letters, or each node's share.
			dl, err := pipeline.ListDeadLetters(ctx, js, pipeline.DeadLetterFilter{}, 5)
			for _, d := range dl {
				t.Logf("dead letter: stage %s, mention %s: %s", d.Stage, d.MentionID, d.Reason)
			}
			for i, addr := range chc.Addrs() {
				t.Logf("node %d holds %d (FINAL)", i, count(fmt.Sprintf("SELECT count() FROM remote('%s', earshot.mentions_local, 'default', '%s') FINAL", addr, chc.Password)))
				logReplicaState(t, ctx, st, addr, chc.Password)
			}
			logStreams(t, ctx, js)
			checkAlive("after the shortfall")
			t.Fatalf("after 3 minutes: %d of %d mentions stored, consumers idle: %v, dead letters listed: %d (%v)", stored, sent, idle(), len(dl), err)
		}
		time.Sleep(2 * time.Second)
	}
	logPubAckTimeouts(t, logs)
	uniq := count("SELECT uniqExact(id) FROM earshot.mentions")
	t.Logf("stored: count() FINAL = %d, uniqExact(id) = %d, sent = %d", stored, uniq, sent)
	if stored != uint64(sent) || uniq != uint64(sent) {
		t.Errorf("count() FINAL = %d, uniqExact(id) = %d; want both %d (every mention sent, exactly once)", stored, uniq, sent)
	}
	// Every replica caught up with its shard, and the shards together hold
	// every mention once.
	perShard := map[int]uint64{}
	for i, addr := range chc.Addrs() {
		q := fmt.Sprintf("SELECT count() FROM remote('%s', earshot.mentions_local, 'default', '%s') FINAL", addr, chc.Password)
		nd := chc.Nodes[i]
		var n uint64
		rdeadline := time.Now().Add(time.Minute)
		for n = count(q); time.Now().Before(rdeadline); n = count(q) {
			if have, ok := perShard[nd.Shard]; (ok && n == have) || (!ok && n > 0) {
				break
			}
			time.Sleep(time.Second)
		}
		t.Logf("ClickHouse node %d (shard %d, replica %d) holds %d", i, nd.Shard, nd.Replica, n)
		if have, ok := perShard[nd.Shard]; ok && n != have {
			t.Errorf("shard %d: replica %d holds %d mentions, replica 1 holds %d", nd.Shard, nd.Replica, n, have)
		}
		perShard[nd.Shard] = n
	}
	var total uint64
	for _, n := range perShard {
		total += n
	}
	if total != uint64(sent) {
		t.Errorf("the shards hold %d mentions together; want %d", total, sent)
	}
	// Nothing unacknowledged, and no reader other than the durable consumers.
	for _, s := range []string{pipeline.StreamMentions, pipeline.StreamEnriched} {
		stream, err := js.Stream(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		for info := range stream.ListConsumers(ctx).Info() {
			if info.NumAckPending != 0 || info.NumPending != 0 {
				t.Errorf("consumer %s on %s: %d pending, %d unacknowledged", info.Name, s, info.NumPending, info.NumAckPending)
			}
		}
	}
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
