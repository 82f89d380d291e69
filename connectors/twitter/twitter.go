// Package twitter is earshot's X (Twitter) connector, `type: twitter`.
//
// With api: v2 (the default) it reads the X API v2 over net/http: recent
// search polled per query with a since_id cursor, the filtered stream with
// rules synced from the configured topics, and optionally post counts. With
// api: v1.1 it reads v1.1-compatible endpoints (enterprise or self-hosted
// gateways, archive replays) through github.com/dghubble/go-twitter.
//
// Every request waits for the rate-limit window the x-rate-limit-* headers
// report, and a daily read budget (posts per UTC day, persisted in the
// cursor store) pauses reading when spent.
package twitter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/earshot-dev/earshot/pipeline"
)

func init() {
	pipeline.RegisterConnector("twitter", New)
}

// Platform is the platform name on every mention.
const Platform = "twitter"

// Source is a configured twitter connector.
type Source struct {
	cfg *settings

	// Knobs tests turn down; production values are set by newSource.
	now           func() time.Time
	backoffs      backoffs
	healthyAfter  time.Duration // a stream connection up this long resets the backoffs
	budgetRecheck time.Duration
	publishRetry  backoff
	hc            *http.Client

	mx *sourceMetrics

	mu     sync.Mutex
	counts map[string]Count
}

var _ pipeline.Source = (*Source)(nil)

func newSource(cfg *settings) *Source {
	return &Source{
		cfg:           cfg,
		now:           time.Now,
		backoffs:      defaultBackoffs(),
		healthyAfter:  cfg.StallTimeout,
		budgetRecheck: time.Minute,
		publishRetry:  backoff{base: 500 * time.Millisecond, max: 30 * time.Second, factor: 2},
		hc:            &http.Client{Transport: transport()},
		mx:            newSourceMetrics(),
		counts:        map[string]Count{},
	}
}

// transport is the HTTP transport of a source: no overall timeout (streams
// stay open), but a bound on waiting for response headers.
func transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 30 * time.Second
	return t
}

// sourceMetrics are the connector's own metrics, beyond pipeline's
// ConnectorMetrics. They count from the start and are exported once
// RegisterMetrics is called.
type sourceMetrics struct {
	recentPosts *prometheus.GaugeVec   // connector, query
	dailyReads  *prometheus.GaugeVec   // connector
	budgetSpent *prometheus.GaugeVec   // connector
	deletions   *prometheus.CounterVec // connector
	stream      *prometheus.CounterVec // connector, kind
}

func newSourceMetrics() *sourceMetrics {
	return &sourceMetrics{
		recentPosts: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "earshot_twitter_recent_posts",
			Help: "Posts matching a query in the last 24 hours, from GET /2/tweets/counts/recent (counts: true)."},
			[]string{"connector", "query"}),
		dailyReads: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "earshot_twitter_daily_reads",
			Help: "Posts read this UTC day, counted against daily_read_budget."}, []string{"connector"}),
		budgetSpent: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "earshot_twitter_read_budget_spent",
			Help: "1 while reading is paused because the daily read budget is spent."}, []string{"connector"}),
		deletions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_twitter_deletion_notices_total",
			Help: "v1.1 stream status deletion notices received (each is published as a tombstone)."}, []string{"connector"}),
		stream: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_twitter_stream_messages_total",
			Help: "Filtered stream messages by kind: post, keepalive, malformed, error, foreign, partial."},
			[]string{"connector", "kind"}),
	}
}

// RegisterMetrics registers the connector's own metrics on reg. Call it
// before Run (it swaps collectors Run uses). Several twitter connectors may register on one registry; they
// share the collectors, told apart by the connector label.
func (s *Source) RegisterMetrics(reg prometheus.Registerer) error {
	reuse := func(c prometheus.Collector) (prometheus.Collector, error) {
		err := reg.Register(c)
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			return are.ExistingCollector, nil
		}
		return c, err
	}
	var errs []error
	gauge := func(g **prometheus.GaugeVec) {
		c, err := reuse(*g)
		if err != nil {
			errs = append(errs, err)
		} else if gv, ok := c.(*prometheus.GaugeVec); ok {
			*g = gv
		}
	}
	counter := func(cv **prometheus.CounterVec) {
		c, err := reuse(*cv)
		if err != nil {
			errs = append(errs, err)
		} else if v, ok := c.(*prometheus.CounterVec); ok {
			*cv = v
		}
	}
	gauge(&s.mx.recentPosts)
	gauge(&s.mx.dailyReads)
	gauge(&s.mx.budgetSpent)
	counter(&s.mx.deletions)
	counter(&s.mx.stream)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("twitter: register metrics: %w", err)
	}
	return nil
}

// Count is the latest answer of GET /2/tweets/counts/recent for one query.
type Count struct {
	Query  string // the query's label: topic id, or "query-<hash>"
	XQuery string // the X query
	Posts  int64  // posts matching in the window (meta.total_tweet_count)
	Window time.Duration
	At     time.Time // when it was read
}

// countsWindow is the window counts are read for.
const countsWindow = 24 * time.Hour

// Counts returns the latest post counts per query (counts: true), in
// config order (topics, then queries).
func (s *Source) Counts() []Count {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Count, 0, len(s.counts))
	for _, q := range s.cfg.queries {
		if c, ok := s.counts[q.Label]; ok {
			out = append(out, c)
		}
	}
	return out
}

// run is the state of one Run call.
type run struct {
	src    *Source
	cfg    *settings
	env    *pipeline.SourceEnv
	log    *slog.Logger
	lim    *limiter
	api    *apiClient
	budget *budget
	byTag  map[string]query
}

// Run reads X until ctx is done. It returns nil on a clean stop; errors
// while reading are logged, counted and retried with backoff.
func (s *Source) Run(ctx context.Context, env *pipeline.SourceEnv) error {
	if env == nil || env.Publisher == nil || env.Cursors == nil {
		return errors.New("twitter: run: environment needs a publisher and a cursor store")
	}
	e := *env
	env = &e
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	if env.Metrics == nil {
		env.Metrics = pipeline.NewMetrics(prometheus.NewRegistry()).Connector(Platform, env.Name)
	}
	defer s.hc.CloseIdleConnections()
	r := &run{
		src: s, cfg: s.cfg, env: env,
		log:   env.Logger.With("component", "twitter", "platform", Platform, "connector", env.Name),
		lim:   newLimiter(time.Now),
		byTag: map[string]query{},
	}
	for _, q := range s.cfg.queries {
		r.byTag[q.Tag()] = q
	}
	r.lim.onRemaining = env.Metrics.RateLimitRemaining
	r.lim.onWait = func(endpoint string, until time.Time) {
		r.log.Debug("waiting for the rate-limit window to reset", "endpoint", endpoint, "reset", until.UTC())
	}
	r.lim.onSpent = r.saveRateLimits
	r.api = &apiClient{base: s.cfg.base, hc: s.hc, bearer: s.cfg.bearer, lim: r.lim, cm: env.Metrics}
	r.budget = &budget{
		limit: s.cfg.DailyReadBudget, cursors: env.Cursors, now: s.now, recheck: s.budgetRecheck,
		onUsed: func(n int64) {
			s.mx.dailyReads.WithLabelValues(env.Name).Set(float64(n))
			if s.cfg.DailyReadBudget == 0 || n < s.cfg.DailyReadBudget {
				s.mx.budgetSpent.WithLabelValues(env.Name).Set(0)
			}
		},
		onSpent: func(day string, used int64, resume time.Time) {
			s.mx.budgetSpent.WithLabelValues(env.Name).Set(1)
			r.warn("budget_spent", "daily read budget spent; reading paused until the next UTC day",
				"day", day, "reads", used, "budget", s.cfg.DailyReadBudget, "resume", resume)
		},
	}
	if err := r.budget.load(ctx); err != nil {
		return fmt.Errorf("twitter %s: %w", env.Name, err)
	}
	r.loadRateLimits(ctx)

	g, gctx := errgroup.WithContext(ctx)
	v11 := s.cfg.API == APIv11
	if s.cfg.Mode.Has(ModeStream) {
		if v11 {
			g.Go(func() error { return r.v1Stream(gctx) })
		} else {
			g.Go(func() error { return r.v2Stream(gctx) })
		}
	}
	if s.cfg.Mode.Has(ModeSearch) {
		if v11 {
			g.Go(func() error { return r.v1Search(gctx) })
		} else {
			g.Go(func() error { return r.v2Search(gctx) })
		}
	}
	if s.cfg.Counts {
		g.Go(func() error { return r.countsLoop(gctx) })
	}
	err := g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// rateLimitsCursorKey keeps the spent rate-limit windows, so a restart does
// not send requests the last headers said X would refuse.
const rateLimitsCursorKey = "rate-limits"

func (r *run) saveRateLimits(spent map[string]time.Time) {
	raw, _ := json.Marshal(spent)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.env.Cursors.Put(ctx, rateLimitsCursorKey, raw); err != nil {
		r.warn("cursor", "saving rate-limit windows failed", "error", err)
	}
}

func (r *run) loadRateLimits(ctx context.Context) {
	raw, err := r.env.Cursors.Get(ctx, rateLimitsCursorKey)
	if err != nil {
		if !errors.Is(err, pipeline.ErrNoCursor) {
			r.warn("cursor", "loading rate-limit windows failed", "error", err)
		}
		return
	}
	var spent map[string]time.Time
	if err := json.Unmarshal(raw, &spent); err != nil {
		r.warn("cursor", "ignoring unreadable rate-limit windows", "error", err)
		return
	}
	r.lim.restore(spent)
}

// warn logs a warning and counts it, as every warning is.
func (r *run) warn(typ, msg string, args ...any) {
	r.env.Metrics.Error(typ)
	r.log.Warn(msg, append(args, "type", typ)...)
}

// logAPIError logs a failed request: credentials problems at error level
// with what to do, the rest as warnings. Each is counted.
func (r *run) logAPIError(what string, err error, args ...any) {
	typ := errType(err)
	if typ == "auth" {
		r.env.Metrics.Error(typ)
		r.log.Error(what+": X refused the credentials; check the token or keys, and that the app is in a Project whose access level includes this endpoint",
			append(args, "error", err, "type", typ)...)
		return
	}
	r.warn(typ, what, append(args, "error", err)...)
}

// publish publishes ms, retrying with backoff until the stream acknowledged
// them or ctx is done: the posts are already read (and paid for).
func (r *run) publish(ctx context.Context, ms []*pipeline.Mention) error {
	if len(ms) == 0 {
		return nil
	}
	bo := r.src.publishRetry
	for {
		err := r.env.Publisher.Publish(ctx, ms)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := bo.next()
		r.warn("publish", "publishing mentions failed; retrying", "mentions", len(ms), "error", err, "retry_in", wait)
		if err := sleepCtx(ctx, wait); err != nil {
			return err
		}
	}
}

// source is Mention.Source for a query: "<connector>/<X query>".
func (r *run) source(q string) string { return r.env.Name + "/" + q }
