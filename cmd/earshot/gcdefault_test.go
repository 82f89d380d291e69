package main

import (
	"runtime/debug"
	"testing"
)

// TestGCDefault: earshot collects at GOGC=50 unless the user configured
// the collector with GOGC or GOMEMLIMIT, which then win.
func TestGCDefault(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	for _, c := range []struct {
		gogc, limit string
		want        int
	}{
		{"", "", defaultGOGC},
		{"200", "", 100}, // the runtime read GOGC at start; earshot leaves it
		{"", "2GiB", 100},
	} {
		t.Setenv("GOGC", c.gogc)
		t.Setenv("GOMEMLIMIT", c.limit)
		debug.SetGCPercent(100)
		applyGCDefault()
		if got := debug.SetGCPercent(100); got != c.want {
			t.Errorf("GOGC=%q GOMEMLIMIT=%q: GC percent %d, want %d", c.gogc, c.limit, got, c.want)
		}
	}
}
