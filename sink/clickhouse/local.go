package clickhouse

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/earshot-dev/earshot/pipeline"
)

// ErrNoBinary is returned when no clickhouse-server executable is found.
var ErrNoBinary = errors.New("clickhouse-server not found")

// LocalOptions configures StartLocal.
type LocalOptions struct {
	// Dir holds the generated config, the data and the logs (Dir/log).
	// Starting again on the same Dir keeps the data and, when still free,
	// the ports.
	Dir string
	// Binary as in LocalConfig.Binary; empty finds one (FindBinary).
	Binary string
	Logger *slog.Logger
	// StartTimeout bounds the wait for the native port to answer, default 60s.
	StartTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL,
	// default 30s.
	StopTimeout time.Duration
}

// LocalServer is a clickhouse-server child process listening on loopback
// ports, with a generated config and a random password for user "default"
// (stored in Dir/password, mode 0600).
type LocalServer struct {
	dir, addr    string
	passwordFile string
	cmd          *exec.Cmd
	log          *slog.Logger
	stopTimeout  time.Duration

	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited is closed

	stopOnce sync.Once
	stopErr  error

	lock    *os.File         // held while the server runs
	logFrom map[string]int64 // log file sizes at start: tails show only this run
}

// localPorts are remembered in Dir so a restart keeps its address.
type localPorts struct {
	TCP         int `json:"tcp"`
	HTTP        int `json:"http"`
	Interserver int `json:"interserver"`
}

const (
	portsFile    = "earshot-local.json"
	passwordName = "password"
)

// FindBinary returns the command that runs a ClickHouse server: binary when
// set (a path or a name on PATH; the single "clickhouse" binary gets the
// "server" argument), else clickhouse-server from PATH, else
// /usr/sbin/clickhouse-server, else "clickhouse server" from PATH.
func FindBinary(binary string) ([]string, error) {
	withArgs := func(p string) []string {
		if filepath.Base(p) == "clickhouse" {
			return []string{p, "server"}
		}
		return []string{p}
	}
	if binary != "" {
		p, err := exec.LookPath(binary)
		if err != nil {
			return nil, fmt.Errorf("%w: clickhouse.local.binary %q: %w", ErrNoBinary, binary, err)
		}
		return withArgs(p), nil
	}
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return []string{p}, nil
	}
	if p, err := exec.LookPath("/usr/sbin/clickhouse-server"); err == nil {
		return []string{p}, nil
	}
	if p, err := exec.LookPath("clickhouse"); err == nil {
		return []string{p, "server"}, nil
	}
	return nil, fmt.Errorf("%w (looked for clickhouse-server on PATH, /usr/sbin/clickhouse-server and \"clickhouse server\"): "+
		"install it (Debian/Ubuntu: apt-get install clickhouse-server, or run scripts/ensure-clickhouse.sh), "+
		"set clickhouse.local.binary, or set clickhouse.addr to a running server", ErrNoBinary)
}

// StartLocal starts clickhouse-server as a child process with its config,
// data and logs under opts.Dir, on free loopback ports, and returns once the
// native port answers a ping. The child is in its own process group (a
// terminal's Ctrl-C reaches only the parent, which stops it in order) and on
// Linux receives SIGTERM if the parent dies. Call Stop to end it.
func StartLocal(ctx context.Context, opts LocalOptions) (*LocalServer, error) {
	if opts.Dir == "" {
		return nil, errors.New("start local clickhouse: no directory given")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start local clickhouse: %w", err)
	}
	argv, err := FindBinary(opts.Binary)
	if err != nil {
		return nil, fmt.Errorf("start local clickhouse: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 30 * time.Second
	}
	for _, sub := range []string{"data", "tmp", "user_files", "format_schemas", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			return nil, fmt.Errorf("start local clickhouse in %s: %w", dir, err)
		}
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("start local clickhouse: %w", err)
	}
	s, err := startLocalLocked(ctx, dir, argv, opts)
	if err != nil {
		if lock != nil {
			_ = lock.Close()
		}
		return nil, err
	}
	s.lock = lock
	return s, nil
}

func startLocalLocked(ctx context.Context, dir string, argv []string, opts LocalOptions) (*LocalServer, error) {
	password, err := localPassword(dir)
	if err != nil {
		return nil, fmt.Errorf("start local clickhouse in %s: %w", dir, err)
	}
	ports := rememberedPorts(dir)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			ports = localPorts{} // lost a race for a port: pick fresh ones
		}
		if ports, err = freePorts(ports); err != nil {
			return nil, fmt.Errorf("start local clickhouse in %s: %w", dir, err)
		}
		s, err := startLocal(ctx, dir, argv, ports, password, opts)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !errors.Is(err, errPortInUse) {
			break
		}
	}
	return nil, lastErr
}

var errPortInUse = errors.New("port in use")

// runLocked starts cmd from the calling goroutine's OS thread, reports the
// start's error on started and waits for the child; ok is false when it
// did not start.
//
// On Linux the parent-death signal (childSysProcAttr) fires when the
// thread that forked the child ends, not the process. The Go runtime ends
// a thread only when a goroutine locked to it returns still locked. So the
// goroutine holds its thread while the child lives (no other goroutine can
// lock it and end it under the child) and unlocks it before returning:
// returning locked would end the thread and, with it, every other child
// that any goroutine had forked from that thread before (a cluster test's
// ZooKeeper, NATS servers and earshot roles died that way when one
// ClickHouse replica was killed).
func runLocked(cmd *exec.Cmd, started chan<- error) (waitErr error, ok bool) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		started <- err
		return nil, false
	}
	started <- nil
	return cmd.Wait(), true
}

func startLocal(ctx context.Context, dir string, argv []string, ports localPorts, password string, opts LocalOptions) (*LocalServer, error) {
	if err := writeLocalConfig(dir, ports, password); err != nil {
		return nil, fmt.Errorf("start local clickhouse in %s: %w", dir, err)
	}
	out, err := os.OpenFile(filepath.Join(dir, "log", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("start local clickhouse in %s: %w", dir, err)
	}
	defer out.Close()
	logFrom := map[string]int64{}
	for _, name := range logNames {
		if st, err := os.Stat(filepath.Join(dir, "log", name)); err == nil {
			logFrom[name] = st.Size()
		}
	}

	cmd := exec.Command(argv[0], append(argv[1:], "--config-file="+filepath.Join(dir, "config.xml"))...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = childSysProcAttr()
	s := &LocalServer{
		dir:          dir,
		addr:         net.JoinHostPort("127.0.0.1", strconv.Itoa(ports.TCP)),
		passwordFile: filepath.Join(dir, passwordName),
		cmd:          cmd,
		log:          opts.Logger.With("component", "clickhouse-local"),
		stopTimeout:  opts.StopTimeout,
		exited:       make(chan struct{}),
		logFrom:      logFrom,
	}

	started := make(chan error, 1)
	go func() {
		if waitErr, ok := runLocked(cmd, started); ok {
			s.waitErr = waitErr
			close(s.exited)
		}
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start local clickhouse %s: %w", argv[0], err)
	}
	begin := time.Now()
	if err := s.waitReady(ctx, password, opts.StartTimeout); err != nil {
		_ = s.Stop()
		return nil, err
	}
	if err := writePorts(dir, ports); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("start local clickhouse in %s: %w", dir, err)
	}
	s.log.Info("clickhouse-server started", "addr", s.addr, "dir", dir, "pid", cmd.Process.Pid,
		"seconds", time.Since(begin).Seconds())
	return s, nil
}

// waitReady polls the native port with a ping until it answers, the process
// exits, ctx ends or the timeout passes.
func (s *LocalServer) waitReady(ctx context.Context, password string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := ch.Open(&ch.Options{
		Protocol:    ch.Native,
		Addr:        []string{s.addr},
		Auth:        ch.Auth{Username: DefaultUsername, Password: password},
		DialTimeout: time.Second,
	})
	if err != nil {
		return fmt.Errorf("start local clickhouse: %w", err)
	}
	defer conn.Close()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		lastErr = conn.Ping(pctx)
		pcancel()
		if lastErr == nil {
			return nil
		}
		select {
		case <-s.exited:
			tail := s.logTail()
			err := fmt.Errorf("start local clickhouse: %s exited before answering on %s (%v); log tail from %s:\n%s",
				s.cmd.Path, s.addr, s.waitErr, filepath.Join(s.dir, "log"), tail)
			if strings.Contains(tail, "Address already in use") {
				err = fmt.Errorf("%w: %w", errPortInUse, err)
			}
			return err
		case <-ctx.Done():
			return fmt.Errorf("start local clickhouse: %s did not answer on %s within %v (last ping: %v); log tail from %s:\n%s",
				s.cmd.Path, s.addr, timeout, lastErr, filepath.Join(s.dir, "log"), s.logTail())
		case <-tick.C:
		}
	}
}

// Addr is the native protocol address, host:port on loopback.
func (s *LocalServer) Addr() string { return s.addr }

// Dir is the server's directory.
func (s *LocalServer) Dir() string { return s.dir }

// Pid is the server process id (earshot bench reads its CPU time).
func (s *LocalServer) Pid() int { return s.cmd.Process.Pid }

// PasswordFile holds the password of user "default" (for clickhouse-client
// --password "$(cat …)").
func (s *LocalServer) PasswordFile() string { return s.passwordFile }

// ClientConfig returns base pointed at this server: its address, user
// "default" and the password file. Database and dial timeout are kept.
func (s *LocalServer) ClientConfig(base Config) Config {
	base.Addr = s.addr
	base.Username = DefaultUsername
	base.Password = pipeline.SecretRef{File: s.passwordFile}
	return base
}

// Exited is closed when the process has exited, whether by Stop or not.
func (s *LocalServer) Exited() <-chan struct{} { return s.exited }

// Stop sends SIGTERM, waits up to the stop timeout, then SIGKILL. It returns
// an error if the server had already died on its own or had to be killed.
// Safe to call more than once.
func (s *LocalServer) Stop() error {
	s.stopOnce.Do(func() {
		select {
		case <-s.exited:
			s.stopErr = fmt.Errorf("local clickhouse-server (pid %d) had exited on its own: %v; log tail:\n%s",
				s.cmd.Process.Pid, s.waitErr, s.logTail())
			return
		default:
		}
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		t := time.NewTimer(s.stopTimeout)
		defer t.Stop()
		select {
		case <-s.exited:
			s.log.Debug("clickhouse-server stopped", "addr", s.addr, "status", fmt.Sprint(s.waitErr))
		case <-t.C:
			_ = s.cmd.Process.Kill()
			<-s.exited
			s.stopErr = fmt.Errorf("local clickhouse-server (pid %d) did not stop within %v of SIGTERM and was killed",
				s.cmd.Process.Pid, s.stopTimeout)
		}
	})
	if s.lock != nil {
		_ = s.lock.Close()
	}
	return s.stopErr
}

// Kill ends the server at once with SIGKILL (for failure tests) and waits
// for it to exit; Stop after Kill only releases the directory.
func (s *LocalServer) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.stopOnce.Do(func() {})
	if s.lock != nil {
		_ = s.lock.Close()
	}
}

// logTail returns the end of the server's error log and console output.
func (s *LocalServer) logTail() string {
	var b strings.Builder
	for _, name := range logNames {
		if t := tailFile(filepath.Join(s.dir, "log", name), s.logFrom[name], 3000); t != "" {
			fmt.Fprintf(&b, "--- %s\n%s\n", name, t)
		}
	}
	if b.Len() == 0 {
		return "(no log output)"
	}
	return strings.TrimRight(b.String(), "\n")
}

// logNames are the files under Dir/log that logTail shows.
var logNames = []string{"clickhouse-server.err.log", "stdout.log"}

// tailFile returns at most the last n bytes of path written after offset
// from (a rotated, shorter file is read from its start).
func tailFile(path string, from, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	if from > st.Size() {
		from = 0
	}
	cut := false
	if st.Size()-from > n {
		from, cut = st.Size()-n, true
	}
	_, _ = f.Seek(from, io.SeekStart)
	b, _ := io.ReadAll(f)
	if i := bytes.IndexByte(b, '\n'); i >= 0 && cut {
		b = b[i+1:] // start on a whole line
	}
	return strings.TrimRight(string(b), "\n")
}

// localPassword returns the password stored in dir, creating one.
func localPassword(dir string) (string, error) {
	path := filepath.Join(dir, passwordName)
	b, err := os.ReadFile(path)
	if err == nil && len(bytes.TrimSpace(b)) > 0 {
		return string(bytes.TrimSpace(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	pw := hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", err
	}
	return pw, nil
}

func rememberedPorts(dir string) localPorts {
	var p localPorts
	if b, err := os.ReadFile(filepath.Join(dir, portsFile)); err == nil {
		_ = json.Unmarshal(b, &p) // unreadable: pick new ports
	}
	return p
}

func writePorts(dir string, p localPorts) error {
	b, _ := json.Marshal(p)
	return os.WriteFile(filepath.Join(dir, portsFile), append(b, '\n'), 0o640)
}

// freePorts keeps each remembered port that is free and replaces the rest.
func freePorts(p localPorts) (localPorts, error) {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			_ = l.Close()
		}
	}()
	for _, port := range []*int{&p.TCP, &p.HTTP, &p.Interserver} {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
		if err != nil && *port != 0 {
			l, err = net.Listen("tcp", "127.0.0.1:0")
		}
		if err != nil {
			return p, fmt.Errorf("pick a free port: %w", err)
		}
		held = append(held, l) // held until all are picked, so they differ
		*port = l.Addr().(*net.TCPAddr).Port
	}
	return p, nil
}

var configTmpl = template.Must(template.New("config.xml").Parse(`<?xml version="1.0"?>
<!-- Generated by earshot for its managed local server; rewritten at every start. -->
<yandex>
    <logger>
        <level>warning</level>
        <log>{{.Dir}}/log/clickhouse-server.log</log>
        <errorlog>{{.Dir}}/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>{{.Ports.TCP}}</tcp_port>
    <http_port>{{.Ports.HTTP}}</http_port>
    <interserver_http_port>{{.Ports.Interserver}}</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <path>{{.Dir}}/data/</path>
    <tmp_path>{{.Dir}}/tmp/</tmp_path>
    <user_files_path>{{.Dir}}/user_files/</user_files_path>
    <format_schema_path>{{.Dir}}/format_schemas/</format_schema_path>
    <users_config>{{.Dir}}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <max_connections>256</max_connections>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mlock_executable>false</mlock_executable>
</yandex>
`))

var usersTmpl = template.Must(template.New("users.xml").Parse(`<?xml version="1.0"?>
<!-- Generated by earshot for its managed local server; rewritten at every start. -->
<yandex>
    <profiles>
        <default>
            <!-- An idle connection notices shutdown within poll_interval
                 seconds (default 10, which made every stop take 10 s). -->
            <poll_interval>1</poll_interval>
        </default>
    </profiles>
    <users>
        <default>
            <password_sha256_hex>{{.PasswordHash}}</password_sha256_hex>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default></default>
    </quotas>
</yandex>
`))

func writeLocalConfig(dir string, ports localPorts, password string) error {
	if strings.ContainsAny(dir, "<>&\"'") {
		return fmt.Errorf("directory %q: contains a character that cannot go into config.xml unescaped", dir)
	}
	sum := sha256.Sum256([]byte(password))
	data := struct {
		Dir          string
		Ports        localPorts
		PasswordHash string
	}{dir, ports, hex.EncodeToString(sum[:])}
	for _, f := range []struct {
		tmpl *template.Template
		mode os.FileMode
	}{{configTmpl, 0o640}, {usersTmpl, 0o600}} {
		var b bytes.Buffer
		if err := f.tmpl.Execute(&b, data); err != nil {
			return err
		}
		path := filepath.Join(dir, f.tmpl.Name())
		if err := os.WriteFile(path+".tmp", b.Bytes(), f.mode); err != nil {
			return err
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			return err
		}
	}
	return nil
}
