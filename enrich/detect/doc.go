// Package detect is earshot's streaming detect role: it keeps mention
// volume series per configured topic, per platform and overall, at one or
// more resolutions (default 5m), with the negative share beside the
// volume, feeds every closed bucket to a trend.Detector per series, and
// turns alerting verdicts into explained alerts — published on NATS
// (alerts.<kind>, and alerts.resolved when an event ends), stored through an AlertStore (ClickHouse) and counted
// in Prometheus. Subpackage trendtag is the enrich stage that tags
// mentions with emerging hashtags and terms.
//
// # Time
//
// Buckets follow event time: the newest created_at counted (capped at the
// wall clock). A bucket closes Grace after its end in event time, so a
// backlog replayed after downtime, or history published with old
// timestamps, lands in its own buckets instead of being late. When no
// mention has arrived for IdleAfter and the enrich consumer has nothing
// pending, event time follows the wall clock, so silence still closes
// buckets (and a drop can alert). A mention for a closed bucket is late:
// stored by the sink as usual, not counted here
// (earshot_detect_mentions_total{outcome="late"}).
//
// # Delivery and replicas
//
// The role reads stream ENRICHED with its own durable pull consumer
// ("detect"; not the sink's). Any number of replicas may run: they share a
// lease in NATS KV bucket earshot_detect (key "leader"), renewed by
// revision compare-and-swap; only the holder fetches and counts, the
// others stand by and take over when it stops renewing for lease_ttl.
// Clocks need not agree (see Lease).
//
// Each batch is counted, its closed buckets observed, its alerts published
// (PubAck), the state checkpointed to the same bucket, and only then are
// its messages acknowledged: at least once. Counting is exactly once per
// mention: the checkpoint keeps the stream sequences counted above the
// consumer's ack floor (a few ranges), so a redelivery after a crash is
// recognised, and an in-memory set of the ids counted in the open buckets
// drops a mention published twice under the same id. Every checkpoint
// write is a compare-and-swap
// on the key's revision, so a former leader that wakes up cannot
// overwrite its successor's state: its write fails and it stands down.
//
// The checkpoint holds each series' detector (trend.Detector
// MarshalBinary, rewritten when the series closes a bucket, under
// "series.<seconds>.<topic>.<platform>"), and under "state" the open
// buckets, watermark, counted sequences and recent alerts. A restart or
// takeover resumes where the last checkpoint left off: no warm-up, no
// history lost, no false alarm from a cold detector. What the checkpoint
// does not hold, the explanation samples and the id set, the new leader
// rebuilds by rereading the mentions it counted from ENRICHED (by arrival
// time, from the start of the oldest window it may explain; at most
// MaxReplay messages). A checkpoint that cannot be decoded stops counting,
// loudly (EarshotDetectNoLeader fires, the log names the key); delete it
// (nats kv del earshot_detect state) to start afresh.
//
// Buckets close by event time, but not at once: parallel enrich workers
// and replicas finish batches out of order, so buckets close by the event
// time reached Reorder (10s) of arrival ago, and at most ReorderSpan (1h)
// behind the newest mention.
//
// # Alerts
//
// An alert's id is hash(series, kind, bucket start): whoever detects the
// event, however often, publishes the same id, which JetStream drops as a
// duplicate (Nats-Msg-Id) and ClickHouse keeps once (ReplacingMergeTree by
// id). One event pages once: a verdict is dropped when an alert of the
// same or a narrower scope, any resolution, ended within Correlate (1h)
// before it — a topic's spike also moves its platform and the overall
// series, and the 1m and 5m series see the same burst — unless it is the
// same series and kind family, which the detector only allows when the
// event escalates. The ALERTS stream is the commit point; an AlertWriter
// in every detect process (durable consumer "detect_alerts") writes it to
// the AlertStore.
//
// # Lifecycle
//
// Every alert has a severity (trend.SeverityWarning, SeverityCritical)
// and belongs to an event: the detector's trend.Event, opened by its first
// alert. EventID is that first alert's id; FirstBucket, LastBucket and
// Peak follow the event. When the detector resolves an event this role
// announced, a resolved Alert (Status "resolved", id hash(series,
// "resolved", first bucket)) goes to alerts.resolved, the store and
// earshot_alerts_resolved_total; earshot_topic_event_open is 1 in between.
// An event whose alerts were all covered by another series' (Correlate)
// was never announced, and neither is its end. The open event is part of
// each series' checkpoint record, so a restart or takeover resolves it
// once.
//
// Each alert carries trend.Explain over the sampled mentions of its window
// (only the negative ones for a negative surge) against those of the
// Explain.Baseline before it. Samples are the Explain.Samples mentions per
// scope and 5-minute slot with the smallest id hashes: the same on every
// replica and replay, and bounded.
//
// # Metrics
//
// Per series (labels topic, platform, resolution; topic and platform are
// "_all" for the broader series): earshot_topic_mentions_rate (per
// minute), earshot_topic_baseline_rate, earshot_topic_anomaly_score,
// earshot_topic_negative_share, earshot_topic_negative_share_baseline.
// earshot_topic_event_open. earshot_alerts_total{kind,topic,platform},
// earshot_alerts_resolved_total{kind,topic,platform};
// earshot_detect_leader,
// earshot_detect_mentions_total{outcome},
// earshot_detect_watermark_timestamp_seconds,
// earshot_detect_closed_timestamp_seconds,
// earshot_detect_checkpoints_total{outcome},
// earshot_detect_alerts_stored_total{outcome}; and the pipeline stage
// metrics with stage="detect".
package detect
