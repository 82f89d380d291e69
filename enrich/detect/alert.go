package detect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/earshot-dev/earshot/enrich/trend"
	"github.com/earshot-dev/earshot/pipeline"
)

// AlertSchema is the version of the Alert JSON published on alerts.<kind>
// and alerts.resolved (2 added status, severity, event_id, first_bucket,
// last_bucket, peak, peak_at and peak_expected).
const AlertSchema = 2

// Alert is one detected event, published as JSON on NATS subject
// alerts.<kind> (stream ALERTS) with Nats-Msg-Id = ID, and stored in
// ClickHouse's alerts table by an AlertStore. Readers ignore unknown
// fields.
//
// Example:
//
//	{"schema":1,"id":"4f0c…","kind":"spike","topic":"acme","platform":"_all",
//	 "resolution_seconds":60,"bucket_start":"2026-11-24T10:41:00Z",
//	 "window_start":"2026-11-24T10:41:00Z","window_end":"2026-11-24T10:42:00Z",
//	 "detected_at":"2026-11-24T10:47:02Z","observed":150,"expected":5.1,
//	 "score":0.93,"z":26.4,"z_needed":7,"rate_per_minute":150,
//	 "baseline_rate_per_minute":5.1,"negative_share":0.61,"negative_baseline":0.2,
//	 "result":{…trend.Result…},"explanation":{"window":33,"baseline":410,
//	 "top":[{"field":"hashtag","value":"acmefire","window":30,"baseline":0,…}],
//	 "by_field":{…}},"sample_ids":["rss:…"],"status":"firing","severity":"critical",
//	 "event_id":"4f0c…","first_bucket":"2026-11-24T10:41:00Z","last_bucket":"2026-11-24T10:41:00Z",
//	 "peak":150,"peak_at":"2026-11-24T10:41:00Z","peak_expected":5.1}
type Alert struct {
	Schema int `json:"schema"`
	// ID is hash(series, kind, bucket start): the same event detected
	// again (a redelivery, a restart, another replica) has the same id, so
	// JetStream (Nats-Msg-Id) and ClickHouse (ReplacingMergeTree by id)
	// keep one.
	ID   string `json:"id"`
	Kind string `json:"kind"` // trend.KindSpike, KindRamp, KindDrop, KindNegativeSurge
	// Topic is a configured topic id or "_all"; Platform a platform or
	// "_all".
	Topic             string `json:"topic"`
	Platform          string `json:"platform"`
	ResolutionSeconds int64  `json:"resolution_seconds"`
	// BucketStart is the start of the bucket that alerted; the event's
	// window is [WindowStart, WindowEnd): the bucket for a spike, the
	// detector's ramp window ending with the bucket for the other kinds.
	BucketStart time.Time `json:"bucket_start"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	DetectedAt  time.Time `json:"detected_at"` // wall clock
	// Observed and Expected are mention counts over the window.
	Observed float64 `json:"observed"`
	Expected float64 `json:"expected"`
	Score    float64 `json:"score"` // in [0, 1]; alerts at the detector's threshold (0.5)
	Z        float64 `json:"z"`
	ZNeeded  float64 `json:"z_needed"`
	// RatePerMinute and BaselineRatePerMinute are the bucket's count and
	// expected count per minute.
	RatePerMinute         float64 `json:"rate_per_minute"`
	BaselineRatePerMinute float64 `json:"baseline_rate_per_minute"`
	// NegativeShare is the negative share over the ramp window and
	// NegativeBaseline its usual value.
	NegativeShare    float64 `json:"negative_share"`
	NegativeBaseline float64 `json:"negative_baseline"`
	// Result is the detector's full verdict on the bucket.
	Result trend.Result `json:"result"`
	// Explanation compares the sampled mentions of the window (only the
	// negative ones for a negative surge) with those of the baseline
	// before it: the terms, hashtags, authors, sources and languages that
	// moved, with sample mention ids.
	Explanation trend.Explanation `json:"explanation"`
	// SampleIDs are ids of mentions in the window, those carrying the top
	// movers first.
	SampleIDs []string `json:"sample_ids"`

	// Status is StatusFiring for an alert (subject alerts.<kind>), or
	// StatusResolved for the event that says the series is back at its
	// baseline (subject alerts.resolved; Kind stays the event's kind).
	Status string `json:"status"`
	// Severity is trend.SeverityWarning or trend.SeverityCritical (z at
	// twice what was needed); a resolved event carries the event's highest.
	Severity string `json:"severity"`
	// EventID is the id of the alert that opened the event: an escalation
	// and the resolved event carry it too.
	EventID string `json:"event_id"`
	// FirstBucket is the start of the event's first alerting bucket,
	// LastBucket the start of its last bucket away from the baseline so far,
	// and Peak the most extreme bucket count (the lowest for a drop, the
	// negative mentions for a negative surge) at PeakAt, where
	// PeakExpected was expected.
	FirstBucket  time.Time `json:"first_bucket"`
	LastBucket   time.Time `json:"last_bucket"`
	Peak         float64   `json:"peak"`
	PeakAt       time.Time `json:"peak_at"`
	PeakExpected float64   `json:"peak_expected"`
}

// Alert statuses.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// Subject is the NATS subject the alert is published on: alerts.<kind>,
// or alerts.resolved for a resolved event.
func (a *Alert) Subject() string {
	if a.Status == StatusResolved {
		return pipeline.SubjectAlertsPrefix + StatusResolved
	}
	return pipeline.SubjectAlertsPrefix + a.Kind
}

// setEvent copies the detector's event into the alert.
func (a *Alert) setEvent(ev *trend.Event) {
	if ev == nil {
		return
	}
	a.FirstBucket, a.LastBucket = ev.First, ev.Last
	a.Peak, a.PeakAt, a.PeakExpected = ev.Peak, ev.PeakAt, ev.PeakExpected
}

// Window is the length of the alert's window.
func (a *Alert) Window() time.Duration { return a.WindowEnd.Sub(a.WindowStart) }

// AlertStore stores alerts (ClickHouse's alerts table, wired by cmd).
// Storing the same alert id twice must leave one alert.
type AlertStore interface {
	WriteAlert(ctx context.Context, a Alert) error
}

// AlertID is the deterministic id of an alert: a hash of the series, the
// kind and the bucket start.
func AlertID(s SeriesID, kind string, bucketStart time.Time) string {
	h := sha256.New()
	h.Write([]byte(s.String()))
	h.Write([]byte{0})
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(nil, bucketStart.UTC().Unix(), 10))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// family groups kinds for correlation: a later alert of the same family on
// the same series is the detector's escalation and passes.
func family(kind string) string {
	switch kind {
	case trend.KindSpike, trend.KindRamp:
		return "volume"
	}
	return kind
}
