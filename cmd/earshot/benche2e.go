package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/enrich/detect"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
)

// The end-to-end benchmark (`earshot bench`): publish-to-queryable through
// the real path, next to a ceiling measured in the same run.
//
// Processes: the embedded NATS server (file storage) runs in a child
// process, the managed clickhouse-server in another, and earshot itself
// (`earshot run` with enrich, sink and detect, all stages, the topic
// rules) in a third, so the CPU time of each is read apart from /proc.
// This process generates the workload, publishes it like a connector
// (Nats-Msg-Id set), and polls ClickHouse for the mentions that became
// visible.
//
// Rounds alternate: ceiling, earshot, ceiling, earshot, … and medians are
// reported, because a shared machine is noisy.
//   - earshot round: the workload is published to mentions.raw.* while the
//     enrich consumer is paused, then the consumer is resumed and the clock
//     runs until every mention is visible in earshot.mentions.
//   - ceiling round: the same mentions are published to a stream while
//     nothing reads it; then a bare relay (fetch, republish the same bytes
//     to a second stream, ack) and a bare loader (fetch 10k, decode,
//     clickhouse-go batch insert into the same earshot.mentions table, ack)
//     run, and the clock runs until every mention is visible. No enrichment.
//
// After the rounds, a paced phase publishes at a steady rate (by default
// 80% of earshot's median rate) and measures each mention's latency from
// publish to visible in ClickHouse. With --duration the bench runs only
// that paced phase, at --rate, for that long, and reports whether earshot's
// memory stayed flat.
//
// lost and duplicated come from ClickHouse, per earshot round and for the
// paced phase: lost = sent − uniqExact(id), duplicated = count() FINAL −
// uniqExact(id), over the ids the bench published.

// e2eReport is the --json output. Its keys are stable (README, Benchmarks).
type e2eReport struct {
	Mode                     string             `json:"mode"` // "rounds" or "steady"
	Machine                  benchMachine       `json:"machine"`
	Workload                 benchWorkloadInfo  `json:"workload"`
	MentionsPerSecond        float64            `json:"mentions_per_second"`
	CeilingMentionsPerSecond float64            `json:"ceiling_mentions_per_second"`
	Ratio                    float64            `json:"ratio"`
	LatencyRate              float64            `json:"latency_rate_mentions_per_second"`
	P50                      float64            `json:"p50_seconds"`
	P99                      float64            `json:"p99_seconds"`
	Max                      float64            `json:"max_seconds"`
	Lost                     int64              `json:"lost"`
	Duplicated               int64              `json:"duplicated"`
	CPUPerMillion            map[string]float64 `json:"cpu_seconds_per_million"`
	PeakRSS                  int64              `json:"peak_rss_bytes"`
	PeakRSSByProcess         map[string]int64   `json:"peak_rss_bytes_by_process"`
	Rounds                   []e2eRound         `json:"rounds"`
	Memory                   *memoryReport      `json:"memory,omitempty"`
	// Drained is false when a paced phase's mentions were not all
	// queryable within --drain-timeout after it stopped publishing: the
	// report then holds what was measured until then (see e2eRound).
	Drained bool `json:"drained"`
}

type benchMachine struct {
	CPUs      int    `json:"cpus"`
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	GoVersion string `json:"go_version"`
	Earshot   string `json:"earshot_version"`
}

type benchWorkloadInfo struct {
	Mentions        int     `json:"mentions_per_round"`
	Seed            uint64  `json:"seed"`
	TopicRules      int     `json:"topic_rules"`
	MeanJSONBytes   float64 `json:"mean_json_bytes"`
	ArticleFraction float64 `json:"article_fraction"`
}

type e2eRound struct {
	Kind              string             `json:"kind"` // ceiling, earshot, paced
	Mentions          int                `json:"mentions"`
	Seconds           float64            `json:"seconds"`
	MentionsPerSecond float64            `json:"mentions_per_second"`
	CPUPerMillion     map[string]float64 `json:"cpu_seconds_per_million"`
	Lost              int64              `json:"lost"`
	Duplicated        int64              `json:"duplicated"`
	// Drained is false when not every mention was queryable by the
	// deadline; then Visible counts those that were, Seconds runs to the
	// deadline, MentionsPerSecond is Visible over Seconds, and Lost
	// (sent − uniqExact(id)) includes the mentions still queued.
	Drained bool `json:"drained"`
	Visible int  `json:"visible"`
}

// errNotDrained: not every mention of a round was queryable by its deadline.
var errNotDrained = errors.New("not drained")

type memoryReport struct {
	Flat        bool    `json:"flat"`
	Growth      float64 `json:"growth_fraction"` // last quarter's median RSS over the first's (after warm-up), minus 1
	SampleEvery float64 `json:"sample_every_seconds"`
	RSSBytes    []int64 `json:"rss_bytes"`
	// The verdict's workings (benchmemory.go): the warm-up (a fifth of the
	// run, or until the last state bound was reached), the medians
	// compared, each bounded state, and why memory was not shown flat.
	WarmupSeconds float64      `json:"warmup_seconds"`
	FirstRSS      int64        `json:"first_quarter_rss_bytes"`
	LastRSS       int64        `json:"last_quarter_rss_bytes"`
	Bounds        []stateBound `json:"state_bounds"`
	Reason        string       `json:"reason,omitempty"`
	// NATSRSSBytes samples the NATS server's RSS alongside (`earshot run`
	// embeds it in its own process).
	NATSRSSBytes []int64 `json:"nats_rss_bytes"`
	// Backlog samples the mentions published but not yet written to
	// ClickHouse by the sink (pending and unacknowledged at the enrich
	// and sink consumers): when it grows, the rate is above what the
	// machine sustains and in-flight batches grow RSS.
	Backlog []int64 `json:"backlog_mentions"`
	// earshot's Go runtime figures at each RSS sample (-1 when not read):
	// the heap marked live by the last collection, the heap in use, and
	// the goroutines. RSS is about twice the live heap at Go's default
	// GOGC; when RSS grows and the live heap does not, the growth is the
	// collector's slack or freed memory not yet returned, not state.
	HeapLiveBytes  []int64 `json:"heap_live_bytes"`
	HeapInuseBytes []int64 `json:"heap_inuse_bytes"`
	Goroutines     []int64 `json:"goroutines"`
	// The medians of the live heap over the quarters the verdict compares.
	FirstHeapLive  int64   `json:"first_quarter_heap_live_bytes"`
	LastHeapLive   int64   `json:"last_quarter_heap_live_bytes"`
	HeapLiveGrowth float64 `json:"heap_live_growth_fraction"`
	// HeapProfiles (--profile) are earshot's heap profiles, one a minute:
	// DIR/earshot.heap.<seconds>.pprof, seconds from the start of
	// publishing. Compare two with go tool pprof -base.
	HeapProfiles []string `json:"heap_profiles,omitempty"`
}

type e2eOptions struct {
	n, rounds       int
	seed            uint64
	duration        time.Duration // steady mode when > 0
	rate            float64
	latencyFraction float64
	latencyFor      time.Duration
	drainTimeout    time.Duration // paced phases: wait this long for the last mentions
	jsonOut         bool
	profileDir      string  // children write CPU profiles here
	cfg             *Config // topics, enrich and sink settings for earshot
	detect          any     // the config file's detect section, verbatim (nil: defaults)
}

// bench is the state of one run.
type bench struct {
	o       e2eOptions
	dir     string
	nats    *child
	earshot *child
	ch      *clickhouse.LocalServer
	store   *clickhouse.Store
	nc      *nats.Conn
	js      jetstream.JetStream
	work    []*pipeline.Mention
	log     io.Writer // progress lines (stderr)
	// steadyStart is when a steady run started publishing.
	steadyStart time.Time
	rt          *runtimeClient // earshot's Go runtime figures and heap profile
}

func runBenchE2E(ctx context.Context, o e2eOptions, stdout, stderr io.Writer) error {
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
	}
	dir, err := os.MkdirTemp("", "earshot-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &bench{o: o, dir: dir, log: stderr}
	defer b.close()
	if err := b.start(ctx); err != nil {
		return err
	}
	rep := &e2eReport{
		Machine: benchMachine{CPUs: runtime.NumCPU(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH,
			GoVersion: runtime.Version(), Earshot: version},
		CPUPerMillion: map[string]float64{}, PeakRSSByProcess: map[string]int64{},
	}
	rep.Workload = b.workloadInfo()
	if o.duration > 0 {
		rep.Mode = "steady"
		if err := b.steady(ctx, rep); err != nil {
			return err
		}
	} else {
		rep.Mode = "rounds"
		if err := b.roundsAndLatency(ctx, rep); err != nil {
			return err
		}
	}
	for name, pid := range b.pids() {
		if ps, err := readProc(pid); err == nil {
			rep.PeakRSSByProcess[name] = ps.hwm
		}
	}
	rep.PeakRSS = rep.PeakRSSByProcess["earshot"]
	return writeE2E(rep, o, stdout)
}

// writeE2E prints the report, as JSON or a table, and then returns an
// error (wrapping errNotDrained) when a phase did not drain: the report is
// printed whatever it holds.
func writeE2E(rep *e2eReport, o e2eOptions, stdout io.Writer) error {
	var err error
	rep.Drained = true
	for _, r := range rep.Rounds {
		rep.Drained = rep.Drained && r.Drained
	}
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = printE2E(stdout, rep)
	}
	if err == nil && !rep.Drained {
		for _, r := range rep.Rounds {
			if !r.Drained {
				err = fmt.Errorf("%w: %s phase: %d of %d mentions queryable %s after it stopped publishing (--drain-timeout); the report says drained: false",
					errNotDrained, r.Kind, r.Visible, r.Mentions, o.drainTimeout)
				break
			}
		}
	}
	return err
}

// profile is where a child writes its CPU profile (--profile), or "".
func (b *bench) profile(name string) string {
	if b.o.profileDir == "" {
		return ""
	}
	p, _ := filepath.Abs(filepath.Join(b.o.profileDir, name+".pprof"))
	return p
}

func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

func (b *bench) pids() map[string]int {
	m := map[string]int{}
	if b.nats != nil {
		m["nats"] = b.nats.pid()
	}
	if b.earshot != nil {
		m["earshot"] = b.earshot.pid()
	}
	if b.ch != nil {
		m["clickhouse"] = b.ch.Pid()
	}
	return m
}

func (b *bench) close() {
	if b.earshot != nil {
		b.earshot.stop()
	}
	if b.store != nil {
		_ = b.store.Close()
	}
	if b.nc != nil {
		b.nc.Close()
	}
	if b.nats != nil {
		b.nats.stop()
	}
	if b.ch != nil {
		_ = b.ch.Stop()
	}
}

const (
	ceilRawStream, ceilOutStream = "BENCH_CEIL_RAW", "BENCH_CEIL_OUT"
	ceilRawPrefix, ceilOutPrefix = "bench.ceil.raw.", "bench.ceil.out."
)

// start runs NATS, ClickHouse and earshot, and generates the workload.
func (b *bench) start(ctx context.Context) error {
	b.progress("starting NATS (file storage), clickhouse-server and earshot in %s", b.dir)
	var err error
	var out interface{ ReadString(byte) (string, error) }
	b.nats, out, err = startChild("nats", []string{"bench-natsd", "--dir", filepath.Join(b.dir, "nats")}, filepath.Join(b.dir, "nats.log"), b.profile("nats"))
	if err != nil {
		return err
	}
	url, err := out.ReadString('\n')
	if err != nil {
		return fmt.Errorf("bench: nats child: %w (log %s)", err, filepath.Join(b.dir, "nats.log"))
	}
	url = strings.TrimSpace(url)
	if b.nc, err = nats.Connect(url, nats.Name("earshot-bench")); err != nil {
		return err
	}
	if b.js, err = jetstream.New(b.nc, jetstream.WithPublishAsyncMaxPending(8192)); err != nil {
		return err
	}
	if err := pipeline.EnsureStreams(ctx, b.js, pipeline.StreamsConfig{}); err != nil {
		return err
	}
	for _, s := range []jetstream.StreamConfig{
		{Name: ceilRawStream, Subjects: []string{ceilRawPrefix + ">"}},
		{Name: ceilOutStream, Subjects: []string{ceilOutPrefix + ">"}},
	} {
		s.Storage, s.Duplicates = jetstream.FileStorage, 10*time.Minute
		if _, err := b.js.CreateOrUpdateStream(ctx, s); err != nil {
			return err
		}
	}
	b.ch, err = clickhouse.StartLocal(ctx, clickhouse.LocalOptions{Dir: filepath.Join(b.dir, "clickhouse")})
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	chCfg := b.ch.ClientConfig(clickhouse.Config{Database: "earshot"})
	if b.store, err = clickhouse.Open(ctx, chCfg); err != nil {
		return err
	}
	if err := b.store.Migrate(ctx); err != nil {
		return err
	}
	cfgPath, err := b.writeEarshotConfig(url, chCfg)
	if err != nil {
		return err
	}
	statsAddr := filepath.Join(b.dir, "earshot.runtime.addr")
	b.rt = newRuntimeClient(statsAddr)
	b.earshot, _, err = startChild("earshot", []string{"run", "--config", cfgPath}, filepath.Join(b.dir, "earshot.log"), b.profile("earshot"),
		runtimeStatsEnv+"="+statsAddr)
	if err != nil {
		return err
	}
	// Ready when its consumers exist.
	deadline := time.Now().Add(2 * time.Minute)
	for _, c := range [][2]string{{pipeline.StreamMentions, "enrich"}, {pipeline.StreamEnriched, "sink"}} {
		for {
			if _, err := b.js.Consumer(ctx, c[0], c[1]); err == nil {
				break
			}
			select {
			case <-b.earshot.done:
				return fmt.Errorf("bench: earshot exited at start; log:\n%s", tailOf(filepath.Join(b.dir, "earshot.log")))
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("bench: earshot not ready after 2m; log:\n%s", tailOf(filepath.Join(b.dir, "earshot.log")))
			}
		}
	}
	b.work = benchWorkload(b.o.seed, b.o.n, brandNames(b.o.cfg.Topics))
	return nil
}

func tailOf(path string) string {
	data, _ := os.ReadFile(path)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// writeEarshotConfig writes the config of the earshot child: the bench's
// servers, the topic rules, enrich and sink settings.
func (b *bench) writeEarshotConfig(natsURL string, cc clickhouse.Config) (string, error) {
	cfg := map[string]any{
		"data_dir":   filepath.Join(b.dir, "earshot"),
		"log":        map[string]any{"level": "warn"},
		"http":       map[string]any{"listen": "off"},
		"nats":       map[string]any{"url": natsURL},
		"clickhouse": map[string]any{"addr": cc.Addr, "database": cc.Database, "username": cc.Username, "password": map[string]any{"file": cc.Password.File}},
		"topics":     b.o.cfg.Topics,
		"enrich":     b.o.cfg.Enrich,
		"sink":       b.o.cfg.Sink,
	}
	if b.o.detect != nil {
		cfg["detect"] = b.o.detect
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return "", err
	}
	p := filepath.Join(b.dir, "earshot.yaml")
	return p, os.WriteFile(p, data, 0o600)
}

func (b *bench) workloadInfo() benchWorkloadInfo {
	var bytes, articles int
	for _, m := range b.work {
		c := *m
		c.ID = benchID("x00", 0)
		_ = c.Normalize(time.Now())
		data, _ := c.Marshal()
		bytes += len(data)
		if m.Kind == pipeline.KindArticle {
			articles++
		}
	}
	return benchWorkloadInfo{Mentions: len(b.work), Seed: b.o.seed, TopicRules: len(b.o.cfg.Topics),
		MeanJSONBytes: float64(bytes) / float64(len(b.work)), ArticleFraction: float64(articles) / float64(len(b.work))}
}

// cpuSnap is the CPU time of every process at one moment.
type cpuSnap map[string]time.Duration

func (b *bench) snap() cpuSnap {
	s := cpuSnap{"bench": selfCPU()}
	for name, pid := range b.pids() {
		if ps, err := readProc(pid); err == nil {
			s[name] = ps.cpu
		}
	}
	return s
}

func perMillion(a, z cpuSnap, n int) map[string]float64 {
	out := map[string]float64{}
	for k, v := range z {
		out[k] = (v - a[k]).Seconds() * 1e6 / float64(n)
	}
	return out
}

// encodeRound names the workload for one round and encodes it.
func (b *bench) encodeRound(prefix string) ([]*pipeline.Mention, [][]byte, error) {
	ms := roundCopies(b.work, prefix)
	payloads := make([][]byte, len(ms))
	for i, m := range ms {
		if err := m.Normalize(time.Now()); err != nil {
			return nil, nil, err
		}
		data, err := m.Marshal()
		if err != nil {
			return nil, nil, err
		}
		payloads[i] = data
	}
	return ms, payloads, nil
}

// publishAll publishes every payload with its msg id and waits for the acks.
func (b *bench) publishAll(ctx context.Context, subjectPrefix string, ms []*pipeline.Mention, payloads [][]byte) error {
	futs := make([]jetstream.PubAckFuture, 0, 4096)
	flush := func() error {
		for _, f := range futs {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return fmt.Errorf("bench publish: %w", err)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		futs = futs[:0]
		return nil
	}
	for i, m := range ms {
		msg := &nats.Msg{Subject: subjectPrefix + m.Platform, Data: payloads[i], Header: nats.Header{jetstream.MsgIDHeader: []string{m.ID}}}
		f, err := b.publishAsync(ctx, msg)
		if err != nil {
			return fmt.Errorf("bench publish: %w", err)
		}
		futs = append(futs, f)
		if len(futs) == cap(futs) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// publishAsync publishes msg asynchronously. When too many publishes
// await their acks (the server is slow to store them: a loaded machine, a
// full stream being reclaimed), nats.go refuses with ErrTooManyStalledMsgs
// after a short wait; the bench then waits for the outstanding acks and
// tries again, as a connector would, so a slow server slows the publisher
// (and shows in the latencies) instead of ending the run. It gives up only
// when ctx ends or nothing was acknowledged for a minute.
func (b *bench) publishAsync(ctx context.Context, msg *nats.Msg) (jetstream.PubAckFuture, error) {
	for {
		f, err := b.js.PublishMsgAsync(msg)
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			return f, err
		}
		select {
		case <-b.js.PublishAsyncComplete():
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Minute):
			return nil, fmt.Errorf("%w: no publish acknowledged for a minute", err)
		}
	}
}

func (b *bench) roundsAndLatency(ctx context.Context, rep *e2eReport) error {
	var ceil, ear []float64
	cpus := map[string][]float64{}
	for k := 1; k <= b.o.rounds; k++ {
		rc, err := b.ceilingRound(ctx, fmt.Sprintf("c%02d", k))
		if err != nil {
			return err
		}
		b.progress("round %d ceiling: %.0f mentions/s", k, rc.MentionsPerSecond)
		re, err := b.earshotRound(ctx, fmt.Sprintf("e%02d", k))
		if err != nil {
			return err
		}
		b.progress("round %d earshot: %.0f mentions/s (lost %d, duplicated %d)", k, re.MentionsPerSecond, re.Lost, re.Duplicated)
		rep.Rounds = append(rep.Rounds, rc, re)
		ceil = append(ceil, rc.MentionsPerSecond)
		ear = append(ear, re.MentionsPerSecond)
		for name, v := range re.CPUPerMillion {
			cpus[name] = append(cpus[name], v)
		}
		rep.Lost += re.Lost
		rep.Duplicated += re.Duplicated
	}
	rep.MentionsPerSecond = median(ear)
	rep.CeilingMentionsPerSecond = median(ceil)
	if rep.CeilingMentionsPerSecond > 0 {
		rep.Ratio = rep.MentionsPerSecond / rep.CeilingMentionsPerSecond
	}
	for name, vs := range cpus {
		if name != "bench" {
			rep.CPUPerMillion[name] = median(vs)
		}
	}
	rate := b.o.rate
	if rate <= 0 {
		rate = b.o.latencyFraction * rep.MentionsPerSecond
	}
	rp, lat, err := b.paced(ctx, "l01", rate, b.o.latencyFor, nil)
	if err != nil {
		return err
	}
	rep.Rounds = append(rep.Rounds, rp)
	rep.LatencyRate = rate
	rep.P50, rep.P99, rep.Max = quantile(lat, 0.5), quantile(lat, 0.99), quantile(lat, 1)
	rep.Lost += rp.Lost
	rep.Duplicated += rp.Duplicated
	return nil
}

func (b *bench) steady(ctx context.Context, rep *e2eReport) error {
	if b.o.rate <= 0 {
		return fmt.Errorf("%w: --duration needs --rate (mentions per second; 80%% of the sustained rate that a plain `earshot bench` reports)", errUsage)
	}
	mem := &memoryReport{SampleEvery: 5}
	b.steadyStart = time.Now()
	rp, lat, err := b.paced(ctx, "s01", b.o.rate, b.o.duration, mem)
	if err != nil {
		return err
	}
	rep.Rounds = append(rep.Rounds, rp)
	rep.MentionsPerSecond = rp.MentionsPerSecond
	rep.LatencyRate = b.o.rate
	rep.P50, rep.P99, rep.Max = quantile(lat, 0.5), quantile(lat, 0.99), quantile(lat, 1)
	rep.Lost, rep.Duplicated = rp.Lost, rp.Duplicated
	for k, v := range rp.CPUPerMillion {
		if k != "bench" {
			rep.CPUPerMillion[k] = v
		}
	}
	// Flat: every state bound reached, and after the warm-up the median
	// RSS of the last quarter within 10% of the first quarter's
	// (benchmemory.go).
	bounds, err := b.steadyBounds(ctx, "s01", b.o.rate, rp.Mentions)
	judgeFlat(mem, bounds, b.o.rate)
	if err != nil {
		// The report is still printed: RSS was measured, the verdict
		// cannot be given.
		mem.Flat, mem.Reason = false, fmt.Sprintf("not shown flat: the state bounds could not be worked out: %v", err)
	}
	rep.Memory = mem
	return nil
}

func int64s(v []int64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// earshotRound prefills mentions.raw.* with the enrich consumer paused,
// resumes it, and times until every mention is visible.
func (b *bench) earshotRound(ctx context.Context, prefix string) (e2eRound, error) {
	ms, payloads, err := b.encodeRound(prefix)
	if err != nil {
		return e2eRound{}, err
	}
	if _, err := b.js.PauseConsumer(ctx, pipeline.StreamMentions, "enrich", time.Now().Add(time.Hour)); err != nil {
		return e2eRound{}, fmt.Errorf("bench: pause enrich: %w", err)
	}
	if err := b.publishAll(ctx, pipeline.SubjectRawPrefix, ms, payloads); err != nil {
		return e2eRound{}, err
	}
	tr := newTracker(prefix, ms)
	a := b.snap()
	t0 := time.Now()
	if _, err := b.js.ResumeConsumer(ctx, pipeline.StreamMentions, "enrich"); err != nil {
		return e2eRound{}, fmt.Errorf("bench: resume enrich: %w", err)
	}
	t1, err := b.waitVisible(ctx, tr, 10*time.Minute)
	if err != nil {
		return e2eRound{}, err
	}
	// The round's time ends when the last mention is queryable, but its
	// CPU is read once detect, which reads ENRICHED beside the sink, has
	// caught up too: otherwise what detect does after that moment would
	// be charged to the next round (or to no round).
	b.waitDetectCaughtUp(ctx, time.Minute)
	z := b.snap()
	r := e2eRound{Kind: "earshot", Mentions: len(ms), Seconds: t1.Sub(t0).Seconds(), CPUPerMillion: perMillion(a, z, len(ms)),
		Drained: true, Visible: len(ms)}
	r.MentionsPerSecond = float64(len(ms)) / r.Seconds
	r.Lost, r.Duplicated, err = b.lostDup(ctx, prefix, len(ms))
	return r, err
}

// waitDetectCaughtUp waits, at most max, until detect's consumer on
// ENRICHED has acknowledged everything stored there. A detect that does
// not catch up in time only makes the round's CPU figure lower; the bench
// says so on stderr.
func (b *bench) waitDetectCaughtUp(ctx context.Context, max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if ok, err := pipeline.ConsumerCaughtUp(ctx, b.js, pipeline.StreamEnriched, detect.DefaultDurable); err == nil && ok {
			return
		}
		sleepCtx(ctx, 50*time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "bench: detect had not caught up %s after the round's last mention was queryable; its CPU after that is not in the round\n", max)
}

// ceilingRound moves the same mentions through NATS and into the same
// table with no enrichment: publish, consume, republish, consume, insert.
func (b *bench) ceilingRound(ctx context.Context, prefix string) (e2eRound, error) {
	ms, payloads, err := b.encodeRound(prefix)
	if err != nil {
		return e2eRound{}, err
	}
	if err := b.publishAll(ctx, ceilRawPrefix, ms, payloads); err != nil {
		return e2eRound{}, err
	}
	mk := func(stream, name, filter string) (jetstream.Consumer, error) {
		return b.js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{Durable: name, AckPolicy: jetstream.AckExplicitPolicy,
			FilterSubject: filter, MaxAckPending: 40000, AckWait: time.Minute})
	}
	relay, err := mk(ceilRawStream, "relay", ceilRawPrefix+">")
	if err != nil {
		return e2eRound{}, err
	}
	loader, err := mk(ceilOutStream, "loader", ceilOutPrefix+">")
	if err != nil {
		return e2eRound{}, err
	}
	tr := newTracker(prefix, ms)
	a := b.snap()
	t0 := time.Now()
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Go(func() { errc <- b.ceilRelay(rctx, relay) })
	wg.Go(func() { errc <- b.ceilLoad(rctx, loader) })
	t1, err := b.waitVisible(ctx, tr, 10*time.Minute)
	cancel()
	wg.Wait()
	close(errc)
	for e := range errc {
		if e != nil && !errors.Is(e, context.Canceled) && err == nil {
			err = e
		}
	}
	if err != nil {
		return e2eRound{}, err
	}
	z := b.snap()
	r := e2eRound{Kind: "ceiling", Mentions: len(ms), Seconds: t1.Sub(t0).Seconds(), CPUPerMillion: perMillion(a, z, len(ms)),
		Drained: true, Visible: len(ms)}
	r.MentionsPerSecond = float64(len(ms)) / r.Seconds
	r.Lost, r.Duplicated, err = b.lostDup(ctx, prefix, len(ms))
	return r, err
}

// ceilRelay fetches from the raw ceiling stream, republishes the same
// bytes with their msg ids, and acks after the republished copies were
// acknowledged.
func (b *bench) ceilRelay(ctx context.Context, cons jetstream.Consumer) error {
	futs := make([]jetstream.PubAckFuture, 0, 5000)
	var msgs []jetstream.Msg
	for ctx.Err() == nil {
		batch, err := cons.Fetch(5000, jetstream.FetchMaxWait(200*time.Millisecond))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		futs, msgs = futs[:0], msgs[:0]
		for msg := range batch.Messages() {
			out := &nats.Msg{Subject: ceilOutPrefix + strings.TrimPrefix(msg.Subject(), ceilRawPrefix), Data: msg.Data(),
				Header: nats.Header{jetstream.MsgIDHeader: msg.Headers()[jetstream.MsgIDHeader]}}
			f, err := b.publishAsync(ctx, out)
			if err != nil {
				return err
			}
			futs = append(futs, f)
			msgs = append(msgs, msg)
		}
		for _, f := range futs {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				return err
			case <-ctx.Done():
				return nil
			}
		}
		for _, m := range msgs {
			_ = m.Ack()
		}
	}
	return nil
}

// ceilLoad is the bare loader: fetch up to 10k, decode, one clickhouse-go
// batch insert (Store.Write), ack.
func (b *bench) ceilLoad(ctx context.Context, cons jetstream.Consumer) error {
	var (
		ms   []*pipeline.Mention
		msgs []jetstream.Msg
	)
	for ctx.Err() == nil {
		batch, err := cons.Fetch(10000, jetstream.FetchMaxWait(250*time.Millisecond))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		ms, msgs = ms[:0], msgs[:0]
		for msg := range batch.Messages() {
			m, err := pipeline.Unmarshal(msg.Data())
			if err != nil {
				return err
			}
			ms = append(ms, m)
			msgs = append(msgs, msg)
		}
		if len(ms) == 0 {
			continue
		}
		if err := b.store.Write(ctx, ms); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, m := range msgs {
			_ = m.Ack()
		}
	}
	return nil
}

// paced publishes at rate for d (cycling the workload under fresh ids) and
// returns each mention's publish-to-visible latency in seconds. mem, when
// not nil, gets earshot's RSS every mem.SampleEvery seconds.
func (b *bench) paced(ctx context.Context, prefix string, rate float64, d time.Duration, mem *memoryReport) (e2eRound, []float64, error) {
	if rate <= 0 {
		return e2eRound{}, nil, fmt.Errorf("bench: paced phase needs a positive rate")
	}
	n := int(rate * d.Seconds())
	if n < 1 {
		n = 1
	}
	b.progress("paced: %.0f mentions/s for %s (%d mentions), measuring publish-to-queryable", rate, d, n)
	plats := make([]string, n)
	for i := range plats {
		plats[i] = b.work[i%len(b.work)].Platform
	}
	tr := newTrackerPlatforms(prefix, plats)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg      sync.WaitGroup
		pollErr errBox
		memStop = make(chan struct{})
	)
	wg.Go(func() { pollErr.set(b.pollLoop(pctx, tr)) })
	if mem != nil {
		wg.Go(func() {
			t := time.NewTicker(time.Duration(mem.SampleEvery * float64(time.Second)))
			defer t.Stop()
			for {
				select {
				case <-memStop:
					return
				case <-t.C:
					if ps, err := readProc(b.earshot.pid()); err == nil {
						mem.RSSBytes = append(mem.RSSBytes, ps.rss)
					}
					if ps, err := readProc(b.nats.pid()); err == nil {
						mem.NATSRSSBytes = append(mem.NATSRSSBytes, ps.rss)
					}
					mem.Backlog = append(mem.Backlog, b.backlog(pctx))
					b.sampleRuntime(pctx, mem)
					// A long run would fill the streams' max_bytes:
					// drop what every consumer acknowledged, as a
					// retention policy would.
					_ = b.purgeAcked(pctx)
				}
			}
		})
	}
	a := b.snap()
	t0 := time.Now()
	acks := make(chan jetstream.PubAckFuture, 16384)
	var ackErr error
	wg.Go(func() {
		for f := range acks {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				if ackErr == nil {
					ackErr = err
				}
			}
		}
	})
	tick := time.NewTicker(5 * time.Millisecond)
	sent := 0
	for sent < n && ctx.Err() == nil {
		<-tick.C
		due := min(n, int(rate*time.Since(t0).Seconds()))
		for ; sent < due; sent++ {
			c := *b.work[sent%len(b.work)]
			c.ID = benchID(prefix, sent)
			now := time.Now()
			c.CreatedAt, c.CollectedAt = now, now
			_ = c.Normalize(now)
			data, err := c.Marshal()
			if err != nil {
				tick.Stop()
				return e2eRound{}, nil, err
			}
			tr.published(sent, now)
			f, err := b.publishAsync(ctx, &nats.Msg{Subject: pipeline.SubjectRawPrefix + c.Platform, Data: data,
				Header: nats.Header{jetstream.MsgIDHeader: []string{c.ID}}})
			if err != nil {
				tick.Stop()
				return e2eRound{}, nil, fmt.Errorf("bench publish: %w", err)
			}
			acks <- f
		}
	}
	tick.Stop()
	close(acks)
	pubSecs := time.Since(t0).Seconds()
	drained := true
	t1, err := tr.wait(ctx, b.o.drainTimeout, func() error { return b.failed(pollErr.get()) })
	if errors.Is(err, errNotDrained) {
		// Report what was measured until the deadline rather than nothing.
		b.progress("paced: %v", err)
		drained, err, t1 = false, nil, time.Now()
	}
	close(memStop)
	cancel()
	wg.Wait()
	if err == nil {
		err = ackErr
	}
	if err != nil {
		return e2eRound{}, nil, err
	}
	z := b.snap()
	r := e2eRound{Kind: "paced", Mentions: n, Seconds: t1.Sub(t0).Seconds(), CPUPerMillion: perMillion(a, z, n),
		Drained: drained, Visible: tr.visible()}
	r.MentionsPerSecond = float64(n) / max(pubSecs, r.Seconds)
	if !drained {
		r.MentionsPerSecond = float64(r.Visible) / r.Seconds
	}
	r.Lost, r.Duplicated, err = b.lostDup(ctx, prefix, n)
	return r, tr.latencies(), err
}

// purgeAcked removes from MENTIONS and ENRICHED the messages that every
// consumer of the stream has acknowledged.
func (b *bench) purgeAcked(ctx context.Context) error {
	for _, name := range []string{pipeline.StreamMentions, pipeline.StreamEnriched} {
		s, err := b.js.Stream(ctx, name)
		if err != nil {
			return err
		}
		var floor uint64
		first := true
		for ci := range s.ListConsumers(ctx).Info() {
			if first || ci.AckFloor.Stream < floor {
				floor, first = ci.AckFloor.Stream, false
			}
		}
		if !first && floor > 0 {
			if err := s.Purge(ctx, jetstream.WithPurgeSequence(floor+1)); err != nil {
				return err
			}
		}
	}
	return nil
}

// waitVisible polls until every tracked mention is visible.
func (b *bench) waitVisible(ctx context.Context, tr *tracker, timeout time.Duration) (time.Time, error) {
	pctx, cancel := context.WithCancel(ctx)
	var (
		wg      sync.WaitGroup
		pollErr errBox
	)
	wg.Go(func() { pollErr.set(b.pollLoop(pctx, tr)) })
	t, err := tr.wait(ctx, timeout, func() error { return b.failed(pollErr.get()) })
	cancel()
	wg.Wait()
	return t, err
}

// errBox holds the error of a goroutine, read while it runs.
type errBox struct {
	mu  sync.Mutex
	err error
}

func (e *errBox) set(err error) { e.mu.Lock(); e.err = err; e.mu.Unlock() }

func (e *errBox) get() error { e.mu.Lock(); defer e.mu.Unlock(); return e.err }

// failed is pollErr, or an error when a child process has exited: the
// bench stops at once instead of waiting for mentions that cannot come.
func (b *bench) failed(pollErr error) error {
	if pollErr != nil {
		return pollErr
	}
	for _, c := range []*child{b.earshot, b.nats} {
		select {
		case <-c.done:
			return fmt.Errorf("bench: the %s process exited (%v); log:\n%s", c.name, c.cmd.ProcessState,
				tailOf(filepath.Join(b.dir, c.name+".log")))
		default:
		}
	}
	return nil
}

const pollEvery = 100 * time.Millisecond

func (b *bench) pollLoop(ctx context.Context, tr *tracker) error {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := tr.poll(ctx, b.store); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// lostDup counts, in ClickHouse, what became of the n mentions named prefix.
func (b *bench) lostDup(ctx context.Context, prefix string, n int) (lost, dup int64, err error) {
	var final, uniq uint64
	like := prefix + ":%"
	conn := b.store.Conn()
	if err := conn.QueryRow(ctx, "SELECT count() FROM earshot.mentions FINAL WHERE id LIKE ?", like).Scan(&final); err != nil {
		return 0, 0, fmt.Errorf("bench: count FINAL: %w", err)
	}
	if err := conn.QueryRow(ctx, "SELECT uniqExact(id) FROM earshot.mentions WHERE id LIKE ?", like).Scan(&uniq); err != nil {
		return 0, 0, fmt.Errorf("bench: uniqExact: %w", err)
	}
	return int64(n) - int64(uniq), int64(final) - int64(uniq), nil
}

// tracker records when each published mention became visible.
type tracker struct {
	prefix string
	mu     sync.Mutex
	pub    []int64 // unix nanos; 0 = not yet published
	vis    []int64 // unix nanos; 0 = not yet visible
	byPlat map[string][]int32
	low    map[string]int // index in byPlat of the lowest unseen
	seen   int
	last   time.Time // time of the poll that saw the last one
}

func newTracker(prefix string, ms []*pipeline.Mention) *tracker {
	plats := make([]string, len(ms))
	now := time.Now()
	for i, m := range ms {
		plats[i] = m.Platform
	}
	t := newTrackerPlatforms(prefix, plats)
	for i := range ms {
		t.pub[i] = now.UnixNano()
	}
	return t
}

func newTrackerPlatforms(prefix string, plats []string) *tracker {
	t := &tracker{prefix: prefix, pub: make([]int64, len(plats)), vis: make([]int64, len(plats)),
		byPlat: map[string][]int32{}, low: map[string]int{}}
	for i, p := range plats {
		t.byPlat[p] = append(t.byPlat[p], int32(i))
	}
	return t
}

func (t *tracker) published(seq int, at time.Time) {
	t.mu.Lock()
	t.pub[seq] = at.UnixNano()
	t.mu.Unlock()
}

// poll reads the ids at or above each platform's lowest unseen one: the
// primary key (platform, id) makes it a short range read.
func (t *tracker) poll(ctx context.Context, st *clickhouse.Store) error {
	var conds []string
	var args []any
	for p, seqs := range t.byPlat {
		if t.low[p] < len(seqs) {
			conds = append(conds, "(platform = ? AND id >= ? AND id < ?)")
			args = append(args, p, benchID(t.prefix, int(seqs[t.low[p]])), t.prefix+";")
		}
	}
	if len(conds) == 0 {
		return nil
	}
	rows, err := st.Conn().Query(ctx, "SELECT id FROM earshot.mentions WHERE "+strings.Join(conds, " OR "), args...)
	if err != nil {
		return fmt.Errorf("bench poll: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range ids {
		seq, err := strconv.Atoi(strings.TrimPrefix(id, t.prefix+":"))
		if err != nil || seq < 0 || seq >= len(t.vis) || t.vis[seq] != 0 {
			continue
		}
		t.vis[seq] = now.UnixNano()
		t.seen++
		if t.seen == len(t.vis) {
			t.last = now
		}
	}
	for p, seqs := range t.byPlat {
		i := t.low[p]
		for i < len(seqs) && t.vis[seqs[i]] != 0 {
			i++
		}
		t.low[p] = i
	}
	return nil
}

func (t *tracker) wait(ctx context.Context, timeout time.Duration, pollErr func() error) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		t.mu.Lock()
		seen, last := t.seen, t.last
		t.mu.Unlock()
		if seen == len(t.vis) {
			return last, nil
		}
		if err := pollErr(); err != nil {
			return time.Time{}, err
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("bench: %w: only %d of %d mentions (%s:*) visible in ClickHouse after %s", errNotDrained, seen, len(t.vis), t.prefix, timeout)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// visible is the number of mentions seen in ClickHouse so far.
func (t *tracker) visible() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seen
}

func (t *tracker) latencies() []float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]float64, 0, len(t.vis))
	for i, v := range t.vis {
		if v != 0 && t.pub[i] != 0 {
			out = append(out, float64(v-t.pub[i])/1e9)
		}
	}
	return out
}

func median(v []float64) float64 { return quantile(v, 0.5) }

// quantile is the nearest-rank quantile (q=1 is the maximum).
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func printE2E(w io.Writer, r *e2eReport) error {
	fmt.Fprintf(w, "earshot bench (%s): %d mentions per round (%.0f B of JSON on average, %.0f%% articles), %d topic rules, %d CPUs\n\n",
		r.Mode, r.Workload.Mentions, r.Workload.MeanJSONBytes, 100*r.Workload.ArticleFraction, r.Workload.TopicRules, r.Machine.CPUs)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "round\tmentions\tseconds\tmentions/s\tCPU s/1M earshot\tnats\tclickhouse\tbench\tlost\tduplicated")
	for _, x := range r.Rounds {
		c := x.CPUPerMillion
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%d\t%d\n", x.Kind, x.Mentions, x.Seconds, x.MentionsPerSecond,
			c["earshot"], c["nats"], c["clickhouse"], c["bench"], x.Lost, x.Duplicated)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if r.Mode == "rounds" {
		fmt.Fprintf(tw, "earshot, median\t%.0f mentions/s\n", r.MentionsPerSecond)
		fmt.Fprintf(tw, "ceiling (NATS hops + bare insert, no enrichment), median\t%.0f mentions/s\n", r.CeilingMentionsPerSecond)
		fmt.Fprintf(tw, "ratio\t%.2f\n", r.Ratio)
	} else {
		fmt.Fprintf(tw, "earshot, steady\t%.0f mentions/s\n", r.MentionsPerSecond)
	}
	fmt.Fprintf(tw, "publish to queryable at %.0f mentions/s\tp50 %.2f s, p99 %.2f s, max %.2f s\n", r.LatencyRate, r.P50, r.P99, r.Max)
	fmt.Fprintf(tw, "CPU s per 1M mentions\tearshot %.0f, nats %.0f, clickhouse %.0f\n",
		r.CPUPerMillion["earshot"], r.CPUPerMillion["nats"], r.CPUPerMillion["clickhouse"])
	fmt.Fprintf(tw, "peak RSS\tearshot %d MiB, nats %d MiB, clickhouse %d MiB\n",
		r.PeakRSSByProcess["earshot"]>>20, r.PeakRSSByProcess["nats"]>>20, r.PeakRSSByProcess["clickhouse"]>>20)
	fmt.Fprintf(tw, "lost / duplicated (ClickHouse: sent − uniqExact(id) / count() FINAL − uniqExact(id))\t%d / %d\n", r.Lost, r.Duplicated)
	if m := r.Memory; m != nil {
		fmt.Fprintf(tw, "memory flat\t%v (RSS %d → %d MiB, %+.1f%%, after a %.0f s warm-up)\n", m.Flat, m.FirstRSS>>20, m.LastRSS>>20, 100*m.Growth, m.WarmupSeconds)
		if m.FirstHeapLive > 0 {
			fmt.Fprintf(tw, "  live heap\t%d → %d MiB, %+.1f%% (Go runtime, same quarters)\n", m.FirstHeapLive>>20, m.LastHeapLive>>20, 100*m.HeapLiveGrowth)
		}
		for _, sb := range m.Bounds {
			fmt.Fprintf(tw, "  %s (%s %d)\t%d %s, bound reached after %.0f s (-1: not reached)\n", sb.State, sb.Key, sb.Bound, sb.Entries, sb.unit(), sb.ReachedSeconds)
		}
		if m.Reason != "" {
			fmt.Fprintf(tw, "  why\t%s\n", m.Reason)
		}
	}
	for _, x := range r.Rounds {
		if !x.Drained {
			fmt.Fprintf(tw, "NOT DRAINED\t%s: %d of %d mentions queryable by the deadline; the figures cover those\n", x.Kind, x.Visible, x.Mentions)
		}
	}
	return tw.Flush()
}
