package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// SinkConfig tunes the sink role's batching. A batch is written when it
// reaches BatchRows or BatchBytes, or FlushInterval after its first message.
type SinkConfig struct {
	BatchRows     int            `yaml:"batch_rows"`     // default 10000
	BatchBytes    int            `yaml:"batch_bytes"`    // default 16 MiB of wire JSON
	FlushInterval time.Duration  `yaml:"flush_interval"` // default 1s
	Workers       int            `yaml:"workers"`        // batches per process: one fills while the others are written (default 2)
	Consumer      ConsumerConfig `yaml:"consumer"`
}

// SinkRunner consumes enriched mentions and writes them to a Sink in
// batches, acknowledging the messages only after the Sink accepted the
// batch. While the store is down it retries the same batch with backoff,
// keeping the messages in progress, so nothing is lost or reordered.
type SinkRunner struct {
	JS      jetstream.JetStream
	Sink    Sink
	Config  SinkConfig
	Metrics *Metrics
	Logger  *slog.Logger
	Durable string // default "sink"
	// DrainTimeout bounds the final flush at shutdown (default 10s).
	DrainTimeout time.Duration
}

const stageSink = "sink"

// EnsureConsumer creates the role's durable consumer (or brings it to this
// configuration) and returns it; Run calls it, `earshot migrate` too.
func (r *SinkRunner) EnsureConsumer(ctx context.Context) (jetstream.Consumer, error) {
	c := &r.Config
	if c.BatchRows <= 0 {
		c.BatchRows = 10000
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = 16 << 20
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = time.Second
	}
	c.Consumer = c.Consumer.withDefaults()
	if r.Durable == "" {
		r.Durable = stageSink
	}
	if c.Workers <= 0 {
		c.Workers = 2
	}
	return ensureConsumer(ctx, r.JS, StreamEnriched, r.Durable, SubjectEnrichedPrefix+">", c.Consumer, 2*c.BatchRows*c.Workers)
}

// Run processes until ctx is done. A write in flight is let finish, and
// held messages written, within DrainTimeout; what is still not stored stays
// unacknowledged and is redelivered after a restart.
func (r *SinkRunner) Run(ctx context.Context) error {
	cons, err := r.EnsureConsumer(ctx)
	if err != nil {
		return err
	}
	log := r.Logger.With("component", stageSink)
	var (
		wg     sync.WaitGroup
		gather sync.Mutex
	)
	for range r.Config.Workers {
		wg.Go(func() { r.work(ctx, log, cons, &gather) })
	}
	wg.Wait()
	return nil
}

// work is one batching loop: fetch, accumulate, write, ack. Workers share
// the consumer, so one fetches while another waits for its insert.
//
// One worker at a time gathers (holds gather until its batch is full or
// FlushInterval old): the workers take turns rather than splitting the
// stream between two half-full batches. Each INSERT then carries all the
// mentions of its interval, so at a steady rate there are half as many
// inserts, and a mention waits no longer (its batch still flushes at most
// FlushInterval after its first message). A part costs ClickHouse a fixed
// amount of CPU however few rows it holds (tens of ms on 18.16, merges
// included: `go test -bench ServerCPUByBatch ./sink/clickhouse/`), so the
// fewer, larger inserts are most of what the server spends per mention.
func (r *SinkRunner) work(ctx context.Context, log *slog.Logger, cons jetstream.Consumer, gather *sync.Mutex) {
	var (
		pending []jetstream.Msg
		ms      []*Mention
		bytes   int
		first   time.Time
	)
	// A write in flight when the role stops is let finish: cut off, an
	// INSERT the server had already committed would be written again by the
	// drain below (or by the redelivery after a restart), two physical rows
	// of one mention. wctx ends DrainTimeout after ctx, which bounds the
	// whole stop.
	wctx, cancelGrace := afterGrace(ctx, r.drainTimeout())
	defer cancelGrace()
	for ctx.Err() == nil {
		gather.Lock()
		r.gather(ctx, log, cons, &pending, &ms, &bytes, &first)
		gather.Unlock()
		if ctx.Err() != nil || len(pending) == 0 {
			continue // ctx done: the drain below writes what is held
		}
		if err := r.flush(ctx, wctx, log, pending, ms); err != nil {
			break // ctx done: leave unacknowledged for redelivery
		}
		pending, ms, bytes = pending[:0], ms[:0], 0
	}
	if len(pending) > 0 {
		// Soft stop: try to store what is held within DrainTimeout; what is
		// not stored stays unacknowledged and is redelivered after a restart.
		if err := r.flush(wctx, wctx, log, pending, ms); err != nil {
			log.Warn("stopping with unstored mentions; they will be redelivered", "count", len(pending), "err", err)
		}
	}
}

// gather fetches and decodes into the batch until it is due (BatchRows,
// BatchBytes, or FlushInterval after its first message) or ctx ends.
func (r *SinkRunner) gather(ctx context.Context, log *slog.Logger, cons jetstream.Consumer,
	pending *[]jetstream.Msg, ms *[]*Mention, bytes *int, first *time.Time) {
	c := &r.Config
	for ctx.Err() == nil {
		wait := c.FlushInterval
		if len(*pending) > 0 {
			if len(*pending) >= c.BatchRows || *bytes >= c.BatchBytes {
				return
			}
			if wait = time.Until(first.Add(c.FlushInterval)); wait < 10*time.Millisecond {
				return
			}
		}
		batch, err := cons.Fetch(c.BatchRows-len(*pending), jetstream.FetchMaxWait(wait), jetstream.FetchMaxBytes(c.BatchBytes))
		if err != nil {
			if isClosed(ctx, err) {
				return
			}
			r.Metrics.Errors.WithLabelValues(stageSink, "fetch").Inc()
			log.Warn("fetch", "err", err)
			sleepCtx(ctx, time.Second)
			continue
		}
		for msg := range batch.Messages() {
			countReplay(r.Metrics, stageSink, msg)
			if n, over := overDelivered(msg, c.Consumer.MaxDeliver); over {
				if err := deadLetter(ctx, r.JS, stageSink, msg, fmt.Sprintf("delivered %d times without being stored", n), r.Metrics, "redelivered"); err != nil {
					log.Warn("dead-letter", "err", err) // left unacked: redelivered later
					r.Metrics.Errors.WithLabelValues(stageSink, "dead_letter").Inc()
				}
				continue
			}
			m, err := Unmarshal(msg.Data())
			if err != nil {
				if err := deadLetter(ctx, r.JS, stageSink, msg, err.Error(), r.Metrics, "decode"); err != nil {
					log.Warn("dead-letter", "err", err)
					r.Metrics.Errors.WithLabelValues(stageSink, "dead_letter").Inc()
				}
				r.Metrics.Errors.WithLabelValues(stageSink, "decode").Inc()
				continue
			}
			if len(*pending) == 0 {
				*first = time.Now()
			}
			*pending = append(*pending, msg)
			*ms = append(*ms, m)
			*bytes += len(msg.Data())
		}
	}
}

func (r *SinkRunner) drainTimeout() time.Duration {
	if r.DrainTimeout > 0 {
		return r.DrainTimeout
	}
	return 10 * time.Second
}

// afterGrace returns a context that ends grace after ctx ends (or when
// the returned cancel is called). A timer still running after cancel only
// cancels again, which is harmless.
func afterGrace(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	g, cancel := context.WithCancel(context.WithoutCancel(ctx))
	unhook := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	return g, func() {
		unhook()
		cancel()
	}
}

// flush writes the batch and acknowledges it. Retries stop when ctx ends;
// each write runs under wctx, which outlives ctx by the drain timeout.
func (r *SinkRunner) flush(ctx, wctx context.Context, log *slog.Logger, msgs []jetstream.Msg, ms []*Mention) error {
	start := time.Now()
	r.Metrics.Received.WithLabelValues(stageSink).Add(float64(len(ms)))
	r.Metrics.InFlight.WithLabelValues(stageSink).Add(float64(len(ms)))
	defer r.Metrics.InFlight.WithLabelValues(stageSink).Sub(float64(len(ms)))
	stop := keepAlive(msgs, r.Config.Consumer.AckWait/3)
	var rejected []Rejection
	err := retry(ctx, log, "write batch", func(context.Context) error {
		err := r.Sink.Write(wctx, ms)
		var pw PartialWrite
		if errors.As(err, &pw) {
			rejected = pw.Rejections()
			return nil
		}
		return err
	}, func(error) { r.Metrics.Errors.WithLabelValues(stageSink, "write").Inc() })
	stop()
	if err != nil {
		return err
	}
	skip := make(map[int]bool, len(rejected))
	for _, rj := range rejected {
		if rj.Index < 0 || rj.Index >= len(msgs) || skip[rj.Index] {
			continue
		}
		skip[rj.Index] = true
		r.Metrics.Errors.WithLabelValues(stageSink, "rejected").Inc()
		if err := deadLetter(wctx, r.JS, stageSink, msgs[rj.Index], "rejected by store: "+rj.Reason, r.Metrics, "rejected"); err != nil {
			// Not acknowledged either: it is redelivered and rejected again.
			log.Warn("dead-letter", "err", err)
		}
	}
	now := time.Now()
	stored := 0
	for i, msg := range msgs {
		if skip[i] {
			continue
		}
		if err := msg.Ack(); err != nil {
			r.Metrics.Errors.WithLabelValues(stageSink, "ack").Inc() // redelivered; the table dedups by id
		}
		if !ms[i].Deleted && ms[i].EditedAt.IsZero() { // a deletion or an edit is not a late mention
			r.Metrics.IngestLag.WithLabelValues(ms[i].Platform).Observe(now.Sub(ms[i].CreatedAt).Seconds())
		}
		stored++
	}
	r.Metrics.Sent.WithLabelValues(stageSink).Add(float64(stored))
	r.Metrics.Batches.WithLabelValues(stageSink).Inc()
	r.Metrics.Processing.WithLabelValues(stageSink).Observe(time.Since(start).Seconds())
	r.Metrics.LastProcessed.WithLabelValues(stageSink).SetToCurrentTime()
	return nil
}
