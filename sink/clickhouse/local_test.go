package clickhouse_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
	"github.com/earshot-dev/earshot/sink/clickhouse"
	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

// startLocal starts a private server in dir (not the shared one), for tests
// that stop it.
func startLocal(t *testing.T, dir string) *clickhouse.LocalServer {
	t.Helper()
	chtest.Start(t) // fails with install instructions when there is no server binary
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ls, err := clickhouse.StartLocal(ctx, clickhouse.LocalOptions{Dir: dir, Logger: pipelinetest.Logger(t)})
	if err != nil {
		t.Fatalf("StartLocal(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = ls.Stop() })
	return ls
}

func TestWriteWhileServerStopped(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	ls := startLocal(t, dir)
	st, err := clickhouse.Open(ctx, ls.ClientConfig(clickhouse.Config{DialTimeout: 2 * time.Second}))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	ms := sampleMentions(20, time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	if err := st.Write(ctx, ms[:10]); err != nil {
		t.Fatalf("Write before stop: %v", err)
	}
	addr := ls.Addr()
	if err := ls.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	err = st.Write(ctx, ms[10:])
	if err == nil || !clickhouse.Retryable(err) || !errors.Is(err, clickhouse.ErrUnavailable) {
		t.Fatalf("Write while stopped = %v; want a retryable ErrUnavailable", err)
	}
	if err := st.Ping(ctx); err == nil || !clickhouse.Retryable(err) {
		t.Errorf("Ping while stopped = %v; want a retryable error", err)
	}

	ls2 := startLocal(t, dir)
	if ls2.Addr() != addr {
		t.Fatalf("restart on the same dir: Addr() = %s; want %s (the remembered port)", ls2.Addr(), addr)
	}
	// The same Store recovers by itself: the pool dials again.
	pipelinetest.WaitFor(t, 10*time.Second, "ping after restart", func() bool { return st.Ping(ctx) == nil })
	if err := st.Write(ctx, ms[10:]); err != nil {
		t.Fatalf("Write after restart: %v", err)
	}
	if err := st.Write(ctx, ms); err != nil { // the caller's retry of everything
		t.Fatalf("Write all after restart: %v", err)
	}
	if got := queryUint(t, st, "SELECT count() FROM $db.mentions FINAL"); got != 20 {
		t.Errorf("count() FINAL after restart = %d; want 20 (data kept across restart, no duplicates)", got)
	}
}

func TestStartLocalErrors(t *testing.T) {
	ctx := testCtx(t)
	_, err := clickhouse.StartLocal(ctx, clickhouse.LocalOptions{Dir: t.TempDir(), Binary: "/nonexistent/clickhouse-server"})
	if !errors.Is(err, clickhouse.ErrNoBinary) {
		t.Errorf("StartLocal(missing binary) = %v; want ErrNoBinary", err)
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := exec.LookPath("/usr/sbin/clickhouse-server"); err != nil {
		_, err := clickhouse.FindBinary("")
		if !errors.Is(err, clickhouse.ErrNoBinary) || !strings.Contains(err.Error(), "apt-get install clickhouse-server") ||
			!strings.Contains(err.Error(), "clickhouse.addr") {
			t.Errorf("FindBinary with nothing installed = %v; want install instructions", err)
		}
	}

	_, err = clickhouse.StartLocal(ctx, clickhouse.LocalOptions{Dir: t.TempDir(), Binary: "/bin/false"})
	if err == nil || !strings.Contains(err.Error(), "exited before answering") {
		t.Errorf("StartLocal(/bin/false) = %v; want 'exited before answering'", err)
	}
}

// TestLocalServer checks the client config of a managed server and that a
// second server is refused on its directory.
func TestLocalServer(t *testing.T) {
	dir := t.TempDir()
	ls := startLocal(t, dir)
	cfg := ls.ClientConfig(clickhouse.Config{Database: "analytics", DialTimeout: 3 * time.Second})
	want := clickhouse.Config{Addr: ls.Addr(), Database: "analytics", Username: "default",
		Password: pipeline.SecretRef{File: filepath.Join(dir, "password")}, DialTimeout: 3 * time.Second}
	if cfg != want {
		t.Errorf("ClientConfig = %+v; want %+v", cfg, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("ClientConfig().Validate() = %v", err)
	}
	st, err := os.Stat(filepath.Join(dir, "password"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("password file mode = %v, %v; want 0600", st, err)
	}

	_, err = clickhouse.StartLocal(testCtx(t), clickhouse.LocalOptions{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "in use by another managed clickhouse-server") {
		t.Fatalf("second StartLocal on a dir in use = %v; want 'in use'", err)
	}
}

// TestLocalDiesWithParent runs a helper process that starts a server and
// is then killed with SIGKILL: the server must go too.
func TestLocalDiesWithParent(t *testing.T) {
	if dir := os.Getenv("EARSHOT_CHTEST_HELPER_DIR"); dir != "" {
		ls, err := clickhouse.StartLocal(context.Background(), clickhouse.LocalOptions{Dir: dir})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("ready", ls.Addr())
		select {}
	}
	chtest.Start(t)
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLocalDiesWithParent$")
	cmd.Env = append(os.Environ(), "EARSHOT_CHTEST_HELPER_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if !strings.HasPrefix(line, "ready ") {
		t.Fatalf("helper said %q, %v; want ready", line, err)
	}
	pid := serverPID(t, dir)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	pipelinetest.WaitFor(t, 30*time.Second, fmt.Sprintf("clickhouse-server pid %d to exit after its parent died", pid), func() bool {
		return !alive(pid)
	})
}

// serverPID reads the pid the server wrote to its status file.
func serverPID(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "data", "status"))
	if err != nil {
		t.Fatalf("read status file: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PID: "); ok {
			pid, err := strconv.Atoi(strings.TrimSpace(v))
			if err == nil {
				return pid
			}
		}
	}
	t.Fatalf("no PID in status file: %q", b)
	return 0
}

// alive reports whether pid runs (a zombie nobody reaped counts as dead).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}
