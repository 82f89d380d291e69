package detect

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/earshot-dev/earshot/pipeline"
)

// stage is the detect role's stage label in the pipeline metrics.
const stage = "detect"

// Runner is the streaming detect role: it consumes stream ENRICHED with
// its own durable consumer, counts mentions into series while it holds the
// lease, checkpoints to NATS KV, publishes alerts to alerts.<kind>, and
// (with a Store) writes the ALERTS stream to the store. Run as many
// replicas as wanted: one counts, the others stand by.
type Runner struct {
	JS     jetstream.JetStream
	Config Config
	Topics []pipeline.Topic
	// Store receives every alert of stream ALERTS (its own durable
	// consumer, shared by the replicas); nil turns that off.
	Store AlertStore
	// Metrics are the pipeline metrics (stage "detect"); the detect
	// metrics are registered on Metrics.Reg.
	Metrics *pipeline.Metrics
	Logger  *slog.Logger
	// Holder names this process in the lease (default host-pid-random).
	Holder string

	m *Metrics
	// crashAt, in tests, makes Run return at a named point as a crash
	// would: without acknowledging, checkpointing further or releasing.
	crashAt string
	// leading, in tests, is called with the Counter when this process
	// starts counting.
	leading func(*Counter)
}

// errCrash is returned at a test's crash point.
var errCrash = errors.New("simulated crash")

// DefaultHolder is a lease holder name unique to this process.
func DefaultHolder() string {
	host, _ := os.Hostname()
	var b [3]byte
	_, _ = rand.Read(b[:])
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

// EnsureResources creates the detect bucket and the role's consumers
// (`earshot migrate` calls it so replicas start against existing ones).
func (r *Runner) EnsureResources(ctx context.Context) error {
	if err := r.Config.Validate(); err != nil {
		return err
	}
	if _, _, err := r.ensure(ctx, r.Config.WithDefaults()); err != nil {
		return err
	}
	if r.Store != nil {
		w := &AlertWriter{JS: r.JS}
		if _, err := pipeline.EnsureConsumer(ctx, r.JS, pipeline.StreamAlerts, w.consumerConfig()); err != nil {
			return err
		}
	}
	return nil
}

// ensure opens the bucket and the counting consumer, creating them.
func (r *Runner) ensure(ctx context.Context, cfg Config) (jetstream.KeyValue, jetstream.Consumer, error) {
	kv, err := OpenBucket(ctx, r.JS, cfg.Bucket, cfg.Replicas)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Consumer.AckWait <= 0 {
		cfg.Consumer.AckWait = time.Minute
	}
	cons, err := pipeline.EnsureConsumer(ctx, r.JS, pipeline.StreamEnriched, jetstream.ConsumerConfig{
		Durable:       cfg.Durable,
		Description:   "earshot detect: counts enriched mentions into series",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.Consumer.AckWait,
		MaxDeliver:    -1,
		FilterSubject: pipeline.SubjectEnrichedPrefix + ">",
		MaxAckPending: 2 * cfg.BatchSize,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, nil, err
	}
	return kv, cons, nil
}

// Run runs until ctx is done; it returns an error only when it cannot run
// at all (bad config, no stream).
func (r *Runner) Run(ctx context.Context) error {
	if err := r.Config.Validate(); err != nil {
		return err
	}
	cfg := r.Config.WithDefaults()
	if r.Holder == "" {
		r.Holder = DefaultHolder()
	}
	if r.m == nil {
		r.m = NewMetrics(r.Metrics.Reg)
	}
	log := r.Logger.With("component", stage, "holder", r.Holder)
	kv, cons, err := r.ensure(ctx, cfg)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	if r.Store != nil {
		w := &AlertWriter{JS: r.JS, Store: r.Store, Metrics: r.m, Logger: r.Logger}
		g.Go(func() error { return w.Run(gctx) })
	}
	g.Go(func() error {
		lease := NewLease(kv, r.Holder, cfg.LeaseTTL)
		r.m.standby()
		for gctx.Err() == nil {
			ok, err := lease.TryAcquire(gctx)
			if err != nil && gctx.Err() == nil {
				r.Metrics.Errors.WithLabelValues(stage, "lease").Inc()
				log.Warn("lease", "err", err)
			}
			if !ok {
				sleepCtx(gctx, cfg.LeaseTTL/4)
				continue
			}
			log.Info("detect lease acquired; counting")
			err = r.lead(gctx, log, cfg, kv, cons, lease)
			r.m.standby()
			if errors.Is(err, errCrash) {
				return err // the whole process "dies"
			}
			rctx, cancel := context.WithTimeout(context.WithoutCancel(gctx), 5*time.Second)
			if rerr := lease.Release(rctx); rerr != nil {
				log.Warn("release lease", "err", rerr)
				r.Metrics.Errors.WithLabelValues(stage, "lease").Inc()
			}
			cancel()
			if gctx.Err() != nil {
				return nil
			}
			r.Metrics.Errors.WithLabelValues(stage, "leadership").Inc()
			log.Warn("stopped counting; standing by", "err", err)
			sleepCtx(gctx, cfg.LeaseTTL/4)
		}
		return nil
	})
	if err := g.Wait(); err != nil && !errors.Is(err, errCrash) {
		return err
	}
	return nil
}

// lead counts while the lease is valid. It returns why it stopped.
func (r *Runner) lead(ctx context.Context, log *slog.Logger, cfg Config, kv jetstream.KeyValue, cons jetstream.Consumer, lease *Lease) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	renewDone := make(chan struct{})
	go func() {
		defer close(renewDone)
		t := time.NewTicker(cfg.LeaseTTL / 4)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			rctx, rcancel := context.WithTimeout(ctx, cfg.LeaseTTL/2)
			err := lease.Renew(rctx)
			rcancel()
			if errors.Is(err, ErrLeaseLost) {
				cancel(ErrLeaseLost)
				return
			}
			if err != nil && ctx.Err() == nil {
				r.Metrics.Errors.WithLabelValues(stage, "lease").Inc()
				log.Warn("renew lease", "err", err)
			}
		}
	}()
	defer func() { cancel(nil); <-renewDone }()

	cps := newCheckpoints(kv)
	counter, err := NewCounter(cfg, r.Topics)
	if err != nil {
		return err
	}
	state, recs, err := cps.load(ctx)
	if err != nil {
		return err
	}
	warnings, err := counter.Restore(state, recs)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		r.Metrics.Errors.WithLabelValues(stage, "restore").Inc()
		log.Warn("restore", "detail", w)
	}
	n, err := r.replay(ctx, cfg, counter, cons)
	if err != nil {
		return err
	}
	log.Debug("restored", "series", len(recs), "watermark", counter.Watermark(), "replayed", n)
	r.m.Leader.Set(1)
	for _, o := range counter.Latest() {
		r.m.observe(o)
	}

	wait := min(time.Second, cfg.LeaseTTL/4)
	ls := &leadState{counter: counter, cps: cps, cons: cons, lease: lease, lastMsg: time.Now()}
	for {
		if ctx.Err() != nil {
			if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
				return c
			}
			return nil
		}
		if !lease.Valid() {
			return ErrLeaseLost
		}
		batch, err := fetch(ctx, cons, cfg.BatchSize, wait)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, nats.ErrConnectionClosed) {
				continue
			}
			r.Metrics.Errors.WithLabelValues(stage, "fetch").Inc()
			log.Warn("fetch", "err", err)
			sleepCtx(ctx, time.Second)
			continue
		}
		if err := r.step(ctx, log, cfg, ls, batch); err != nil {
			return err
		}
	}
}

// MaxReplay bounds the messages a new leader rereads from ENRICHED to
// rebuild its explanation samples and id set.
const MaxReplay = 200_000

// replay rereads the recent mentions the checkpoint counted, for what the
// checkpoint does not hold (see Counter.Replay): the stream from the event
// time ReplayFrom (by arrival time, which is never earlier), at most
// MaxReplay messages, up to the last counted sequence.
func (r *Runner) replay(ctx context.Context, cfg Config, counter *Counter, cons jetstream.Consumer) (int, error) {
	from := counter.ReplayFrom() // zero: no bucket closed yet, everything counted matters
	info, err := cons.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	floor := info.AckFloor.Stream
	hi := max(floor, counter.CountedThrough())
	if hi == 0 {
		return 0, nil
	}
	oc := jetstream.OrderedConsumerConfig{FilterSubjects: []string{pipeline.SubjectEnrichedPrefix + ">"},
		DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &from}
	if from.IsZero() {
		oc.DeliverPolicy, oc.OptStartTime = jetstream.DeliverAllPolicy, nil
	}
	if hi > MaxReplay {
		// Start no earlier than MaxReplay messages before hi.
		st, err := r.JS.Stream(ctx, pipeline.StreamEnriched)
		if err != nil {
			return 0, fmt.Errorf("replay: %w", err)
		}
		if m, err := st.GetMsg(ctx, hi-MaxReplay); err != nil || m.Time.After(from) {
			oc.DeliverPolicy, oc.OptStartTime, oc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, nil, hi-MaxReplay
		}
	}
	// The replay reader is removed as soon as the replay ends, and by the
	// server 30 s after its last fetch if this process dies first: a reader
	// left behind (it was seen holding some 1,400 pending messages after a
	// NATS node restart) would look like a consumer that never acknowledges.
	oc.InactiveThreshold = 30 * time.Second
	oc2, err := r.JS.OrderedConsumer(ctx, pipeline.StreamEnriched, oc)
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	defer func() {
		if info := oc2.CachedInfo(); info != nil {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = r.JS.DeleteConsumer(dctx, pipeline.StreamEnriched, info.Name)
			cancel()
		}
	}()
	now, n := time.Now(), 0
	var dec decoder
	for ctx.Err() == nil {
		msgs, err := fetch(ctx, oc2, 1000, time.Second)
		if err != nil {
			return n, fmt.Errorf("replay: %w", err)
		}
		if len(msgs) == 0 {
			return n, nil // the stream ended before hi (messages removed)
		}
		for _, msg := range msgs {
			md, err := msg.Metadata()
			if err != nil {
				continue
			}
			if md.Sequence.Stream > hi {
				return n, nil
			}
			m, err := dec.decode(msg.Data())
			if err != nil {
				continue
			}
			if counter.replay(m, &dec, md.Sequence.Stream, floor, now) {
				n++
			}
			if md.Sequence.Stream == hi {
				return n, nil
			}
		}
	}
	return n, ctx.Err()
}

// leadState is what a leader keeps between batches.
type leadState struct {
	counter   *Counter
	cps       *checkpoints
	cons      jetstream.Consumer
	lease     *Lease
	lastMsg   time.Time // wall clock of the last message
	lastFloor time.Time // wall clock of the last ack-floor read
	// marks are the watermarks reached by recent batches, by arrival:
	// buckets close by the one reached Reorder ago.
	marks []mark
	upTo  time.Time
	dec   decoder
}

type mark struct{ at, w time.Time }

// closeMark returns the event time to close buckets by at wall time now.
func (ls *leadState) closeMark(now time.Time, reorder time.Duration) time.Time {
	i := 0
	for i < len(ls.marks) && !ls.marks[i].at.After(now.Add(-reorder)) {
		ls.upTo = ls.marks[i].w
		i++
	}
	ls.marks = append(ls.marks[:0], ls.marks[i:]...)
	return ls.upTo
}

// step counts one batch (possibly empty), closes buckets, emits alerts,
// checkpoints and acknowledges.
func (r *Runner) step(ctx context.Context, log *slog.Logger, cfg Config, ls *leadState, msgs []jetstream.Msg) (err error) {
	counter, lease := ls.counter, ls.lease
	lastMsg, lastFloor := &ls.lastMsg, &ls.lastFloor
	defer func() {
		// Not counted for good: hand the messages back at once, so the next
		// leader need not wait for AckWait (a crash cannot, and waits).
		if err != nil && !errors.Is(err, errCrash) {
			for _, msg := range msgs {
				_ = msg.Nak()
			}
		}
	}()
	start := time.Now()
	now := start
	counted := 0
	if len(msgs) > 0 {
		*lastMsg = now
		r.Metrics.Received.WithLabelValues(stage).Add(float64(len(msgs)))
		r.Metrics.InFlight.WithLabelValues(stage).Set(float64(len(msgs)))
		defer r.Metrics.InFlight.WithLabelValues(stage).Set(0)
	}
	keep := msgs[:0:0]
	var outcomes [Deletion + 1]int // added to the metric once per batch
	for _, msg := range msgs {
		m, err := ls.dec.decode(msg.Data())
		if err != nil {
			// The sink dead-letters it with the reason; here it is only
			// counted and logged, and not redelivered to this consumer.
			r.m.Mentions.WithLabelValues("undecodable").Inc()
			r.Metrics.Errors.WithLabelValues(stage, "decode").Inc()
			log.Warn("undecodable enriched message; not counted", "subject", msg.Subject(), "err", err)
			_ = msg.Term()
			continue
		}
		var seq uint64
		if md, err := msg.Metadata(); err == nil {
			seq = md.Sequence.Stream
		}
		out, err := counter.count(m, &ls.dec, seq, now)
		if err != nil {
			r.Metrics.Errors.WithLabelValues(stage, "count").Inc()
			log.Warn("count", "id", m.ID, "err", err)
		}
		outcomes[out]++
		if out == Counted {
			counted++
		}
		keep = append(keep, msg)
	}
	for out, n := range outcomes {
		if n > 0 {
			r.m.Mentions.WithLabelValues(Outcome(out).String()).Add(float64(n))
		}
	}
	if counter.IDsOverflow() {
		r.Metrics.Errors.WithLabelValues(stage, "max_ids").Inc()
		log.Warn("detect.max_ids ids of the open buckets are held; newer ids are not remembered until a slot closes, so a copy of one of their mentions published again would count twice", "max_ids", cfg.MaxIDs)
	}
	if counter.PlatformOverflow() {
		r.Metrics.Errors.WithLabelValues(stage, "max_platforms").Inc()
		log.Warn("more platforms than detect.max_platforms; the others count only in topic and overall series", "max_platforms", cfg.MaxPlatforms)
	}
	if len(msgs) > 0 {
		ls.marks = append(ls.marks, mark{at: now, w: counter.Watermark()})
	}
	upTo := ls.closeMark(now, cfg.Reorder)
	if w := counter.Watermark().Add(-cfg.ReorderSpan); w.After(upTo) {
		upTo = w
	}
	if len(msgs) == 0 && time.Since(*lastMsg) >= cfg.IdleAfter && r.upstreamIdle(ctx, cfg) {
		counter.AdvanceTo(now)
		ls.marks, ls.upTo, upTo = ls.marks[:0], now, now
	}
	obs, alerts, cerr := counter.Close(upTo, now)
	if cerr != nil {
		r.Metrics.Errors.WithLabelValues(stage, "detector").Inc()
		log.Warn("detector", "err", cerr)
	}
	r.m.watermark(counter.Watermark(), counter.Closed())
	if len(msgs) == 0 && len(obs) == 0 {
		return nil
	}
	for _, o := range obs {
		r.m.observe(o)
		r.m.closed(o)
	}
	if r.crashAt == "before-publish" && len(alerts) > 0 {
		return errCrash
	}
	for i := range alerts {
		if err := r.publish(ctx, log, lease, &alerts[i]); err != nil {
			return err
		}
	}
	if r.crashAt == "before-checkpoint" && len(msgs) > 0 {
		return errCrash
	}
	// The ack floor bounds the counted sequences the checkpoint keeps.
	if time.Since(*lastFloor) > 10*time.Second {
		ictx, icancel := context.WithTimeout(ctx, 5*time.Second)
		if info, err := ls.cons.Info(ictx); err == nil {
			counter.PruneSeqs(info.AckFloor.Stream)
			*lastFloor = time.Now()
		}
		icancel()
	}
	if err := r.checkpoint(ctx, log, counter, ls.cps, lease); err != nil {
		return err
	}
	if r.crashAt == "before-ack" && len(msgs) > 0 {
		return errCrash
	}
	for _, msg := range keep {
		if err := msg.Ack(); err != nil {
			r.Metrics.Errors.WithLabelValues(stage, "ack").Inc() // redelivered and recognised by sequence
		}
	}
	r.Metrics.Sent.WithLabelValues(stage).Add(float64(counted))
	r.Metrics.Batches.WithLabelValues(stage).Inc()
	r.Metrics.Processing.WithLabelValues(stage).Observe(time.Since(start).Seconds())
	r.Metrics.LastProcessed.WithLabelValues(stage).SetToCurrentTime()
	return nil
}

// publish sends one alert to alerts.<kind> and waits for its PubAck,
// retrying while the lease is valid. A duplicate (the same id published
// before a crash or by a former leader) is not counted again.
func (r *Runner) publish(ctx context.Context, log *slog.Logger, lease *Lease, a *Alert) error {
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode alert %s: %w", a.ID, err)
	}
	b := pipeline.Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
	for {
		if !lease.Valid() {
			return ErrLeaseLost
		}
		msg := &nats.Msg{Subject: a.Subject(), Data: data, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, a.ID)
		// Without ctx's cancellation: a soft stop finishes the batch.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		ack, err := r.JS.PublishMsg(pctx, msg)
		cancel()
		if err == nil {
			if !ack.Duplicate && a.Status == StatusResolved {
				r.m.Resolved.WithLabelValues(a.Kind, a.Topic, a.Platform).Inc()
				log.Info("alert resolved", "id", a.ID, "event", a.EventID, "kind", a.Kind, "topic", a.Topic, "platform", a.Platform,
					"resolution", resLabel(time.Duration(a.ResolutionSeconds)*time.Second),
					"first", a.FirstBucket, "last", a.LastBucket, "peak", a.Peak, "peak_at", a.PeakAt)
			} else if !ack.Duplicate {
				r.m.Alerts.WithLabelValues(a.Kind, a.Topic, a.Platform).Inc()
				log.Info("alert", "id", a.ID, "kind", a.Kind, "severity", a.Severity, "topic", a.Topic, "platform", a.Platform,
					"resolution", resLabel(time.Duration(a.ResolutionSeconds)*time.Second),
					"bucket", a.BucketStart, "observed", a.Observed, "expected", a.Expected, "score", a.Score)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.Metrics.Errors.WithLabelValues(stage, "publish").Inc()
		d := b.Next()
		log.Warn("publish alert; retrying", "id", a.ID, "in", d, "err", err)
		sleepCtx(ctx, d)
	}
}

// checkpoint writes the Counter's state, retrying while the lease is
// valid; a write fenced by another process ends the leadership.
func (r *Runner) checkpoint(ctx context.Context, log *slog.Logger, counter *Counter, cps *checkpoints, lease *Lease) error {
	cp, err := counter.checkpoint(false)
	if err != nil {
		return err
	}
	b := pipeline.Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
	for {
		if !lease.Valid() {
			return ErrLeaseLost
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := cps.save(sctx, cp)
		cancel()
		switch {
		case err == nil:
			counter.MarkClean(cp)
			r.m.Checkpoints.WithLabelValues("ok").Inc()
			return nil
		case errors.Is(err, ErrFenced):
			r.m.Checkpoints.WithLabelValues("fenced").Inc()
			lease.Drop()
			return err
		case ctx.Err() != nil:
			return ctx.Err()
		}
		r.m.Checkpoints.WithLabelValues("error").Inc()
		r.Metrics.Errors.WithLabelValues(stage, "checkpoint").Inc()
		d := b.Next()
		log.Warn("checkpoint; retrying", "in", d, "err", err)
		sleepCtx(ctx, d)
	}
}

// upstreamIdle reports whether the enrich consumer has nothing left for
// ENRICHED: then a quiet input is silence, not lag. It asks the consumer's
// ack floor, not NumPending, which can read 0 right after a burst of
// PubAcks (pipeline.ConsumerCaughtUp): a false "idle" would move event time
// to the wall clock and make the burst late.
func (r *Runner) upstreamIdle(ctx context.Context, cfg Config) bool {
	if cfg.Upstream == "-" {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := r.JS.Consumer(ctx, pipeline.StreamMentions, cfg.Upstream); errors.Is(err, jetstream.ErrConsumerNotFound) {
		return true
	} else if err != nil {
		return false
	}
	ok, err := pipeline.ConsumerCaughtUp(ctx, r.JS, pipeline.StreamMentions, cfg.Upstream)
	return err == nil && ok
}

// fetch pulls up to n messages, waiting at most wait. The deadline is on
// the client side too: a pull request the server dropped (a consumer
// update by another replica, a server restart) cannot hang the loop, as a
// plain FetchMaxWait below 10s (which has no heartbeat) can.
func fetch(ctx context.Context, cons jetstream.Consumer, n int, wait time.Duration) ([]jetstream.Msg, error) {
	fctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	batch, err := cons.Fetch(n, jetstream.FetchContext(fctx))
	if err != nil {
		return nil, err
	}
	var msgs []jetstream.Msg
	for msg := range batch.Messages() {
		msgs = append(msgs, msg)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil && len(msgs) == 0 {
		return nil, err
	}
	return msgs, nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
