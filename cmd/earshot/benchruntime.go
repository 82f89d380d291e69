package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"time"
)

// What `earshot bench --duration` reads from inside the earshot process,
// next to its RSS: the Go runtime's heap figures, and (with --profile) its
// heap profile now and then, to show what grows.
//
// A process the bench starts with runtimeStatsEnv set serves them on a
// loopback port of its own (not http.listen, which the bench turns off so
// that the console and metrics server do not run in what it measures),
// and writes the port's address to the file the variable names.

// runtimeStatsEnv names the file where a bench child writes the address
// of its runtime statistics server.
const runtimeStatsEnv = "EARSHOT_BENCH_RUNTIME"

// runtimeStats is one reading of the Go runtime's memory figures.
type runtimeStats struct {
	// HeapLive is the heap marked live by the last garbage collection:
	// what the program holds, without the garbage allocated since.
	HeapLive int64 `json:"heap_live_bytes"`
	// HeapInuse is the heap in spans in use (objects, live or not yet
	// collected, and the free slots between them): go_memstats_heap_inuse_bytes.
	HeapInuse  int64 `json:"heap_inuse_bytes"`
	Goroutines int64 `json:"goroutines"`
}

var runtimeStatsSamples = []string{
	"/gc/heap/live:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/sched/goroutines:goroutines",
}

// readRuntimeStats reads this process's figures (no stop-the-world).
func readRuntimeStats() runtimeStats {
	s := make([]metrics.Sample, len(runtimeStatsSamples))
	for i, name := range runtimeStatsSamples {
		s[i].Name = name
	}
	metrics.Read(s)
	v := func(i int) int64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return -1
		}
		return int64(s[i].Value.Uint64())
	}
	return runtimeStats{HeapLive: v(0), HeapInuse: v(1) + v(2), Goroutines: v(3)}
}

// runtimeStatsHandler serves /runtime (runtimeStats as JSON) and /heap
// (the heap profile as of the last collection, for go tool pprof).
func runtimeStatsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/runtime", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(readRuntimeStats())
	})
	mux.HandleFunc("/heap", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_ = pprof.Lookup("heap").WriteTo(w, 0)
	})
	return mux
}

// serveRuntimeStats starts the server runtimeStatsEnv asks for, if any,
// until ctx is done.
func serveRuntimeStats(ctx context.Context) {
	path := os.Getenv(runtimeStatsEnv)
	if path == "" {
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return
	}
	tmp := path + ".tmp"
	if os.WriteFile(tmp, []byte(ln.Addr().String()), 0o600) != nil || os.Rename(tmp, path) != nil {
		ln.Close()
		return
	}
	srv := &http.Server{Handler: runtimeStatsHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
}

// runtimeClient reads a bench child's runtime statistics.
type runtimeClient struct {
	addrFile string // where the child writes its server's address
	addr     string
	http     http.Client
}

func newRuntimeClient(addrFile string) *runtimeClient {
	return &runtimeClient{addrFile: addrFile, http: http.Client{Timeout: 10 * time.Second}}
}

func (c *runtimeClient) get(ctx context.Context, path string) (io.ReadCloser, error) {
	if c.addr == "" {
		b, err := os.ReadFile(c.addrFile)
		if err != nil {
			return nil, fmt.Errorf("bench: runtime statistics not served yet: %w", err)
		}
		c.addr = strings.TrimSpace(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.addr+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("bench: %s: %s", path, resp.Status)
	}
	return resp.Body, nil
}

// stats reads the child's runtime figures.
func (c *runtimeClient) stats(ctx context.Context) (runtimeStats, error) {
	var s runtimeStats
	body, err := c.get(ctx, "/runtime")
	if err != nil {
		return s, err
	}
	defer body.Close()
	return s, json.NewDecoder(body).Decode(&s)
}

// writeHeap writes the child's heap profile to path.
func (c *runtimeClient) writeHeap(ctx context.Context, path string) error {
	body, err := c.get(ctx, "/heap")
	if err != nil {
		return err
	}
	defer body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// heapProfileSeconds is how often a steady run with --profile writes
// earshot's heap profile.
const heapProfileSeconds = 60

// sampleRuntime adds earshot's runtime figures to mem (-1 when they cannot
// be read), and with --profile writes its heap profile once a minute.
func (b *bench) sampleRuntime(ctx context.Context, mem *memoryReport) {
	s := runtimeStats{HeapLive: -1, HeapInuse: -1, Goroutines: -1}
	if b.rt != nil {
		if r, err := b.rt.stats(ctx); err == nil {
			s = r
		}
	}
	mem.HeapLiveBytes = append(mem.HeapLiveBytes, s.HeapLive)
	mem.HeapInuseBytes = append(mem.HeapInuseBytes, s.HeapInuse)
	mem.Goroutines = append(mem.Goroutines, s.Goroutines)
	n := len(mem.HeapLiveBytes)
	every := max(1, int(math.Round(heapProfileSeconds/mem.SampleEvery)))
	if b.o.profileDir == "" || b.rt == nil || n%every != 0 {
		return
	}
	p := filepath.Join(b.o.profileDir, fmt.Sprintf("earshot.heap.%.0f.pprof", float64(n)*mem.SampleEvery))
	if err := b.rt.writeHeap(ctx, p); err != nil {
		b.progress("earshot's heap profile at %s: %v", p, err)
		return
	}
	mem.HeapProfiles = append(mem.HeapProfiles, p)
}
