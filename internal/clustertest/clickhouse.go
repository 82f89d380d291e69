package clustertest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
)

// ZooKeeper is a standalone ZooKeeper server process (Debian's zookeeper
// package, run with java), for ClickHouse replication.
type ZooKeeper struct {
	Port   int
	cmd    *exec.Cmd
	exited chan struct{}
}

// ZooKeeperJar is where Debian's zookeeper package puts the server.
const ZooKeeperJar = "/usr/share/java/zookeeper.jar"

// StartZooKeeper starts ZooKeeper with its data under dir, stopped at cleanup.
func StartZooKeeper(t testing.TB, dir string) *ZooKeeper {
	t.Helper()
	if _, err := os.Stat(ZooKeeperJar); err != nil {
		t.Fatalf("ZooKeeper is not installed (%v): run scripts/ensure-cluster-tools.sh (apt-get install zookeeper)", err)
	}
	java, err := exec.LookPath("java")
	if err != nil {
		t.Fatalf("java not found for ZooKeeper: %v (apt-get install zookeeper installs it)", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	zk := &ZooKeeper{Port: FreePorts(t, 1)[0]}
	cp := ZooKeeperJar
	if _, err := os.Stat("/etc/zookeeper/conf"); err == nil {
		cp = "/etc/zookeeper/conf:" + cp
	}
	zk.cmd = exec.Command(java, "-Xmx128m", "-XX:+UseSerialGC", "-Dzookeeper.4lw.commands.whitelist=ruok,srvr",
		"-Dzookeeper.admin.enableServer=false", "-cp", cp,
		"org.apache.zookeeper.server.ZooKeeperServerMain", strconv.Itoa(zk.Port), filepath.Join(dir, "data"))
	logf, err := os.Create(filepath.Join(dir, "zookeeper.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	zk.cmd.Stdout, zk.cmd.Stderr = logf, logf
	zk.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := zk.cmd.Start(); err != nil {
		t.Fatalf("start ZooKeeper: %v", err)
	}
	zk.exited = make(chan struct{})
	go func() { _ = zk.cmd.Wait(); close(zk.exited) }()
	t.Cleanup(func() { _ = syscall.Kill(-zk.cmd.Process.Pid, syscall.SIGKILL); <-zk.exited })
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if serving(zk.Port) {
			return zk
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("ZooKeeper did not answer on %d within 60s (log %s)", zk.Port, filepath.Join(dir, "zookeeper.log"))
	return nil
}

// serving reports whether ZooKeeper serves sessions ("srvr" shows its
// mode only then; "ruok" answers earlier). A ClickHouse 18.16 started
// against a ZooKeeper not yet serving can crash on its first DDL ON CLUSTER.
func serving(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("srvr")); err != nil {
		return false
	}
	b, _ := io.ReadAll(bufio.NewReader(c))
	return strings.Contains(string(b), "Mode: standalone")
}

// ClickHouseCluster is shards x replicas clickhouse-server processes on
// loopback forming cluster Name, replicated through ZooKeeper, each also
// listening for TLS on the secure native port.
type ClickHouseCluster struct {
	Name     string
	Nodes    []*CHNode
	Password string
	Certs    *Certs
	t        testing.TB
}

// CHNode is one server.
type CHNode struct {
	Shard, Replica    int
	Dir               string
	TCP, Secure, HTTP int
	Local             *clickhouse.LocalServer
}

// StartClickHouseCluster starts the cluster with its servers under dir,
// stopped at cleanup.
func StartClickHouseCluster(t testing.TB, dir string, zk *ZooKeeper, certs *Certs, shards, replicas int) *ClickHouseCluster {
	t.Helper()
	if _, err := clickhouse.FindBinary(""); err != nil {
		t.Fatalf("%v (run scripts/ensure-clickhouse.sh)", err)
	}
	c := &ClickHouseCluster{Name: "earshot_test", Password: "cluster-test-password", Certs: certs, t: t}
	n := shards * replicas
	ports := FreePorts(t, 4*n)
	for s := range shards {
		for r := range replicas {
			i := s*replicas + r
			c.Nodes = append(c.Nodes, &CHNode{Shard: s + 1, Replica: r + 1, Dir: filepath.Join(dir, fmt.Sprintf("ch-s%d-r%d", s+1, r+1)),
				TCP: ports[4*i], HTTP: ports[4*i+1], Secure: ports[4*i+3]})
			_ = ports[4*i+2] // interserver
		}
	}
	var remote strings.Builder
	for s := range shards {
		remote.WriteString("<shard><internal_replication>true</internal_replication>")
		for r := range replicas {
			nd := c.Nodes[s*replicas+r]
			fmt.Fprintf(&remote, "<replica><host>127.0.0.1</host><port>%d</port><user>default</user><password>%s</password></replica>", nd.TCP, c.Password)
		}
		remote.WriteString("</shard>")
	}
	for i, nd := range c.Nodes {
		if err := os.MkdirAll(filepath.Join(nd.Dir, "config.d"), 0o755); err != nil {
			t.Fatal(err)
		}
		// The managed server keeps the ports it finds in this file, and the
		// password in "password".
		pj, _ := json.Marshal(map[string]int{"tcp": nd.TCP, "http": nd.HTTP, "interserver": ports[4*i+2]})
		mustWrite(t, filepath.Join(nd.Dir, "earshot-local.json"), pj)
		mustWrite(t, filepath.Join(nd.Dir, "password"), []byte(c.Password+"\n"))
		extra := fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
    <zookeeper><node><host>127.0.0.1</host><port>%d</port></node><session_timeout_ms>10000</session_timeout_ms></zookeeper>
    <remote_servers><%s>%s</%s></remote_servers>
    <macros><shard>%02d</shard><replica>r%d</replica></macros>
    <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
    <tcp_port_secure>%d</tcp_port_secure>
    <openSSL>
        <server>
            <certificateFile>%s</certificateFile>
            <privateKeyFile>%s</privateKeyFile>
            <verificationMode>none</verificationMode>
            <loadDefaultCAFile>false</loadDefaultCAFile>
            <cacheSessions>true</cacheSessions>
            <disableProtocols>sslv2,sslv3</disableProtocols>
            <preferServerCiphers>true</preferServerCiphers>
        </server>
    </openSSL>
</yandex>
`, zk.Port, c.Name, remote.String(), c.Name, nd.Shard, nd.Replica, nd.Secure, certs.ServerCert, certs.ServerKey)
		mustWrite(t, filepath.Join(nd.Dir, "config.d", "cluster.xml"), []byte(extra))
	}
	t.Cleanup(func() {
		for _, nd := range c.Nodes {
			if nd.Local != nil {
				_ = nd.Local.Stop()
			}
		}
	})
	for i := range c.Nodes {
		c.Start(i)
	}
	return c
}

func mustWrite(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Start starts (or restarts, on its data) node i.
func (c *ClickHouseCluster) Start(i int) {
	c.t.Helper()
	nd := c.Nodes[i]
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// After a SIGKILL the replica's old ZooKeeper session lives on until
	// its timeout (10 s), and 18.16 exits at start while its ephemeral
	// is_active node still exists: start again until the session expired.
	var ls *clickhouse.LocalServer
	var err error
	for {
		ls, err = clickhouse.StartLocal(ctx, clickhouse.LocalOptions{Dir: nd.Dir, StopTimeout: 15 * time.Second})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			c.t.Fatalf("clickhouse node %d: %v", i, err)
		}
		c.t.Logf("clickhouse node %d did not start (trying again in 3 s, its old ZooKeeper session may still be open): %.200v", i, err)
		time.Sleep(3 * time.Second)
	}
	if want := "127.0.0.1:" + strconv.Itoa(nd.TCP); ls.Addr() != want {
		_ = ls.Stop()
		c.t.Fatalf("clickhouse node %d came up on %s, want %s (port taken?)", i, ls.Addr(), want)
	}
	nd.Local = ls
	// Open the server's ZooKeeper session before any DDL ON CLUSTER:
	// 18.16 crashes on one sent before it (see Store.Migrate).
	st, err := clickhouse.Open(ctx, ls.ClientConfig(clickhouse.Config{Database: "default"}))
	if err != nil {
		c.t.Fatalf("clickhouse node %d: %v", i, err)
	}
	defer st.Close()
	for {
		var n uint64
		err := st.Conn().QueryRow(ctx, "SELECT count() FROM system.zookeeper WHERE path = '/'").Scan(&n)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			c.t.Fatalf("clickhouse node %d: no ZooKeeper session: %v", i, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Kill ends node i with SIGKILL.
func (c *ClickHouseCluster) Kill(i int) {
	if nd := c.Nodes[i]; nd.Local != nil {
		nd.Local.Kill()
		nd.Local = nil
	}
}

// Addrs are the plain native addresses of every node.
func (c *ClickHouseCluster) Addrs() []string {
	var out []string
	for _, nd := range c.Nodes {
		out = append(out, "127.0.0.1:"+strconv.Itoa(nd.TCP))
	}
	return out
}

// SecureAddrs are the TLS native addresses of every node.
func (c *ClickHouseCluster) SecureAddrs() []string {
	var out []string
	for _, nd := range c.Nodes {
		out = append(out, "127.0.0.1:"+strconv.Itoa(nd.Secure))
	}
	return out
}

// PasswordFile holds the password of user default on every node.
func (c *ClickHouseCluster) PasswordFile() string { return filepath.Join(c.Nodes[0].Dir, "password") }

// Config is a clickhouse config for database db on the cluster over TLS.
func (c *ClickHouseCluster) Config(db string) clickhouse.Config {
	return clickhouse.Config{
		Addrs: clickhouse.AddrList(strings.Join(c.SecureAddrs(), ",")), Cluster: c.Name, Database: db, Username: "default",
		Password: pipeline.SecretRef{File: c.PasswordFile()},
		TLS:      &clickhouse.TLSConfig{CA: c.Certs.CA},
	}
}
