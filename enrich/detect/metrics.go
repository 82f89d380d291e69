package detect

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the detect role's own metrics. Labels are bounded: topic is
// a configured topic id or "_all", platform a platform (at most
// MaxPlatforms) or "_all", resolution a configured resolution ("5m"),
// kind one of four alert kinds, outcome one of Outcome's values. Only the
// leader sets the per-series gauges; a standby resets them, so
// max by (topic, platform, resolution) over replicas is the leader's.
type Metrics struct {
	Rate             *prometheus.GaugeVec   // earshot_topic_mentions_rate
	BaselineRate     *prometheus.GaugeVec   // earshot_topic_baseline_rate
	Score            *prometheus.GaugeVec   // earshot_topic_anomaly_score
	NegativeShare    *prometheus.GaugeVec   // earshot_topic_negative_share
	NegativeBaseline *prometheus.GaugeVec   // earshot_topic_negative_share_baseline
	Alerts           *prometheus.CounterVec // earshot_alerts_total
	Resolved         *prometheus.CounterVec // earshot_alerts_resolved_total
	Muted            *prometheus.CounterVec // earshot_detect_alerts_muted_total
	EventOpen        *prometheus.GaugeVec   // earshot_topic_event_open
	Mentions         *prometheus.CounterVec // earshot_detect_mentions_total
	Leader           prometheus.Gauge       // earshot_detect_leader
	Watermark        prometheus.Gauge       // earshot_detect_watermark_timestamp_seconds
	Closed           prometheus.Gauge       // earshot_detect_closed_timestamp_seconds
	Checkpoints      *prometheus.CounterVec // earshot_detect_checkpoints_total
	AlertsStored     *prometheus.CounterVec // earshot_detect_alerts_stored_total
}

var seriesLabels = []string{"topic", "platform", "resolution"}

// NewMetrics creates the metrics and registers them on reg. A collector
// already registered there (a second Runner in one process) is reused.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Rate: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "earshot_topic_mentions_rate",
			Help: "Mentions per minute in the last closed bucket of a series (topic id or _all, platform or _all, resolution)."}, seriesLabels),
		BaselineRate: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "earshot_topic_baseline_rate",
			Help: "Mentions per minute the detector expected in the last closed bucket (seasonal baseline)."}, seriesLabels),
		Score: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "earshot_topic_anomaly_score",
			Help: "Detector anomaly score of the last closed bucket, 0 to 1; alerts from 0.5."}, seriesLabels),
		NegativeShare: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "earshot_topic_negative_share",
			Help: "Share of negative mentions over the detector's ramp window (default 3h), 0 to 1."}, seriesLabels),
		NegativeBaseline: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "earshot_topic_negative_share_baseline",
			Help: "Usual share of negative mentions of the series, 0 to 1."}, seriesLabels),
		Alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_alerts_total",
			Help: "Alerts emitted (published on alerts.<kind>), by kind, topic and platform."}, []string{"kind", "topic", "platform"}),
		Resolved: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_alerts_resolved_total",
			Help: "Alerted events that ended, the series back at its baseline (published on alerts.resolved), by the event's kind, topic and platform."}, []string{"kind", "topic", "platform"}),
		Muted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_detect_alerts_muted_total",
			Help: "Buckets that would have alerted but ended more than detect.live_within before they were judged (a backlog): learnt from, not alerted on; by kind, topic and platform."}, []string{"kind", "topic", "platform"}),
		EventOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "earshot_topic_event_open",
			Help: "1 while the series has an alerted event not yet resolved, else 0."}, seriesLabels),
		Mentions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_detect_mentions_total",
			Help: "Enriched mentions the detect role processed, by outcome (counted, redelivered, duplicate, late, unscoped, undecodable)."}, []string{"outcome"}),
		Leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "earshot_detect_leader",
			Help: "1 while this process holds the detect lease and counts, else 0."}),
		Watermark: prometheus.NewGauge(prometheus.GaugeOpts{Name: "earshot_detect_watermark_timestamp_seconds",
			Help: "Event time of the detector: the newest mention created_at counted (or the wall clock when idle)."}),
		Closed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "earshot_detect_closed_timestamp_seconds",
			Help: "Event time up to which buckets are closed and judged, plus the grace: time() minus this is the detection delay."}),
		Checkpoints: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_detect_checkpoints_total",
			Help: "Detector checkpoints written to NATS KV, by outcome (ok, error, fenced)."}, []string{"outcome"}),
		AlertsStored: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_detect_alerts_stored_total",
			Help: "Alerts from stream ALERTS written to the alert store (ClickHouse), by outcome (ok, error, rejected, undecodable)."}, []string{"outcome"}),
	}
	m.Rate = register(reg, m.Rate)
	m.BaselineRate = register(reg, m.BaselineRate)
	m.Score = register(reg, m.Score)
	m.NegativeShare = register(reg, m.NegativeShare)
	m.NegativeBaseline = register(reg, m.NegativeBaseline)
	m.Alerts = register(reg, m.Alerts)
	m.Resolved = register(reg, m.Resolved)
	m.Muted = register(reg, m.Muted)
	m.EventOpen = register(reg, m.EventOpen)
	m.Mentions = register(reg, m.Mentions)
	m.Leader = register(reg, m.Leader)
	m.Watermark = register(reg, m.Watermark)
	m.Closed = register(reg, m.Closed)
	m.Checkpoints = register(reg, m.Checkpoints)
	m.AlertsStored = register(reg, m.AlertsStored)
	return m
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic("detect: register metric: " + err.Error())
	}
	return c
}

// observe sets a series' gauges from its latest verdict.
func (m *Metrics) observe(o Observation) {
	l := []string{o.Series.Topic, o.Series.Platform, resLabel(o.Series.Resolution)}
	mins := o.Series.Resolution.Minutes()
	m.Rate.WithLabelValues(l...).Set(o.Bucket.Count / mins)
	m.BaselineRate.WithLabelValues(l...).Set(o.Result.Expected / mins)
	m.Score.WithLabelValues(l...).Set(o.Result.Score)
	m.NegativeShare.WithLabelValues(l...).Set(o.Result.NegativeShare)
	m.NegativeBaseline.WithLabelValues(l...).Set(o.Result.NegativeBaseline)
	open := 0.0
	if o.Open {
		open = 1
	}
	m.EventOpen.WithLabelValues(l...).Set(open)
}

// closed counts what a newly judged bucket adds to the counters.
func (m *Metrics) closed(o Observation) {
	if o.Result.Muted {
		m.Muted.WithLabelValues(o.Result.Kind, o.Series.Topic, o.Series.Platform).Inc()
	}
}

// standby clears what only a leader reports.
func (m *Metrics) standby() {
	m.Leader.Set(0)
	for _, g := range []*prometheus.GaugeVec{m.Rate, m.BaselineRate, m.Score, m.NegativeShare, m.NegativeBaseline, m.EventOpen} {
		g.Reset()
	}
}

func (m *Metrics) watermark(w, closed time.Time) {
	if !w.IsZero() {
		m.Watermark.Set(float64(w.UnixNano()) / 1e9)
	}
	if !closed.IsZero() {
		m.Closed.Set(float64(closed.UnixNano()) / 1e9)
	}
}
