package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.yaml.in/yaml/v3"
	"golang.org/x/sync/errgroup"
)

// EnrichConfig tunes the enrich role.
type EnrichConfig struct {
	// Stages is the chain, in order; empty means every registered stage in
	// its default order.
	Stages    []string             `yaml:"stages"`
	BatchSize int                  `yaml:"batch_size"` // messages fetched and enriched together (default 256)
	Options   map[string]yaml.Node `yaml:"options"`    // per-stage options, by stage name
	Workers   int                  `yaml:"workers"`    // concurrent batches per process (default 2 × GOMAXPROCS)
	Consumer  ConsumerConfig       `yaml:"consumer"`
	// MaxText caps the bytes of prose a stage reads, by stage name (0 or
	// unset: no cap). See CapText.
	MaxText map[string]int `yaml:"max_text"`
	// ReenrichOnChange ("7d", "48h"; empty: off) re-enriches the mentions
	// created in that much time back, once, when a topic query, a stage
	// version or a stage's options change (see earshot reenrich).
	ReenrichOnChange string `yaml:"reenrich_on_change"`
}

// EnrichRunner consumes raw mentions, runs the enrichment chain and
// publishes enriched copies. It acknowledges a raw message only after its
// enriched copy was acknowledged by JetStream.
type EnrichRunner struct {
	JS        jetstream.JetStream
	Chain     []Enricher
	BatchSize int
	Consumer  ConsumerConfig
	Metrics   *Metrics
	Logger    *slog.Logger
	// Durable is the consumer name shared by all enrich replicas (default "enrich").
	Durable string
	// Workers is how many batches are fetched and enriched at once
	// (default 2 × GOMAXPROCS: while one batch waits for its publish acks
	// or the next fetch, another keeps the core busy): the chain is
	// CPU-bound, while each batch also
	// waits on fetches and publish acknowledgements.
	Workers int
}

const stageEnrich = "enrich"

// EnsureConsumer creates the role's durable consumer (or brings it to this
// configuration) and returns it; Run calls it, `earshot migrate` too.
func (r *EnrichRunner) EnsureConsumer(ctx context.Context) (jetstream.Consumer, error) {
	if r.BatchSize <= 0 {
		r.BatchSize = 256
	}
	if r.Durable == "" {
		r.Durable = stageEnrich
	}
	r.Consumer = r.Consumer.withDefaults()
	if r.Workers <= 0 {
		r.Workers = 2 * runtime.GOMAXPROCS(0)
	}
	return ensureConsumer(ctx, r.JS, StreamMentions, r.Durable, SubjectRawPrefix+">", r.Consumer, 4*r.BatchSize*r.Workers)
}

// Run processes until ctx is done.
func (r *EnrichRunner) Run(ctx context.Context) error {
	cons, err := r.EnsureConsumer(ctx)
	if err != nil {
		return err
	}
	log := r.Logger.With("component", stageEnrich)
	g, ctx := errgroup.WithContext(ctx)
	for range r.Workers {
		g.Go(func() error { return r.work(ctx, log, cons) })
	}
	return g.Wait()
}

// work is one fetch-enrich-publish-ack loop; workers share the consumer.
func (r *EnrichRunner) work(ctx context.Context, log *slog.Logger, cons jetstream.Consumer) error {
	for ctx.Err() == nil {
		msgs, err := r.fetch(cons)
		if err != nil {
			if isClosed(ctx, err) {
				break
			}
			r.Metrics.Errors.WithLabelValues(stageEnrich, "fetch").Inc()
			log.Warn("fetch", "err", err)
			sleepCtx(ctx, time.Second)
			continue
		}
		if len(msgs) == 0 {
			continue
		}
		if err := r.process(ctx, log, msgs); err != nil {
			if ctx.Err() != nil {
				break
			}
			return err
		}
	}
	return nil
}

// fetch returns up to BatchSize messages: those waiting now or, when none
// are, those that arrive within a second. A backlog smaller than a batch
// (the tail of a burst) is enriched at once, instead of waiting out the
// second for a batch that will not fill.
func (r *EnrichRunner) fetch(cons jetstream.Consumer) ([]jetstream.Msg, error) {
	batch, err := cons.FetchNoWait(r.BatchSize)
	if err != nil {
		return nil, err
	}
	if msgs := collect(batch); len(msgs) > 0 {
		return msgs, nil
	}
	if batch, err = cons.Fetch(r.BatchSize, jetstream.FetchMaxWait(time.Second)); err != nil {
		return nil, err
	}
	return collect(batch), nil
}

func collect(batch jetstream.MessageBatch) []jetstream.Msg {
	var msgs []jetstream.Msg
	for msg := range batch.Messages() {
		msgs = append(msgs, msg)
	}
	return msgs
}

func (r *EnrichRunner) process(ctx context.Context, log *slog.Logger, msgs []jetstream.Msg) error {
	start := time.Now()
	r.Metrics.Received.WithLabelValues(stageEnrich).Add(float64(len(msgs)))
	r.Metrics.InFlight.WithLabelValues(stageEnrich).Add(float64(len(msgs)))
	defer r.Metrics.InFlight.WithLabelValues(stageEnrich).Sub(float64(len(msgs)))

	ms := make([]*Mention, 0, len(msgs))
	keep := make([]jetstream.Msg, 0, len(msgs))
	for _, msg := range msgs {
		countReplay(r.Metrics, stageEnrich, msg)
		if n, over := overDelivered(msg, r.Consumer.MaxDeliver); over {
			if err := deadLetter(ctx, r.JS, stageEnrich, msg, fmt.Sprintf("delivered %d times without completing", n), r.Metrics, "redelivered"); err != nil {
				return err
			}
			log.Warn("dead-lettered", "subject", msg.Subject(), "deliveries", n)
			r.Metrics.Errors.WithLabelValues(stageEnrich, "redelivered").Inc()
			continue
		}
		m, err := Unmarshal(msg.Data())
		if err == nil {
			err = m.Normalize(time.Now())
		}
		if err != nil {
			if err := deadLetter(ctx, r.JS, stageEnrich, msg, err.Error(), r.Metrics, "decode"); err != nil {
				return err
			}
			log.Warn("dead-lettered", "subject", msg.Subject(), "err", err)
			r.Metrics.Errors.WithLabelValues(stageEnrich, "decode").Inc()
			continue
		}
		ms = append(ms, m)
		keep = append(keep, msg)
	}
	if len(ms) == 0 {
		return nil
	}
	stop := keepAlive(keep, r.Consumer.AckWait/3)
	defer stop()
	if err := RunChain(ctx, r.Chain, ms, r.Metrics); err != nil {
		return err // stopping: nothing is published, the messages are redelivered
	}

	err := retry(ctx, log, "publish enriched", func(ctx context.Context) error {
		return publishReclaiming(ctx, r.JS, r.Metrics, StreamEnriched, SubjectEnrichedPrefix, ms)
	}, func(error) { r.Metrics.Errors.WithLabelValues(stageEnrich, "publish").Inc() })
	if err != nil {
		return err
	}
	for _, msg := range keep {
		if err := msg.Ack(); err != nil {
			r.Metrics.Errors.WithLabelValues(stageEnrich, "ack").Inc() // redelivered and deduplicated by id
		}
	}
	r.Metrics.Sent.WithLabelValues(stageEnrich).Add(float64(len(ms)))
	r.Metrics.Batches.WithLabelValues(stageEnrich).Inc()
	r.Metrics.Processing.WithLabelValues(stageEnrich).Observe(time.Since(start).Seconds())
	r.Metrics.LastProcessed.WithLabelValues(stageEnrich).SetToCurrentTime()
	return nil
}

// RunChain runs every stage over the batch. A stage that fails or panics on
// the batch is retried one mention at a time, so the failure is isolated and
// marked on the mentions it concerns; no mention is dropped. It returns an
// error only when ctx ends: the batch is then incomplete and must not be
// passed on. Deleted mentions (tombstones) are passed on unenriched.
// metrics may be nil.
func RunChain(ctx context.Context, chain []Enricher, batch []*Mention, metrics *Metrics) error {
	// Tombstones pass through unenriched: there is no text to enrich.
	if slices.ContainsFunc(batch, func(m *Mention) bool { return m.Deleted }) {
		live := make([]*Mention, 0, len(batch))
		for _, m := range batch {
			if !m.Deleted {
				live = append(live, m)
			}
		}
		batch = live
	}
	if len(batch) == 0 {
		return ctx.Err()
	}
	for _, st := range chain {
		t0 := time.Now()
		if err := safeEnrich(ctx, st, batch); err != nil {
			for _, m := range batch {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if err := safeEnrich(ctx, st, []*Mention{m}); err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					m.MarkError(st.Name(), err)
					if metrics != nil {
						metrics.Errors.WithLabelValues("enrich_"+st.Name(), "stage").Inc()
					}
				}
			}
		}
		if metrics != nil {
			metrics.Processing.WithLabelValues("enrich_" + st.Name()).Observe(time.Since(t0).Seconds())
		}
	}
	return ctx.Err()
}

func safeEnrich(ctx context.Context, st Enricher, batch []*Mention) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return st.Enrich(ctx, batch)
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
