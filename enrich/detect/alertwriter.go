package detect

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/earshot-dev/earshot/pipeline"
)

// DefaultAlertsDurable is the consumer on stream ALERTS that feeds the
// alert store.
const DefaultAlertsDurable = "detect_alerts"

// AlertWriter writes every alert of stream ALERTS to an AlertStore, in
// order, acknowledging each only after the store accepted it: the stream
// is the alert's commit point and the store follows it at least once
// (stores deduplicate by id). Several may run on one durable consumer.
type AlertWriter struct {
	JS      jetstream.JetStream
	Store   AlertStore
	Durable string // default DefaultAlertsDurable
	Metrics *Metrics
	Logger  *slog.Logger
}

// ErrAlertRejected is wrapped by an AlertStore error for an alert the
// store can never accept (no retry helps).
var ErrAlertRejected = errors.New("alert rejected by store")

// consumerConfig is the writer's durable consumer on ALERTS.
func (w *AlertWriter) consumerConfig() jetstream.ConsumerConfig {
	if w.Durable == "" {
		w.Durable = DefaultAlertsDurable
	}
	return jetstream.ConsumerConfig{
		Durable:       w.Durable,
		Description:   "earshot detect: writes alerts to the alert store",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       time.Minute,
		MaxDeliver:    -1,
		FilterSubject: pipeline.SubjectAlertsPrefix + ">",
		MaxAckPending: 256,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
}

// Run writes alerts until ctx is done.
func (w *AlertWriter) Run(ctx context.Context) error {
	log := w.Logger.With("component", "detect_alerts")
	cons, err := pipeline.EnsureConsumer(ctx, w.JS, pipeline.StreamAlerts, w.consumerConfig())
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		msgs, err := fetch(ctx, cons, 64, time.Second)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, nats.ErrConnectionClosed) {
				break
			}
			w.Metrics.AlertsStored.WithLabelValues("error").Inc()
			log.Warn("fetch", "err", err)
			sleepCtx(ctx, time.Second)
			continue
		}
		for _, msg := range msgs {
			if ctx.Err() != nil {
				break // unacknowledged: redelivered
			}
			w.write(ctx, log, msg)
		}
	}
	return nil
}

func (w *AlertWriter) write(ctx context.Context, log *slog.Logger, msg jetstream.Msg) {
	var a Alert
	if err := json.Unmarshal(msg.Data(), &a); err != nil || a.ID == "" {
		w.Metrics.AlertsStored.WithLabelValues("undecodable").Inc()
		log.Warn("undecodable alert; not stored", "subject", msg.Subject(), "err", err)
		_ = msg.Term()
		return
	}
	b := pipeline.Backoff{Min: 200 * time.Millisecond, Max: 30 * time.Second}
	for {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := w.Store.WriteAlert(wctx, a)
		cancel()
		if err == nil {
			w.Metrics.AlertsStored.WithLabelValues("ok").Inc()
			_ = msg.Ack()
			return
		}
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrAlertRejected) {
			w.Metrics.AlertsStored.WithLabelValues("rejected").Inc()
			log.Error("alert rejected by the store; it stays on stream ALERTS only", "id", a.ID, "err", err)
			_ = msg.Term()
			return
		}
		w.Metrics.AlertsStored.WithLabelValues("error").Inc()
		d := b.Next()
		log.Warn("store alert; retrying", "id", a.ID, "in", d, "err", err)
		_ = msg.InProgress()
		sleepCtx(ctx, d)
	}
}
