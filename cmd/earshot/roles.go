package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/earshot-dev/earshot/enrich/detect"
	"github.com/earshot-dev/earshot/pipeline"
)

// roles says which parts a process runs.
type roles struct {
	connect, enrich, sink, detect bool
	// console serves the console alone (every process with ClickHouse
	// serves it too).
	console bool
	// embedded allows starting embedded NATS and a managed ClickHouse.
	embedded bool
	// wrapSink, when set (by tests only), wraps the ClickHouse store the
	// sink writes to: the outage test's negative control uses it.
	wrapSink func(pipeline.Sink) pipeline.Sink
}

func init() {
	for name, r := range map[string]roles{
		"run":     {connect: true, enrich: true, sink: true, detect: true, embedded: true},
		"connect": {connect: true},
		"enrich":  {enrich: true},
		"sink":    {sink: true},
	} {
		register(name, func(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) error {
			fs := newFlagSet(name, stderr)
			cfgPath := configFlag(fs)
			quiet := quietFlag(fs)
			cfg, err := parseAndLoad(fs, cfgPath, args)
			if err != nil {
				return err
			}
			cfg.applyQuiet(*quiet)
			return runRoles(ctx, cfg, r, nil)
		})
	}
	register("migrate", func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := newFlagSet("migrate", stderr)
		cfgPath := configFlag(fs)
		cfg, err := parseAndLoad(fs, cfgPath, args)
		if err != nil {
			return err
		}
		in := newInfra(cfg)
		defer in.Close()
		if err := in.openClickHouse(ctx, false); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schema of database %s is up to date\n", in.store.Database())
		if !natsConfigured(cfg) {
			fmt.Fprintln(stdout, "nats.url is empty and no running `earshot run` was found: streams are created when the roles start")
			return nil
		}
		if err := in.openNATS(ctx, false); err != nil {
			return err
		}
		if err := ensureRoleResources(ctx, cfg, in); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "streams, key-value buckets and consumers on NATS are in place (replicas %d)\n", max(cfg.NATS.Streams.Replicas, 1))
		return nil
	})
}

// quietFlag adds --quiet, which turns the progress line off.
func quietFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("quiet", false, "no progress line (log.progress: 0)")
}

// applyQuiet turns the progress line off when quiet.
func (c *Config) applyQuiet(quiet bool) {
	if quiet {
		var off time.Duration
		c.Log.Progress = &off
	}
}

// natsConfigured reports whether a role finds a NATS server without
// starting one.
func natsConfigured(cfg *Config) bool {
	if cfg.NATS.URL != "" {
		return true
	}
	_, err := os.Stat(filepath.Join(cfg.DataDir, natsURLFile))
	return err == nil
}

// ensureRoleResources creates what the roles would create at start (the
// streams and cursor bucket are made by openNATS): the durable consumers of
// enrich, sink and detect, and the detect bucket. Creating them once, from
// one process, before the replicas start, avoids the concurrent creates a
// fresh cluster answers badly.
func ensureRoleResources(ctx context.Context, cfg *Config, in *infra) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	er := &pipeline.EnrichRunner{JS: in.js, BatchSize: cfg.Enrich.BatchSize, Workers: cfg.Enrich.Workers, Consumer: cfg.Enrich.Consumer}
	if _, err := er.EnsureConsumer(ctx); err != nil {
		return err
	}
	sr := &pipeline.SinkRunner{JS: in.js, Config: cfg.Sink}
	if _, err := sr.EnsureConsumer(ctx); err != nil {
		return err
	}
	dr := &detect.Runner{JS: in.js, Config: cfg.Detect, Topics: cfg.Topics}
	if in.store != nil {
		dr.Store = alertStore{in.store}
	}
	if err := dr.EnsureResources(ctx); err != nil {
		return err
	}
	_, err := pipeline.EnsureKeyValue(ctx, in.js, connectBucketConfig(cfg))
	return err
}

// started is called once a role's infrastructure is up (tests use it).
type started func(in *infra)

// runRoles runs the configured parts until ctx is done, then stops them:
// connectors first, then enrich, then the sink flushes what it holds.
func runRoles(ctx context.Context, cfg *Config, r roles, onStart started) error {
	in := newInfra(cfg)
	defer in.Close()
	log := in.log
	// Bind the HTTP port first: a port in use is a clear error before any
	// server starts, not a cancelled start-up later.
	if err := in.listenHTTP(); err != nil {
		return err
	}
	if err := in.openNATS(ctx, r.embedded); err != nil {
		return err
	}
	var cons interface{ Run(context.Context) }
	if r.sink || r.detect || r.embedded || r.console {
		if err := in.openClickHouse(ctx, r.embedded); err != nil {
			return err
		}
		if cfg.HTTP.Listen != "off" {
			c, err := newConsole(ctx, in)
			if err != nil {
				return err
			}
			in.console, cons = c.Handler(), c
		}
	}
	var (
		sources []NamedSource
		chain   []pipeline.Enricher
		err     error
	)
	if r.connect {
		if sources, err = cfg.Sources(); err != nil {
			return err
		}
	}
	if r.enrich {
		if chain, err = cfg.Chain(&pipeline.EnricherEnv{Logger: log}); err != nil {
			return err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return in.serveHTTP(gctx) })
	var matcher pipeline.Matcher
	if len(sources) > 0 {
		if matcher, err = topicMatcher(cfg); err != nil {
			return err
		}
	}
	if cons != nil {
		g.Go(func() error { cons.Run(gctx); return nil })
	}
	if r.connect && !r.embedded && len(sources) > 0 {
		// Replicas of `earshot connect` share the connector instances.
		shares, err := connectShares(gctx, cfg, in, sources, matcher)
		if err != nil {
			return err
		}
		g.Go(func() error { return shares.Loop(gctx) })
	} else {
		for _, s := range sources {
			env, err := sourceEnv(gctx, in, s)
			if err != nil {
				return err
			}
			env.Matcher = matcher
			g.Go(func() error { superviseSource(gctx, s, env); return nil })
		}
	}
	if r.enrich {
		names := make([]string, len(chain))
		for i, st := range chain {
			names[i] = st.Name() + "@" + st.Version()
		}
		log.Info("enrichment chain", "stages", strings.Join(names, " → "))
		er := &pipeline.EnrichRunner{JS: in.js, Chain: chain, BatchSize: cfg.Enrich.BatchSize, Workers: cfg.Enrich.Workers, Consumer: cfg.Enrich.Consumer, Metrics: in.metrics, Logger: log}
		g.Go(func() error { return er.Run(gctx) })
	}
	if r.sink {
		var sink pipeline.Sink = in.store
		if r.wrapSink != nil {
			sink = r.wrapSink(sink)
		}
		sr := &pipeline.SinkRunner{JS: in.js, Sink: sink, Config: cfg.Sink, Metrics: in.metrics, Logger: log}
		g.Go(func() error { return sr.Run(gctx) })
	}
	if r.detect {
		g.Go(func() error { return runDetect(gctx, cfg, in) })
	}
	if r.sink && cfg.Enrich.ReenrichOnChange != "" {
		if err := startAutoReenrich(gctx, g, cfg, in, chain); err != nil {
			return err
		}
	}
	if cfg.Log.Progress != nil {
		g.Go(func() error { logProgress(gctx, in.reg, log, *cfg.Log.Progress); return nil })
	}
	log.Info("earshot started", "connectors", len(sources), "enrich", r.enrich, "sink", r.sink, "detect", r.detect, "console", in.console != nil, "http", cfg.HTTP.Listen)
	if onStart != nil {
		onStart(in)
	}
	err = g.Wait()
	log.Info("earshot stopped")
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func sourceEnv(ctx context.Context, in *infra, s NamedSource) (*pipeline.SourceEnv, error) {
	cur, err := pipeline.NewKVCursors(ctx, in.js, s.Name)
	if err != nil {
		return nil, err
	}
	cm := in.metrics.Connector(sourcePlatform(s), s.Name)
	// Connectors with metrics of their own (the X read budget) register them.
	if r, ok := s.Source.(interface {
		RegisterMetrics(prometheus.Registerer) error
	}); ok {
		if err := r.RegisterMetrics(in.reg); err != nil {
			return nil, fmt.Errorf("connector %s: metrics: %w", s.Name, err)
		}
	}
	return &pipeline.SourceEnv{
		Name:      s.Name,
		Publisher: pipeline.NewRawPublisher(in.js, cm),
		Cursors:   cur,
		Logger:    in.log, // connectors scope it (component, platform, connector)
		Metrics:   cm,
	}, nil
}

// sourcePlatform is the platform a connector stores, for the platform label
// of its metrics: the configured one (an rss connector with platform: forum
// is "forum"), else the connector type.
func sourcePlatform(s NamedSource) string {
	if p, ok := s.Source.(interface{ Platform() string }); ok && p.Platform() != "" {
		return p.Platform()
	}
	return s.Type
}

// connectShares spreads the connector instances over the running `earshot
// connect` replicas (pipeline.Shares): each instance polls its feed or
// query in one replica at a time, and a dead replica's instances are
// taken over within connect.lease_ttl of its death. (`earshot run` runs them all itself.)
func connectShares(ctx context.Context, cfg *Config, in *infra, sources []NamedSource, matcher pipeline.Matcher) (*pipeline.Shares, error) {
	kv, err := pipeline.EnsureKeyValue(ctx, in.js, connectBucketConfig(cfg))
	if err != nil {
		return nil, err
	}
	byName := map[string]NamedSource{}
	envs := map[string]*pipeline.SourceEnv{}
	var names []string
	for _, s := range sources {
		env, err := sourceEnv(ctx, in, s)
		if err != nil {
			return nil, err
		}
		env.Matcher = matcher
		byName[s.Name], envs[s.Name] = s, env
		names = append(names, s.Name)
	}
	return &pipeline.Shares{
		KV: kv, Holder: detect.DefaultHolder(), TTL: cfg.Connect.LeaseTTL, Items: names,
		Logger: in.log.With("component", "connect"),
		Run:    func(ctx context.Context, name string) { superviseSource(ctx, byName[name], envs[name]) },
	}, nil
}

func connectBucketConfig(cfg *Config) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket: pipeline.ConnectBucket, Description: "earshot connect: replicas and connector instance leases",
		History: 1, Storage: jetstream.FileStorage, Replicas: max(cfg.NATS.Streams.Replicas, 1),
	}
}

// superviseSource runs a connector and restarts it with backoff when it
// fails, so one broken connector never stops the others.
func superviseSource(ctx context.Context, s NamedSource, env *pipeline.SourceEnv) {
	b := pipeline.Backoff{Min: time.Second, Max: 5 * time.Minute}
	for ctx.Err() == nil {
		t0 := time.Now()
		err := s.Source.Run(ctx, env)
		if ctx.Err() != nil {
			return
		}
		if time.Since(t0) > 10*time.Minute {
			b.Reset()
		}
		d := b.Next()
		env.Metrics.Error("crash")
		env.Logger.Error("connector stopped; restarting", "err", err, "in", d.Round(time.Millisecond))
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
}

func init() {
	register("tail", func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := newFlagSet("tail", stderr)
		cfgPath := configFlag(fs)
		platform := fs.String("platform", "", "only mentions from this `platform`")
		topic := fs.String("topic", "", "only mentions that matched this topic `id`")
		all := fs.Bool("all", false, "start from the oldest stored mention instead of new ones")
		limit := fs.Int("n", 0, "exit after `N` mentions (0: follow forever)")
		cfg, err := parseAndLoad(fs, cfgPath, args)
		if err != nil {
			return err
		}
		if *topic != "" {
			var ids []string
			for _, t := range cfg.Topics {
				ids = append(ids, t.ID)
			}
			if !contains(ids, *topic) {
				return fmt.Errorf("%w: --topic %q is not a topic of %s (configured: %s)", errUsage, *topic, cfg.File, strings.Join(ids, ", "))
			}
		}
		cfg.Log.Level = "warn"
		in := newInfra(cfg)
		defer in.Close()
		if err := in.openNATS(ctx, false); err != nil {
			return err
		}
		return tail(ctx, in.js, stdout, tailOptions{platform: *platform, topic: *topic, all: *all, limit: *limit,
			stderr: stderr, notice: tailNotice}, in.log)
	})
}

// tailNotice is how long tail waits for a first mention before it says on
// stderr what it is waiting for (then every 12 times as long).
var tailNotice = 5 * time.Second

type tailOptions struct {
	platform, topic string
	all             bool
	limit           int
	stderr          io.Writer     // where the waiting notice goes (nil: none)
	notice          time.Duration // silence before the notice
}

// waiting describes what tail waits for.
func (o tailOptions) waiting(filter string, skipped int64) string {
	s := "new mentions"
	if o.all {
		s = "mentions"
	}
	s = fmt.Sprintf("earshot tail: waiting for %s on stream %s, subject %s", s, pipeline.StreamEnriched, filter)
	if o.topic != "" {
		s += fmt.Sprintf(", topic %s (%d read so far without it)", o.topic, skipped)
	}
	return s + " (is `earshot run` or `demo` running and collecting?)"
}

// tail follows the enriched stream with an ordered (ephemeral) consumer.
func tail(ctx context.Context, js jetstream.JetStream, w io.Writer, o tailOptions, log *slog.Logger) error {
	filter := pipeline.SubjectEnrichedPrefix + ">"
	if o.platform != "" {
		filter = pipeline.SubjectEnrichedPrefix + o.platform
	}
	oc := jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverNewPolicy}
	if o.all {
		oc.DeliverPolicy = jetstream.DeliverAllPolicy
	}
	cons, err := js.OrderedConsumer(ctx, pipeline.StreamEnriched, oc)
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	go func() { <-ctx.Done(); it.Stop() }()
	var printed, skipped atomic.Int64
	if o.stderr != nil && o.notice > 0 {
		done := make(chan struct{})
		defer close(done)
		go func() {
			t := time.NewTicker(o.notice)
			defer t.Stop()
			var last int64
			for {
				select {
				case <-done:
					return
				case <-ctx.Done():
					return
				case <-t.C:
				}
				// Nothing printed since the last tick: say so, then again
				// less often.
				if p := printed.Load(); p == last {
					fmt.Fprintln(o.stderr, o.waiting(filter, skipped.Load()))
					t.Reset(12 * o.notice)
				} else {
					last = p
				}
			}
		}()
	}
	enc := json.NewEncoder(w)
	n := 0
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			return fmt.Errorf("tail: %w", err)
		}
		m, err := pipeline.Unmarshal(msg.Data())
		if err != nil {
			log.Warn("tail: skipping undecodable message", "subject", msg.Subject(), "err", err)
			continue
		}
		if o.topic != "" && !contains(m.Enrichment.Topics, o.topic) {
			skipped.Add(1)
			continue
		}
		if err := enc.Encode(m); err != nil {
			return err
		}
		printed.Add(1)
		n++
		if o.limit > 0 && n >= o.limit {
			it.Stop()
			return nil
		}
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
