package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
)

// `earshot bench` measures the pipeline on this machine, each step next to a
// baseline measured in the same run (the machine may be shared and noisy:
// compare the ratios, not the absolute rates).
func init() {
	register("bench", func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := newFlagSet("bench", stderr)
		n := fs.Int("n", 50000, "`mentions` per round (per step with --steps)")
		rounds := fs.Int("rounds", 3, "ceiling and earshot `rounds`, alternating; medians are reported")
		jsonOut := fs.Bool("json", false, "print the report as JSON (keys documented in the README)")
		duration := fs.Duration("duration", 0, "steady mode: publish at --rate for this `long` and report whether memory stays flat")
		rate := fs.Float64("rate", 0, "`mentions/s` of the paced phase (default: 80% of earshot's measured rate; required with --duration)")
		latencyFor := fs.Duration("latency-for", 20*time.Second, "how `long` the paced latency phase publishes after the rounds")
		drainTimeout := fs.Duration("drain-timeout", 5*time.Minute, "how `long` a paced phase waits, after it stops publishing, for its last mentions to be queryable; past it the report says drained: false")
		seed := fs.Uint64("seed", 1, "workload `seed`")
		steps := fs.Bool("steps", false, "instead: time each step in one process next to its own baseline")
		withCH := fs.Bool("clickhouse", true, "with --steps: also measure the sink against a managed local clickhouse-server")
		cpuProfile := fs.String("cpuprofile", "", "with --steps: write a CPU profile of the run to `file` (go tool pprof)")
		profileDir := fs.String("profile", "", "write CPU profiles of the earshot and NATS processes to `dir` (earshot.pprof, nats.pprof), their heap profiles when they stop (.heap.pprof), and with --duration earshot's heap profile every minute (earshot.heap.<seconds>.pprof)")
		cfgPath := fs.String("config", "", "config `file` whose topics, enrich and sink settings to use (default: 1,000 generated topic rules)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		cfg := &Config{File: "(bench)"}
		var detectSection any
		if *cfgPath != "" {
			var err error
			if cfg, err = LoadConfig(*cfgPath); err != nil {
				return err
			}
			if detectSection, err = configSection(*cfgPath, "detect"); err != nil {
				return err
			}
		}
		if len(cfg.Topics) == 0 {
			cfg.Topics = benchTopics(1000)
		}
		if *steps {
			if *cpuProfile != "" {
				f, err := os.Create(*cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			return runBench(ctx, cfg, *n, *seed, *withCH, stdout)
		}
		if *n < 1 || *rounds < 1 {
			return fmt.Errorf("%w: --n and --rounds must be positive", errUsage)
		}
		return runBenchE2E(ctx, e2eOptions{n: *n, rounds: *rounds, seed: *seed, duration: *duration, rate: *rate,
			latencyFraction: 0.8, latencyFor: *latencyFor, drainTimeout: *drainTimeout, jsonOut: *jsonOut, profileDir: *profileDir, cfg: cfg, detect: detectSection}, stdout, stderr)
	})
}

type benchRow struct {
	step, baseline string
	rate, baseRate float64
}

func runBench(ctx context.Context, cfg *Config, n int, seed uint64, withCH bool, w io.Writer) error {
	dir, err := os.MkdirTemp("", "earshot-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := pipeline.StartEmbeddedNATS(pipeline.EmbeddedNATSOptions{Dir: filepath.Join(dir, "nats"), Port: -1})
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	if err := pipeline.EnsureStreams(ctx, js, pipeline.StreamsConfig{MaxBytes: 8 << 30}); err != nil {
		return err
	}
	chain, err := cfg.Chain(nil)
	if err != nil {
		return err
	}
	ms := roundCopies(benchWorkload(seed, n, brandNames(cfg.Topics)), "bench")
	metrics := pipeline.NewMetrics(prometheus.NewRegistry())
	var rows []benchRow
	fmt.Fprintf(w, "earshot bench: %d mentions, %d topic rules, chain %d stages\n", n, len(cfg.Topics), len(chain))

	// 1. Publish: raw JetStream async publish of the same bytes vs earshot's publisher.
	payloads := make([][]byte, n)
	for i, m := range ms {
		_ = m.Normalize(time.Now())
		payloads[i], _ = m.Marshal()
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BENCH", Subjects: []string{"bench.>"}}); err != nil {
		return err
	}
	t0 := time.Now()
	var futs []jetstream.PubAckFuture
	for i, p := range payloads {
		f, err := js.PublishAsync("bench.raw", p, jetstream.WithMsgID(ms[i].ID))
		if err != nil {
			return err
		}
		futs = append(futs, f)
	}
	for _, f := range futs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return err
		}
	}
	base := float64(n) / time.Since(t0).Seconds()
	t0 = time.Now()
	if err := pipeline.NewRawPublisher(js, nil).Publish(ctx, ms); err != nil {
		return err
	}
	rows = append(rows, benchRow{"connector publish (normalize, JSON, msg-id, wait acks)", "raw JetStream PublishAsync of the same bytes",
		float64(n) / time.Since(t0).Seconds(), base})

	// 2. Chain in-process on every core (what the enrich role could reach)
	// vs a JSON decode+encode pass (the floor of any stage).
	batch := make([]*pipeline.Mention, n)
	t0 = time.Now()
	for i, p := range payloads {
		m, _ := pipeline.Unmarshal(p)
		batch[i] = m
		_, _ = m.Marshal()
	}
	base = float64(n) / time.Since(t0).Seconds()
	chainRate := func(batch []*pipeline.Mention) float64 {
		var wg sync.WaitGroup
		next := make(chan []*pipeline.Mention)
		t0 := time.Now()
		for range runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for b := range next {
					pipeline.RunChain(ctx, chain, b, nil)
				}
			})
		}
		for i := 0; i < len(batch); i += 256 {
			next <- batch[i:min(i+256, len(batch))]
		}
		close(next)
		wg.Wait()
		return float64(len(batch)) / time.Since(t0).Seconds()
	}
	// Warm the chain (caches, dedup index) on a copy, as the role is warm
	// by the time it is measured.
	warm := make([]*pipeline.Mention, min(n, 2000))
	for i := range warm {
		warm[i], _ = pipeline.Unmarshal(payloads[i])
	}
	chainRate(warm)
	chainAlone := chainRate(batch)
	rows = append(rows, benchRow{fmt.Sprintf("enrichment chain, in process, %d goroutines", runtime.GOMAXPROCS(0)), "JSON decode + encode of each mention",
		chainAlone, base})

	// 3. Enrich role through JetStream vs a consumer that only acks.
	cons, err := js.CreateOrUpdateConsumer(ctx, "BENCH", jetstream.ConsumerConfig{Durable: "ack", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 4096})
	if err != nil {
		return err
	}
	t0 = time.Now()
	for got := 0; got < n; {
		// As the enrich role fetches: what is waiting, else wait up to a
		// second (a plain Fetch(256) waits out the second for the last,
		// partial batch, which made this baseline slower than the role).
		b, err := cons.FetchNoWait(256)
		if err != nil {
			return err
		}
		k := 0
		for msg := range b.Messages() {
			_ = msg.Ack()
			k++
		}
		if k == 0 {
			if b, err = cons.Fetch(256, jetstream.FetchMaxWait(time.Second)); err != nil {
				return err
			}
			for msg := range b.Messages() {
				_ = msg.Ack()
				k++
			}
		}
		got += k
	}
	base = float64(n) / time.Since(t0).Seconds()
	rctx, cancel := context.WithCancel(ctx)
	er := &pipeline.EnrichRunner{JS: js, Chain: chain, BatchSize: cfg.Enrich.BatchSize, Workers: cfg.Enrich.Workers, Metrics: metrics, Logger: discardLogger}
	t0 = time.Now()
	done := make(chan error, 1)
	go func() { done <- er.Run(rctx) }()
	if err := waitStream(ctx, js, pipeline.StreamEnriched, n); err != nil {
		cancel()
		return err
	}
	rate := float64(n) / time.Since(t0).Seconds()
	cancel()
	<-done
	rows = append(rows, benchRow{"enrich role: fetch, chain, publish, ack", "fetch and ack only", rate, base},
		benchRow{"enrich role: fetch, chain, publish, ack", "the chain alone, in process (step 2)", rate, chainAlone})

	// 4. Sink role through JetStream into ClickHouse vs direct batched writes.
	if withCH {
		ls, err := clickhouse.StartLocal(ctx, clickhouse.LocalOptions{Dir: filepath.Join(dir, "clickhouse")})
		if err != nil {
			return fmt.Errorf("bench sink (use --clickhouse=false to skip): %w", err)
		}
		defer ls.Stop()
		st, err := clickhouse.Open(ctx, ls.ClientConfig(clickhouse.Config{Database: "bench_direct"}))
		if err != nil {
			return err
		}
		defer st.Close()
		if err := st.Migrate(ctx); err != nil {
			return err
		}
		t0 = time.Now()
		for i := 0; i < n; i += 10000 {
			if err := st.Write(ctx, batch[i:min(i+10000, n)]); err != nil {
				return err
			}
		}
		base = float64(n) / time.Since(t0).Seconds()
		sk, err := clickhouse.Open(ctx, ls.ClientConfig(clickhouse.Config{Database: "bench_sink"}))
		if err != nil {
			return err
		}
		defer sk.Close()
		if err := sk.Migrate(ctx); err != nil {
			return err
		}
		rctx, cancel := context.WithCancel(ctx)
		sr := &pipeline.SinkRunner{JS: js, Sink: sk, Config: cfg.Sink, Metrics: metrics, Logger: discardLogger}
		t0 = time.Now()
		go func() { done <- sr.Run(rctx) }()
		for {
			var c uint64
			if err := sk.Conn().QueryRow(ctx, "SELECT count() FROM bench_sink.mentions").Scan(&c); err != nil {
				cancel()
				return err
			}
			if int(c) >= n {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		rate := float64(n) / time.Since(t0).Seconds()
		cancel()
		<-done
		rows = append(rows, benchRow{"sink role: fetch, batch, insert, ack", "Store.Write of 10k-row batches, no NATS", rate, base})
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "step\tmentions/s\tbaseline\tbaseline/s\tratio")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%.0f\t%.2f\n", r.step, r.rate, r.baseline, r.baseRate, r.rate/r.baseRate)
	}
	return tw.Flush()
}

func waitStream(ctx context.Context, js jetstream.JetStream, stream string, n int) error {
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		s, err := js.Stream(ctx, stream)
		if err != nil {
			return err
		}
		info, err := s.Info(ctx)
		if err != nil {
			return err
		}
		if int(info.State.Msgs) >= n {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("bench: %s did not reach %d messages", stream, n)
}

// benchTopics generates n rules of the shapes analysts write.
func benchTopics(n int) []pipeline.Topic {
	r := rand.New(rand.NewPCG(7, 11))
	syl := strings.Fields("zen tra vo lix cor nex qua mo ri ta bel fin gro sol vex ar ky lum pra den osk ul")
	words := strings.Fields("outage refund recall lawsuit broken crash scam leak boycott delay price launch")
	out := make([]pipeline.Topic, 0, n+1)
	out = append(out, pipeline.Topic{ID: "acme", Query: `acme* OR @acme OR $acme`})
	for i := 1; i < n; i++ {
		var b strings.Builder
		for range 2 + r.IntN(2) {
			b.WriteString(syl[r.IntN(len(syl))])
		}
		w := words[r.IntN(len(words))]
		q := []string{b.String(), fmt.Sprintf(`%s OR "%s app" OR #%s`, b.String(), b.String(), b.String()),
			fmt.Sprintf(`%s AND (%s OR %s*)`, b.String(), w, w), fmt.Sprintf(`%s NEAR/3 %s NOT job*`, b.String(), w)}[i%4]
		out = append(out, pipeline.Topic{ID: fmt.Sprintf("t%04d", i), Query: q})
	}
	return out
}

// configSection returns one top-level section of a config file as plain
// YAML values, or nil when the file has none: the bench hands it to its
// earshot child as written.
func configSection(path, key string) (any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var top map[string]any
	if err := yaml.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return top[key], nil
}
