package clustertest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATSCluster is n NATS servers in one cluster with JetStream. Clients must
// use TLS with a client certificate signed by Certs.CA and sign in as User.
type NATSCluster struct {
	Certs *Certs
	User  NKeyUser
	Nodes []*NATSNode
	// Binary runs each server as its own process (nats-server -c FILE);
	// empty runs them in this process.
	Binary string
	t      testing.TB
}

// NATSNode is one server of the cluster.
type NATSNode struct {
	Name, Dir, ConfigFile string
	Port, RoutePort       int
	srv                   *server.Server
	cmd                   *exec.Cmd
	exited                chan struct{}
}

// StartNATSCluster starts n clustered servers with their stores under dir.
// binary, when set, is a nats-server executable to run each server as a
// process. Everything stops at cleanup.
func StartNATSCluster(t testing.TB, dir string, n int, binary string) *NATSCluster {
	t.Helper()
	c := &NATSCluster{Certs: NewCerts(t, filepath.Join(dir, "certs")), Binary: binary, t: t}
	c.User = NewNKeyUser(t, filepath.Join(dir, "certs"))
	ports := FreePorts(t, 2*n)
	var routes []string
	for i := range n {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[n+i]))
	}
	for i := range n {
		nd := &NATSNode{Name: fmt.Sprintf("n%d", i+1), Dir: filepath.Join(dir, fmt.Sprintf("n%d", i+1)), Port: ports[i], RoutePort: ports[n+i]}
		if err := os.MkdirAll(nd.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
		nd.ConfigFile = filepath.Join(nd.Dir, "nats.conf")
		conf := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
max_payload: 8MB
jetstream { store_dir: %q, max_file_store: 2GB, max_memory_store: 64MB }
tls { cert_file: %q, key_file: %q, ca_file: %q, verify: true, timeout: 5 }
authorization { users: [ { nkey: %s } ] }
cluster { name: earshot-test, listen: 127.0.0.1:%d, routes: [%s] }
`, nd.Name, nd.Port, filepath.Join(nd.Dir, "js"), c.Certs.ServerCert, c.Certs.ServerKey, c.Certs.CA, c.User.Public, nd.RoutePort, strings.Join(routes, ", "))
		if err := os.WriteFile(nd.ConfigFile, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		c.Nodes = append(c.Nodes, nd)
	}
	t.Cleanup(func() {
		for i := range c.Nodes {
			c.Stop(i)
		}
	})
	for i := range c.Nodes {
		c.Start(i)
	}
	for i := range c.Nodes {
		c.waitReady(i, 30*time.Second)
	}
	return c
}

// URL is every server, comma-separated, for nats.url.
func (c *NATSCluster) URL() string {
	var us []string
	for _, nd := range c.Nodes {
		us = append(us, fmt.Sprintf("tls://127.0.0.1:%d", nd.Port))
	}
	return strings.Join(us, ",")
}

// ClientOptions connect a test client the way earshot's config does.
func (c *NATSCluster) ClientOptions() []nats.Option {
	nk, err := nats.NkeyOptionFromSeed(c.User.SeedFile)
	if err != nil {
		c.t.Fatal(err)
	}
	return []nats.Option{nk, nats.RootCAs(c.Certs.CA), nats.ClientCert(c.Certs.ClientCert, c.Certs.ClientKey),
		nats.MaxReconnects(-1), nats.ReconnectWait(100 * time.Millisecond)}
}

// Connect returns a JetStream client of the cluster, closed at cleanup.
func (c *NATSCluster) Connect(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(c.URL(), c.ClientOptions()...)
	if err != nil {
		t.Fatalf("connect to the NATS cluster: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// Start starts (or restarts, on its store) node i.
func (c *NATSCluster) Start(i int) {
	c.t.Helper()
	nd := c.Nodes[i]
	if c.Binary != "" {
		cmd := exec.Command(c.Binary, "-c", nd.ConfigFile)
		logf, err := os.OpenFile(filepath.Join(nd.Dir, "nats.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			c.t.Fatal(err)
		}
		defer logf.Close()
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			c.t.Fatalf("start %s: %v", c.Binary, err)
		}
		nd.cmd, nd.exited = cmd, make(chan struct{})
		go func(ch chan struct{}) { _ = cmd.Wait(); close(ch) }(nd.exited)
		return
	}
	opts, err := server.ProcessConfigFile(nd.ConfigFile)
	if err != nil {
		c.t.Fatalf("nats config %s: %v", nd.ConfigFile, err)
	}
	opts.NoSigs, opts.NoLog = true, true
	s, err := server.NewServer(opts)
	if err != nil {
		c.t.Fatalf("nats server %s: %v", nd.Name, err)
	}
	go s.Start()
	nd.srv = s
}

func (c *NATSCluster) waitReady(i int, d time.Duration) {
	c.t.Helper()
	nd := c.Nodes[i]
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(nd.Port), time.Second)
		if err == nil {
			_ = conn.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("nats server %s not listening on %d within %v (log: %s)", nd.Name, nd.Port, d, filepath.Join(nd.Dir, "nats.log"))
}

// Restart starts node i again and waits for it to listen.
func (c *NATSCluster) Restart(i int) {
	c.t.Helper()
	c.Start(i)
	c.waitReady(i, 30*time.Second)
}

// Pid is node i's process id (0 in process or when stopped).
func (c *NATSCluster) Pid(i int) int {
	if nd := c.Nodes[i]; nd.cmd != nil {
		return nd.cmd.Process.Pid
	}
	return 0
}

// Kill ends node i at once: SIGKILL for a process, an abrupt shutdown in
// process.
func (c *NATSCluster) Kill(i int) {
	nd := c.Nodes[i]
	if nd.cmd != nil {
		_ = syscall.Kill(-nd.cmd.Process.Pid, syscall.SIGKILL)
		<-nd.exited
		nd.cmd = nil
		return
	}
	if nd.srv != nil {
		nd.srv.Shutdown()
		nd.srv.WaitForShutdown()
		nd.srv = nil
	}
}

// Stop ends node i (at cleanup).
func (c *NATSCluster) Stop(i int) {
	nd := c.Nodes[i]
	if nd.cmd != nil {
		_ = syscall.Kill(-nd.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-nd.exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-nd.cmd.Process.Pid, syscall.SIGKILL)
			<-nd.exited
		}
		nd.cmd = nil
		return
	}
	c.Kill(i)
}

// StreamInfoAttempt bounds one stream info request of StreamLeader.
//
// In a cluster only a stream's leader answers its info request. The other
// servers stay silent while they believe the group has a leader, so that
// the leader's answer is the one the client gets; they answer for it only
// once the group has had no leader for a while. So right after a leader
// is killed, or while a loaded cluster elects one, a request can get no
// answer at all, and the client waits for its context. nats.go bounds
// that wait by 5 s only for a context without a deadline: given a test's
// context of minutes, one unanswered request took all of it. Each request
// gets this bound instead, and is asked again.
var StreamInfoAttempt = 5 * time.Second

// StreamLeader returns the index of the node leading stream name, from
// one stream info request bounded by StreamInfoAttempt.
func (c *NATSCluster) StreamLeader(ctx context.Context, js jetstream.JetStream, name string) (int, error) {
	actx, cancel := context.WithTimeout(ctx, StreamInfoAttempt)
	defer cancel()
	s, err := js.Stream(actx, name)
	if err != nil {
		return -1, err
	}
	info := s.CachedInfo()
	if info.Cluster == nil || info.Cluster.Leader == "" {
		return -1, fmt.Errorf("stream %s has no leader now", name)
	}
	for i, nd := range c.Nodes {
		if nd.Name == info.Cluster.Leader {
			return i, nil
		}
	}
	return -1, fmt.Errorf("stream %s: leader %q is not a node of this cluster", name, info.Cluster.Leader)
}

// WaitStreamLeader asks StreamLeader until a node other than not (-1: any
// node) leads stream name, and returns it. When ctx ends first it returns
// the last answer's error, with how many requests went unanswered.
func (c *NATSCluster) WaitStreamLeader(ctx context.Context, js jetstream.JetStream, name string, not int) (int, error) {
	var unanswered int
	for {
		leader, err := c.StreamLeader(ctx, js, name)
		if err == nil && leader != not {
			return leader, nil
		}
		if err == nil {
			err = fmt.Errorf("stream %s is still led by node %d", name, leader)
		} else if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			unanswered++
			c.t.Logf("stream %s: an info request went unanswered within %v; asking again", name, StreamInfoAttempt)
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return -1, fmt.Errorf("%w (%d of the stream info requests unanswered within %v)", err, unanswered, StreamInfoAttempt)
		case <-t.C:
		}
	}
}

// MetaLeaderAttempt bounds one account info request of WaitMetaLeader: a
// fresh cluster elects its meta leader within about half a second, and a
// request sent before that is never answered.
var MetaLeaderAttempt = time.Second

// WaitMetaLeader waits until the cluster's JetStream has a meta leader
// (account info, which only the meta leader answers, is answered), each
// request bounded by MetaLeaderAttempt. Until then the servers leave
// JetStream requests unanswered, so the first stream lookup of a test that
// starts at once waited for its whole attempt (pipeline's ensureAttempt,
// 10 s). It returns the last error when ctx ends first.
func (c *NATSCluster) WaitMetaLeader(ctx context.Context, js jetstream.JetStream) error {
	for {
		actx, cancel := context.WithTimeout(ctx, MetaLeaderAttempt)
		_, err := js.AccountInfo(actx)
		cancel()
		if err == nil {
			return nil
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("no JetStream meta leader: %w", err)
		case <-t.C:
		}
	}
}
