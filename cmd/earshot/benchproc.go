package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// Helpers of `earshot bench` that run the servers and earshot as separate
// processes, so the CPU time of each is read from /proc on its own.

// benchChildEnv marks a process started by `earshot bench` (a test binary
// dispatches on it to run Main instead of the tests).
const benchChildEnv = "EARSHOT_BENCH_CHILD"

func init() {
	// bench-natsd is not a user command: `earshot bench` runs the embedded
	// NATS server in a process of its own with it, to measure its CPU.
	register("bench-natsd", func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := newFlagSet("bench-natsd", stderr)
		dir := fs.String("dir", "", "JetStream storage `dir`")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if *dir == "" {
			return fmt.Errorf("%w: --dir is required", errUsage)
		}
		srv, err := pipeline.StartEmbeddedNATS(pipeline.EmbeddedNATSOptions{Dir: *dir, Port: -1})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, srv.ClientURL())
		<-ctx.Done()
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil
	})
}

// profileEnv names a file: a process started by `earshot bench --profile
// DIR` writes its CPU profile there while it runs (go tool pprof).
const profileEnv = "EARSHOT_BENCH_CPUPROFILE"

// startProfile starts the CPU profile profileEnv asks for, if any. The
// heap profile next to it (.heap.pprof) is written when ctx is done (the
// bench stops the process), before the roles let go of their state: the
// live heap it shows is that of the last collection while they ran. If the
// command returns first, stop writes it.
func startProfile(ctx context.Context) (stop func()) {
	path := os.Getenv(profileEnv)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	var once sync.Once
	writeHeap := func() {
		once.Do(func() {
			if h, err := os.Create(strings.TrimSuffix(path, ".pprof") + ".heap.pprof"); err == nil {
				_ = pprof.Lookup("heap").WriteTo(h, 0)
				h.Close()
			}
		})
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			writeHeap()
		case <-done:
		}
	}()
	return func() {
		close(done)
		writeHeap()
		pprof.StopCPUProfile()
		f.Close()
	}
}

// child is a process started by the bench.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// startChild runs this executable with args and env added to this
// process's environment; stdout lines are passed to firstLine (if not nil)
// until it returns true; stderr goes to logPath.
func startChild(name string, args []string, logPath, profile string, env ...string) (*child, *bufio.Reader, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(append(os.Environ(), benchChildEnv+"=1"), env...)
	if profile != "" {
		cmd.Env = append(cmd.Env, profileEnv+"="+profile)
	}
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(c.done) }()
	return c, bufio.NewReader(out), nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop sends SIGTERM and waits up to 30 s, then kills.
func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// procStat is the CPU time and memory of one process.
type procStat struct {
	cpu      time.Duration // user + system
	rss, hwm int64         // bytes: resident now, and its peak
}

// readProc reads /proc/<pid>/stat and /proc/<pid>/status (Linux).
func readProc(pid int) (procStat, error) {
	var ps procStat
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ps, fmt.Errorf("cpu time of pid %d: %w (earshot bench needs Linux /proc)", pid, err)
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return ps, fmt.Errorf("cpu time of pid %d: short /proc stat", pid)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const clkTck = 100 // USER_HZ, 100 on every Linux architecture Go supports
	ps.cpu = time.Duration(utime+stime) * time.Second / clkTck
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ps, err
	}
	for _, line := range strings.Split(string(st), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			ps.rss = kb << 10
		case "VmHWM":
			ps.hwm = kb << 10
		}
	}
	return ps, nil
}

// selfCPU is this process's CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
