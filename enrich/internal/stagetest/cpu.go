package stagetest

import (
	"syscall"
	"testing"
	"time"
)

// CPUTimer reports the process's CPU time per op next to ns/op: on a
// machine shared with other work, wall time per op overstates the cost.
type CPUTimer struct{ start time.Duration }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// StartCPU resets the benchmark timer and starts counting CPU time.
func StartCPU(b *testing.B) *CPUTimer {
	b.ResetTimer()
	return &CPUTimer{start: cpuNow()}
}

// Stop stops the benchmark timer and reports the CPU time per op as
// cpu-ns/op.
func (c *CPUTimer) Stop(b *testing.B) {
	b.StopTimer()
	b.ReportMetric(float64(cpuNow()-c.start)/float64(b.N), "cpu-ns/op")
}
