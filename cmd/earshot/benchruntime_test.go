package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// retained is what TestRuntimeStats holds, so that the live heap and the
// heap profile must show it.
var retained [][]byte

//go:noinline
func holdRuntimeTestMemory(mib int) {
	for range mib {
		retained = append(retained, make([]byte, 1<<20))
	}
}

// TestRuntimeStats: a process the bench starts serves its Go runtime
// figures and heap profile, and a steady run records them at each sample
// and writes a heap profile once a minute that shows what holds memory.
func TestRuntimeStats(t *testing.T) {
	dir := t.TempDir()
	addr := filepath.Join(dir, "addr")
	t.Setenv(runtimeStatsEnv, addr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serveRuntimeStats(ctx)
	rt := newRuntimeClient(addr)

	runtime.GC()
	before, err := rt.stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if before.HeapLive <= 0 || before.HeapInuse <= 0 || before.Goroutines <= 0 {
		t.Fatalf("stats %+v: want positive figures", before)
	}
	holdRuntimeTestMemory(64)
	runtime.GC()
	after, err := rt.stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if grew := after.HeapLive - before.HeapLive; grew < 60<<20 {
		t.Errorf("live heap grew %d MiB while 64 MiB more were held; want at least 60", grew>>20)
	}

	prof := filepath.Join(dir, "prof")
	if err := os.MkdirAll(prof, 0o755); err != nil {
		t.Fatal(err)
	}
	b := &bench{o: e2eOptions{profileDir: prof}, rt: rt, log: io.Discard}
	mem := &memoryReport{SampleEvery: 5}
	for range 12 {
		b.sampleRuntime(ctx, mem)
	}
	want := filepath.Join(prof, "earshot.heap.60.pprof")
	if len(mem.HeapProfiles) != 1 || mem.HeapProfiles[0] != want {
		t.Fatalf("heap profiles after 12 samples of 5 s: %q; want [%q]", mem.HeapProfiles, want)
	}
	if len(mem.HeapLiveBytes) != 12 || mem.HeapLiveBytes[11] < 64<<20 || mem.Goroutines[11] <= 0 || mem.HeapInuseBytes[11] < mem.HeapLiveBytes[11]/2 {
		t.Errorf("samples: live %v, in use %v, goroutines %v", mem.HeapLiveBytes, mem.HeapInuseBytes, mem.Goroutines)
	}
	// The profile (gzipped protobuf) names the function that allocated
	// what is held.
	f, err := os.Open(want)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("heap profile is not a pprof file: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("holdRuntimeTestMemory")) {
		t.Errorf("heap profile (%d bytes) does not name holdRuntimeTestMemory, which holds 64 MiB", len(raw))
	}

	// Once the process is gone, samples say unknown (-1), and no profile.
	cancel()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := rt.stats(context.Background()); err != nil {
			break
		}
	}
	for range 12 {
		b.sampleRuntime(context.Background(), mem)
	}
	if n := len(mem.HeapLiveBytes); n != 24 || mem.HeapLiveBytes[n-1] != -1 || len(mem.HeapProfiles) != 1 {
		t.Errorf("after the server stopped: %d samples, last %d, %d profiles; want 24, -1, 1", n, mem.HeapLiveBytes[n-1], len(mem.HeapProfiles))
	}
	retained = nil
}
