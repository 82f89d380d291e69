package pipeline

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds every earshot metric, registered on a registry passed in.
// Labels are bounded: stage, component, platform, connector (operator
// configured), outcome, error type and configured topic ids.
type Metrics struct {
	Reg prometheus.Registerer

	// Per stage (connector, enrich, sink, detect).
	Received      *prometheus.CounterVec   // stage
	Sent          *prometheus.CounterVec   // stage
	Errors        *prometheus.CounterVec   // stage, type
	InFlight      *prometheus.GaugeVec     // stage
	Processing    *prometheus.HistogramVec // stage
	LastProcessed *prometheus.GaugeVec     // stage
	Batches       *prometheus.CounterVec   // stage
	DeadLettered  *prometheus.CounterVec   // stage, reason
	Replayed      *prometheus.CounterVec   // stage: replayed dead letters received

	// Connectors.
	ConnRequests  *prometheus.CounterVec // platform, connector, outcome
	ConnMentions  *prometheus.CounterVec // platform, connector
	ConnErrors    *prometheus.CounterVec // platform, connector, type
	ConnRateLimit *prometheus.GaugeVec   // platform, connector: remaining requests as last reported
	ConnSkipped   *prometheus.CounterVec // platform, connector, reason: items read and deliberately not published

	// Full streams (see Reclaim).
	StreamReclaimed *prometheus.CounterVec // stream: acknowledged messages freed from a full stream
	StreamPushBack  *prometheus.CounterVec // stream: publishes refused by a full stream its consumers had not caught up on

	// End to end.
	IngestLag *prometheus.HistogramVec // platform: created_at -> stored, seconds
	LogEvents *prometheus.CounterVec   // component, level: every warning/error log is counted
}

// NewMetrics creates and registers the metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Reg: reg,
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_stage_received_total",
			Help: "Mentions received by a stage."}, []string{"stage"}),
		Sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_stage_sent_total",
			Help: "Mentions a stage passed on (published or stored)."}, []string{"stage"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_stage_errors_total",
			Help: "Errors in a stage by type."}, []string{"stage", "type"}),
		InFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "earshot_stage_in_flight",
			Help: "Mentions a stage holds unacknowledged."}, []string{"stage"}),
		Processing: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "earshot_stage_processing_seconds",
			Help:    "Time a stage spent on one batch.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10)}, []string{"stage"}),
		LastProcessed: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "earshot_stage_last_processed_timestamp_seconds",
			Help: "Unix time a stage last finished a batch."}, []string{"stage"}),
		Batches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_stage_batches_total",
			Help: "Batches a stage finished."}, []string{"stage"}),
		DeadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_stage_dead_lettered_total",
			Help: "Messages a stage moved to the dead-letter stream, by reason."}, []string{"stage", "reason"}),
		Replayed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_stage_replayed_total",
			Help: "Replayed dead letters (earshot dlq replay) a stage received."}, []string{"stage"}),
		ConnRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_connector_requests_total",
			Help: "Platform requests by outcome (ok, not_modified, rate_limited, error)."}, []string{"platform", "connector", "outcome"}),
		ConnMentions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_connector_mentions_total",
			Help: "Mentions a connector published and had acknowledged."}, []string{"platform", "connector"}),
		ConnErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_connector_errors_total",
			Help: "Connector errors by type."}, []string{"platform", "connector", "type"}),
		ConnRateLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "earshot_connector_rate_limit_remaining",
			Help: "Requests left in the platform's current rate-limit window, as last reported."}, []string{"platform", "connector"}),
		ConnSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_connector_skipped_total",
			Help: "Items a connector read and deliberately did not publish, by reason (removed, unmatched, …)."}, []string{"platform", "connector", "reason"}),
		IngestLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "earshot_ingest_lag_seconds",
			Help:    "Time from a mention's created_at to its storage.",
			Buckets: prometheus.ExponentialBuckets(1, 3, 12)}, []string{"platform"}),
		LogEvents: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_log_events_total",
			Help: "Warning and error log lines by component and level."}, []string{"component", "level"}),
	}
	reg.MustRegister(m.Received, m.Sent, m.Errors, m.InFlight, m.Processing, m.LastProcessed, m.Batches,
		m.DeadLettered, m.Replayed, m.ConnRequests, m.ConnMentions, m.ConnErrors, m.ConnRateLimit, m.ConnSkipped, m.IngestLag, m.LogEvents)
	m.StreamReclaimed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_stream_reclaimed_messages_total",
		Help: "Messages every holding consumer had acknowledged, removed from a full stream to make room."}, []string{"stream"})
	m.StreamPushBack = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_stream_pushback_total",
		Help: "Publishes a full stream refused because its consumers had not acknowledged enough yet (the publisher retries)."}, []string{"stream"})
	reg.MustRegister(m.StreamReclaimed, m.StreamPushBack)
	return m
}

// ConnectorMetrics are the metrics of one connector instance.
type ConnectorMetrics struct {
	m                  *Metrics
	platform, instance string
}

// Connector returns the metrics labelled for one connector instance.
func (m *Metrics) Connector(platform, name string) *ConnectorMetrics {
	return &ConnectorMetrics{m: m, platform: platform, instance: name}
}

// Request counts one platform request by outcome: "ok", "not_modified",
// "rate_limited", "error".
func (c *ConnectorMetrics) Request(outcome string) {
	c.m.ConnRequests.WithLabelValues(c.platform, c.instance, outcome).Inc()
}

// Published counts mentions acknowledged by the stream.
func (c *ConnectorMetrics) Published(n int) {
	c.m.ConnMentions.WithLabelValues(c.platform, c.instance).Add(float64(n))
}

// Error counts a connector error by a short, bounded type ("fetch", "parse",
// "http_5xx", "publish", …).
func (c *ConnectorMetrics) Error(typ string) {
	c.m.ConnErrors.WithLabelValues(c.platform, c.instance, typ).Inc()
}

// RateLimitRemaining records the platform's reported remaining requests.
func (c *ConnectorMetrics) RateLimitRemaining(n float64) {
	c.m.ConnRateLimit.WithLabelValues(c.platform, c.instance).Set(n)
}

// Skipped counts items read and deliberately not published, by a short,
// bounded reason ("removed", "unmatched", …).
func (c *ConnectorMetrics) Skipped(reason string, n int) {
	c.m.ConnSkipped.WithLabelValues(c.platform, c.instance, reason).Add(float64(n))
}
