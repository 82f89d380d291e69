package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/earshot-dev/earshot/enrich/topics"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
)

// Re-enrichment: earshot reenrich runs the current enrichment chain over
// stored mentions and writes new versions of the ones whose enrichment
// changed, straight to ClickHouse (see README, "Re-enrichment", for why not
// through the ENRICHED stream).

// ReenrichBucket holds the re-enrichment checkpoints, one key per run.
const ReenrichBucket = "earshot_reenrich"

// reenrichParams are what a run re-enriches.
type reenrichParams struct {
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until"`
	Topics []string  `json:"topics,omitempty"` // only these topics' membership changes (nil: all)
	Stages []string  `json:"stages"`           // the stages run, in chain order
}

// reenrichCheckpoint is a run's state in ReenrichBucket: written after each
// batch ClickHouse accepted, so a killed run continues after the last
// stored batch (a batch redone after a kill finds its rows already
// re-enriched, and writes nothing).
type reenrichCheckpoint struct {
	Params reenrichParams `json:"params"`
	// Stamp is the run's start, stored as enriched_at on every row it
	// writes (the same across resumptions, so a redone batch writes the
	// same rows).
	Stamp      time.Time      `json:"stamp"`
	Total      uint64         `json:"total"` // live mentions in the range when the run started
	Done       uint64         `json:"done"`
	Changed    uint64         `json:"changed"`
	After      clickhouse.Key `json:"after"`
	Finished   bool           `json:"finished"`
	FinishedAt time.Time      `json:"finished_at,omitzero"`
}

// reenrichMetrics are exported by earshot reenrich (--listen) and by the
// process that runs enrich.reenrich_on_change.
type reenrichMetrics struct {
	rows      *prometheus.CounterVec
	remaining prometheus.Gauge
	last      prometheus.Gauge
	failures  prometheus.Counter
}

func newReenrichMetrics(reg prometheus.Registerer) *reenrichMetrics {
	m := &reenrichMetrics{
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_reenrich_rows_total",
			Help: "Stored mentions re-enriched, by outcome: changed (a new version written) or unchanged."}, []string{"outcome"}),
		remaining: prometheus.NewGauge(prometheus.GaugeOpts{Name: "earshot_reenrich_rows_remaining",
			Help: "Mentions the running re-enrichment has still to read (0 when none runs)."}),
		last: prometheus.NewGauge(prometheus.GaugeOpts{Name: "earshot_reenrich_checkpoint_timestamp_seconds",
			Help: "When the re-enrichment last stored its checkpoint."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "earshot_reenrich_failures_total",
			Help: "Automatic re-enrichments (enrich.reenrich_on_change) that failed; each is logged."}),
	}
	reg.MustRegister(m.rows, m.remaining, m.last, m.failures)
	m.rows.WithLabelValues("changed")
	m.rows.WithLabelValues("unchanged")
	return m
}

// reenricher runs re-enrichments.
type reenricher struct {
	store   *clickhouse.Store
	kv      jetstream.KeyValue
	chain   []pipeline.Enricher // the configured chain
	metrics *reenrichMetrics
	log     *slog.Logger
	// progress, when set, gets a progress line about every second (with a
	// carriage return on a terminal).
	progress io.Writer
	tty      bool
	rate     float64 // mentions per second read and enriched; 0: unthrottled
	batch    int     // mentions per read and write (default 256)
	now      func() time.Time
	// afterBatch (tests) is called after each stored checkpoint; an error
	// stops the run as a kill would.
	afterBatch func(reenrichCheckpoint) error

	rev uint64 // revision of the checkpoint this run last read or wrote
}

// errReenrichTaken means another process advanced the same run's
// checkpoint: it is running it, and this one stops.
var errReenrichTaken = errors.New("another process is running this re-enrichment (its checkpoint moved on)")

// errReenrichStopped is what afterBatch returns to stop a test run.
var errReenrichStopped = errors.New("re-enrichment stopped")

// selectStages returns the stages of the chain named in names (all of
// them when names is empty), in chain order.
func selectStages(chain []pipeline.Enricher, names []string) ([]pipeline.Enricher, error) {
	if len(names) == 0 {
		return chain, nil
	}
	var out []pipeline.Enricher
	var known []string
	for _, st := range chain {
		known = append(known, st.Name())
		if slices.Contains(names, st.Name()) {
			out = append(out, st)
		}
	}
	for _, n := range names {
		if !slices.Contains(known, n) {
			return nil, fmt.Errorf("--stages: %q is not a stage of the configured chain (%s)", n, strings.Join(known, ","))
		}
	}
	return out, nil
}

// reenrichKey is the checkpoint key of a run, from its arguments as given
// (so `--since 7d` resumes the run it started, not one 7 days back from now).
func reenrichKey(prefix string, args ...string) string {
	h := sha256.Sum256([]byte(strings.Join(args, "\x00")))
	return prefix + "." + hex.EncodeToString(h[:8])
}

// loadCheckpoint returns the stored checkpoint of key, or nil.
func (r *reenricher) loadCheckpoint(ctx context.Context, key string) (*reenrichCheckpoint, error) {
	e, err := r.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reenrich: read checkpoint %s: %w", key, err)
	}
	var cp reenrichCheckpoint
	if err := json.Unmarshal(e.Value(), &cp); err != nil {
		return nil, fmt.Errorf("reenrich: checkpoint %s is not valid: %w", key, err)
	}
	r.rev = e.Revision()
	return &cp, nil
}

func (r *reenricher) saveCheckpoint(ctx context.Context, key string, cp *reenrichCheckpoint) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	// Compare-and-set on the revision this run holds: two processes on
	// one run (two replicas applying reenrich_on_change, a command started
	// twice) cannot both advance it; the one that loses stops.
	var rev uint64
	if r.rev == 0 {
		rev, err = r.kv.Create(ctx, key, b)
	} else {
		rev, err = r.kv.Update(ctx, key, b, r.rev)
	}
	var apiErr *jetstream.APIError
	if errors.Is(err, jetstream.ErrKeyExists) || (errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence) {
		return fmt.Errorf("reenrich: checkpoint %s: %w", key, errReenrichTaken)
	}
	if err != nil {
		return fmt.Errorf("reenrich: store checkpoint %s: %w", key, err)
	}
	r.rev = rev
	r.metrics.last.Set(float64(r.now().Unix()))
	return nil
}

// run re-enriches p under the checkpoint key: it continues a stored,
// unfinished run of key (whose parameters win over p), or starts one.
func (r *reenricher) run(ctx context.Context, key string, p reenrichParams, restart bool) (*reenrichCheckpoint, error) {
	r.rev = 0 // of this key: set by loadCheckpoint when it exists
	cp, err := r.loadCheckpoint(ctx, key)
	if err != nil {
		return nil, err
	}
	if cp != nil && !cp.Finished && !restart {
		r.log.Info("reenrich: resuming", "key", key, "done", cp.Done, "of", cp.Total)
	} else {
		cp = &reenrichCheckpoint{Params: p, Stamp: r.now().UTC().Truncate(time.Millisecond)}
		n, err := r.store.CountLive(ctx, clickhouse.ReadRange{Since: p.Since, Until: p.Until})
		if err != nil {
			return nil, err
		}
		cp.Total = n
		if err := r.saveCheckpoint(ctx, key, cp); err != nil {
			return nil, err
		}
	}
	stages, err := selectStages(r.chain, cp.Params.Stages)
	if err != nil {
		return nil, err
	}
	if len(cp.Params.Topics) > 0 && !slices.ContainsFunc(stages, func(st pipeline.Enricher) bool { return st.Name() == topics.Name }) {
		return nil, fmt.Errorf("--topic needs the %s stage among --stages", topics.Name)
	}
	batch := r.batch
	if batch <= 0 {
		batch = 256
	}
	if r.rate > 0 {
		batch = max(1, min(batch, int(r.rate)))
	}
	started, startDone := r.now(), cp.Done
	lastShown := time.Time{}
	defer r.metrics.remaining.Set(0)
	for {
		if err := ctx.Err(); err != nil {
			return cp, err
		}
		page, err := r.store.ReadLive(ctx, clickhouse.ReadRange{Since: cp.Params.Since, Until: cp.Params.Until, After: cp.After}, batch)
		if err != nil {
			return cp, err
		}
		if len(page) == 0 {
			break
		}
		changed, err := reenrichBatch(ctx, stages, cp.Params.Topics, page, r.metrics)
		if err != nil {
			return cp, err
		}
		if err := r.write(ctx, changed, cp.Stamp); err != nil {
			return cp, err
		}
		last := page[len(page)-1]
		cp.After = clickhouse.Key{CreatedAt: last.CreatedAt, Platform: last.Platform, ID: last.ID}
		cp.Done += uint64(len(page))
		cp.Changed += uint64(len(changed))
		if err := r.saveCheckpoint(ctx, key, cp); err != nil {
			return cp, err
		}
		r.metrics.rows.WithLabelValues("changed").Add(float64(len(changed)))
		r.metrics.rows.WithLabelValues("unchanged").Add(float64(len(page) - len(changed)))
		r.metrics.remaining.Set(float64(cp.Total - min(cp.Done, cp.Total)))
		if r.progress != nil && r.now().Sub(lastShown) >= time.Second {
			lastShown = r.now()
			r.showProgress(cp, started, startDone, false)
		}
		if r.afterBatch != nil {
			if err := r.afterBatch(*cp); err != nil {
				return cp, err
			}
		}
		if r.rate > 0 {
			// Paced from the start: mentions done so far at rate.
			due := started.Add(time.Duration(float64(cp.Done-startDone) / r.rate * float64(time.Second)))
			if d := due.Sub(r.now()); d > 0 {
				sleepCtx(ctx, d)
			}
		}
	}
	cp.Finished, cp.FinishedAt = true, r.now().UTC()
	if err := r.saveCheckpoint(ctx, key, cp); err != nil {
		return cp, err
	}
	if r.progress != nil {
		r.showProgress(cp, started, startDone, true)
	}
	return cp, nil
}

// write stores the changed mentions, retrying while ClickHouse is
// unavailable. A retried batch may be stored twice: the rows are equal
// (same collected_at and enriched_at), and FINAL keeps one.
func (r *reenricher) write(ctx context.Context, ms []*pipeline.Mention, stamp time.Time) error {
	b := pipeline.Backoff{Min: 200 * time.Millisecond, Max: 10 * time.Second}
	for {
		err := r.store.WriteReenriched(ctx, ms, stamp)
		if err == nil || !clickhouse.Retryable(err) {
			return err
		}
		r.log.Warn("reenrich: write failed; retrying", "err", err)
		sleepCtx(ctx, b.Next())
		if ctx.Err() != nil {
			return err
		}
	}
}

func (r *reenricher) showProgress(cp *reenrichCheckpoint, started time.Time, startDone uint64, final bool) {
	el := r.now().Sub(started).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(cp.Done-startDone) / el
	}
	pct := 100.0
	if cp.Total > 0 {
		pct = min(100, 100*float64(cp.Done)/float64(cp.Total))
	}
	eta := "-"
	if rate > 0 && cp.Total > cp.Done {
		eta = (time.Duration(float64(cp.Total-cp.Done)/rate) * time.Second).Round(time.Second).String()
	}
	if final {
		eta = "done"
	}
	line := fmt.Sprintf("reenrich: %d of %d rows (%.0f%%), %d changed, %.0f rows/s, ETA %s", cp.Done, cp.Total, pct, cp.Changed, rate, eta)
	switch {
	case r.tty && final:
		fmt.Fprintf(r.progress, "\r\033[K%s\n", line)
	case r.tty:
		fmt.Fprintf(r.progress, "\r\033[K%s", line)
	default:
		fmt.Fprintln(r.progress, line)
	}
}

// reenrichBatch runs stages over copies of the stored mentions in page and
// returns the ones whose stored row would change. With only set, the
// topics stage changes membership of those topics alone; the others stay
// as stored.
func reenrichBatch(ctx context.Context, stages []pipeline.Enricher, only []string, page []*pipeline.Mention, m *reenrichMetrics) ([]*pipeline.Mention, error) {
	work := make([]*pipeline.Mention, len(page))
	for i, old := range page {
		work[i] = cloneMention(old)
		e := &work[i].Enrichment
		// A stage run again replaces its failure of last time.
		e.Errors = slices.DeleteFunc(e.Errors, func(se pipeline.StageError) bool {
			return slices.ContainsFunc(stages, func(st pipeline.Enricher) bool { return st.Name() == se.Stage })
		})
		if len(e.Errors) == 0 {
			e.Errors = nil
		}
	}
	if err := pipeline.RunChain(ctx, stages, work, nil); err != nil {
		return nil, err
	}
	var changed []*pipeline.Mention
	for i, nm := range work {
		if len(only) > 0 {
			nm.Enrichment.Topics = mergeTopics(page[i].Enrichment.Topics, nm.Enrichment.Topics, only)
		}
		if !clickhouse.SameStoredRow(page[i], nm) {
			changed = append(changed, nm)
		}
	}
	return changed, nil
}

// mergeTopics returns old with the membership of the topics in only taken
// from computed: in computed's order, then old's other topics.
func mergeTopics(old, computed, only []string) []string {
	var out []string
	for _, t := range computed {
		if slices.Contains(only, t) || slices.Contains(old, t) {
			out = append(out, t)
		}
	}
	for _, t := range old {
		if !slices.Contains(only, t) && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if slices.Equal(slices.Sorted(slices.Values(out)), slices.Sorted(slices.Values(old))) {
		return old // same membership: keep the stored order
	}
	return out
}

// cloneMention copies m deeply enough that a stage changing the copy
// leaves m as read.
func cloneMention(m *pipeline.Mention) *pipeline.Mention {
	c := *m
	e := &c.Enrichment
	if e.Sentiment != nil {
		s := *e.Sentiment
		e.Sentiment = &s
	}
	for _, s := range []*[]string{&e.Topics, &e.Hashtags, &e.Mentions, &e.Cashtags, &e.Links, &e.Domains, &e.Emoji, &e.Trends} {
		*s = slices.Clone(*s)
	}
	e.Spans = slices.Clone(e.Spans)
	e.Errors = slices.Clone(e.Errors)
	e.Versions = maps.Clone(e.Versions)
	return &c
}

// parseTimeArg reads an RFC 3339 time, a date (UTC midnight), "now", or a
// time before now such as 30d, 12h.
func parseTimeArg(flagName, s string, now time.Time) (time.Time, error) {
	if s == "now" {
		return now.UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	d, err := parseSince(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s %q: want an RFC 3339 time, a date (2026-11-01), now, or a time ago such as 30d or 12h", flagName, s)
	}
	return now.Add(-d).UTC(), nil
}

func init() {
	register("reenrich", func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := newFlagSet("reenrich", stderr)
		cfgPath := configFlag(fs)
		since := fs.String("since", "", "re-enrich mentions created from `T` (RFC 3339, 2026-11-01, or 30d ago)")
		until := fs.String("until", "now", "… up to `T` (exclusive)")
		var topicIDs, stageNames nameList
		fs.Var(&topicIDs, "topic", "change only this `topic`'s membership (repeat or separate with commas; implies --stages topics)")
		fs.Var(&stageNames, "stages", "run only these `stages` of the configured chain (comma-separated; default: all)")
		rate := fs.Float64("rate", 500, "at most `N` mentions per second (0: unthrottled), so live enrichment keeps its latency")
		listen := fs.String("listen", "", "serve the run's metrics at http://`ADDR`/metrics")
		restart := fs.Bool("restart", false, "start over instead of continuing an unfinished run with the same arguments")
		cfg, err := parseAndLoad(fs, cfgPath, args)
		if err != nil {
			return err
		}
		if *since == "" {
			return fmt.Errorf("%w: earshot reenrich --since T [--until T] [--topic ID…] [--stages a,b] [--rate N] [--config FILE]", errUsage)
		}
		now := time.Now()
		p := reenrichParams{Topics: []string(topicIDs)}
		if p.Since, err = parseTimeArg("since", *since, now); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if p.Until, err = parseTimeArg("until", *until, now); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if !p.Until.After(p.Since) {
			return fmt.Errorf("%w: --until %s is not after --since %s", errUsage, p.Until.Format(time.RFC3339), p.Since.Format(time.RFC3339))
		}
		if *rate < 0 {
			return fmt.Errorf("%w: --rate %v must not be negative", errUsage, *rate)
		}
		p.Stages = []string(stageNames)
		if len(p.Topics) > 0 && len(p.Stages) == 0 {
			p.Stages = []string{topics.Name}
		}
		cfg.Log.Level = "warn"
		in := newInfra(cfg)
		defer in.Close()
		chain, err := cfg.Chain(&pipeline.EnricherEnv{Logger: in.log})
		if err != nil {
			return err
		}
		if _, err := selectStages(chain, p.Stages); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if len(p.Stages) == 0 {
			for _, st := range chain {
				p.Stages = append(p.Stages, st.Name())
			}
		}
		if err := in.openClickHouse(ctx, false); err != nil {
			return err
		}
		if err := in.openNATS(ctx, false); err != nil {
			return err
		}
		kv, err := reenrichBucket(ctx, cfg, in)
		if err != nil {
			return err
		}
		if *listen != "" {
			ln, err := net.Listen("tcp", *listen)
			if err != nil {
				return fmt.Errorf("--listen %s: %w", *listen, err)
			}
			srv := &http.Server{Handler: promhttp.HandlerFor(in.reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
			go func() { _ = srv.Serve(ln) }()
			defer srv.Close()
		}
		r := &reenricher{store: in.store, kv: kv, chain: chain, metrics: newReenrichMetrics(in.reg), log: in.log,
			progress: stderr, tty: isTerminal(stderr), rate: *rate, now: time.Now}
		key := reenrichKey("run", *since, *until, strings.Join(p.Topics, ","), strings.Join([]string(stageNames), ","))
		backlog := sinkBacklog(ctx, in.js)
		cp, err := r.run(ctx, key, p, *restart)
		if err != nil {
			if cp != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
				fmt.Fprintf(stdout, "reenrich stopped after %d of %d mentions (%d changed); run the same command again to continue\n", cp.Done, cp.Total, cp.Changed)
			}
			return err
		}
		fmt.Fprintf(stdout, "re-enriched %d mentions created %s … %s with %s: %d changed, %d unchanged\n",
			cp.Done, cp.Params.Since.Format(time.RFC3339), cp.Params.Until.Format(time.RFC3339),
			strings.Join(cp.Params.Stages, ","), cp.Changed, cp.Done-cp.Changed)
		if backlog > 0 {
			fmt.Fprintf(stdout, "note: the sink had %d enriched mentions not yet stored when this run started; one of them stored later "+
				"over a re-enriched mention brings its older enrichment back: once the sink has caught up, run this again with --restart "+
				"(it rewrites only the mentions that differ)\n", backlog)
		}
		return nil
	})
}

// sinkBacklog is how many enriched mentions the sink has not stored yet
// (0 when it cannot tell: no sink consumer yet).
func sinkBacklog(ctx context.Context, js jetstream.JetStream) uint64 {
	c, err := js.Consumer(ctx, pipeline.StreamEnriched, "sink")
	if err != nil {
		return 0
	}
	info := c.CachedInfo()
	return info.NumPending + uint64(max(info.NumAckPending, 0))
}

// reenrichBucket opens (creating) the checkpoint bucket.
func reenrichBucket(ctx context.Context, cfg *Config, in *infra) (jetstream.KeyValue, error) {
	return pipeline.EnsureKeyValue(ctx, in.js, reenrichBucketConfig(cfg))
}

func reenrichBucketConfig(cfg *Config) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket: ReenrichBucket, Description: "earshot reenrich: checkpoints of re-enrichment runs",
		History: 1, Storage: jetstream.FileStorage, Replicas: max(cfg.NATS.Streams.Replicas, 1),
	}
}

// nameList is a repeatable, comma-separated list of names.
type nameList []string

func (l *nameList) String() string { return strings.Join(*l, ",") }

func (l *nameList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(*l, p) {
			*l = append(*l, p)
		}
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
