package clickhouse

import (
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// A managed server that exits must not take down the other children of
// the process: on Linux a child with a parent-death signal dies with the
// thread that forked it, and runLocked must leave its thread alive. Here a
// child forked from the same thread before the server must outlive the
// server's goroutine.
func TestServerExitLeavesOtherChildrenAlive(t *testing.T) {
	got := make(chan *exec.Cmd, 1)
	go func() {
		runtime.LockOSThread()
		other := exec.Command("sleep", "60")
		other.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := other.Start(); err != nil {
			t.Error(err)
			runtime.UnlockOSThread()
			got <- nil
			return
		}
		started := make(chan error, 1)
		// Stands in for a clickhouse-server that exits (or is killed).
		if _, ok := runLocked(exec.Command("true"), started); !ok {
			t.Errorf("runLocked: %v", <-started)
		}
		runtime.UnlockOSThread()
		got <- other
	}() // returns here: its thread ends if something left it locked
	other := <-got
	if other == nil {
		return
	}
	exited := make(chan error, 1)
	go func() { exited <- other.Wait() }()
	select {
	case err := <-exited:
		t.Fatalf("the other child died when the server's goroutine returned (%v): its forking thread was ended", err)
	case <-time.After(2 * time.Second):
		_ = other.Process.Kill()
		<-exited
	}
}
