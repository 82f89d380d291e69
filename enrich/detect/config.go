package detect

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/earshot-dev/earshot/enrich/trend"
	"github.com/earshot-dev/earshot/pipeline"
)

// Config is the detect role's section of the earshot config (`detect:`).
// Zero fields take the documented defaults.
type Config struct {
	// Resolutions are the bucket widths of the series (default [5m]); each
	// is a separate series with its own detector, e.g. [1m, 5m].
	Resolutions []time.Duration `yaml:"resolutions"`
	// Grace is how long after a bucket's end, in event time, mentions for
	// it still count (default 5m). Event time is the newest created_at
	// seen; a mention older than its bucket's close is late: it is stored
	// by the sink as usual but not counted (earshot_detect_mentions_total
	// {outcome="late"}).
	Grace time.Duration `yaml:"grace"`
	// IdleAfter: when no mention has arrived for this long and the enrich
	// consumer (Upstream) has nothing pending, event time follows the wall
	// clock, so silence still closes buckets (default 2m).
	IdleAfter time.Duration `yaml:"idle_after"`
	// Reorder is how long after their arrival mentions may still be
	// overtaken by older ones (parallel enrich workers and replicas finish
	// batches out of order): buckets close by the event time reached
	// Reorder ago, so a backlog replayed fast is not made late by its own
	// reordering (default 10s).
	Reorder time.Duration `yaml:"reorder"`
	// ReorderSpan bounds that wait in event time: buckets more than this
	// before the newest mention close anyway (default 1h), which bounds
	// the open buckets, and so the checkpoint, during a fast backlog.
	ReorderSpan time.Duration `yaml:"reorder_span"`
	// LiveWithin: a bucket that ends more than this before it is judged
	// (wall clock) is history, not news: a backlog replayed at start or a
	// connector catching up after an outage. Its series learn from it as
	// from any other bucket, so no blind hour follows, but it raises no
	// alert (earshot_detect_alerts_muted_total counts those it would have
	// raised) and holds back no later one. Default 1h: a live bucket is
	// judged within its resolution's grace plus the connectors' polling
	// delay, minutes; an hour leaves room for slow polls and a short
	// enrich backlog while a catch-up after a longer outage stays quiet.
	// A negative value turns the rule off (every bucket may alert).
	LiveWithin time.Duration `yaml:"live_within"`
	// Upstream is the durable consumer on stream MENTIONS whose backlog
	// means "not idle, only behind" (default "enrich"; "-" disables the
	// check).
	Upstream string `yaml:"upstream"`
	// MaxPlatforms bounds the per-platform series (default 32); mentions of
	// further platforms count in the topic and overall series only.
	MaxPlatforms int `yaml:"max_platforms"`
	// MaxIDs bounds the ids of the open buckets remembered so a mention
	// published twice (under new stream sequences, past NATS's duplicate
	// window) is counted once (default 1<<20, about 24 MB full). They are
	// kept 5 to 10 minutes of mention time at the defaults, so the default
	// holds about 1,700 mentions/s; past the bound newer ids are not
	// remembered (counted as earshot_stage_errors_total{stage="detect",type="max_ids"} and
	// logged) until a slot closes.
	MaxIDs int `yaml:"max_ids"`
	// Series says which scopes get series: topics, platforms, overall
	// (default all three).
	Series SeriesConfig `yaml:"series"`
	// Correlate is how long one alert covers later detections of the same
	// or a broader scope (one page per event; default 1h, 0 turns it off).
	Correlate *time.Duration `yaml:"correlate"`

	// BatchSize is how many enriched mentions are fetched and counted
	// between checkpoints (default 1000).
	BatchSize int `yaml:"batch_size"`
	// Consumer sets ack_wait (default 1m). max_deliver has no effect
	// here: the role never gives up on a mention it can decode (it is
	// recognised when redelivered), and one it cannot decode is logged,
	// counted (outcome "undecodable") and left to the sink's dead letters.
	Consumer pipeline.ConsumerConfig `yaml:"consumer"`
	// Durable names the role's consumer on ENRICHED (default "detect"); it
	// is its own, not the sink's.
	Durable string `yaml:"durable"`
	// Bucket is the KV bucket holding the lease and the checkpoints
	// (default "earshot_detect").
	Bucket string `yaml:"kv_bucket"`
	// Replicas of the KV bucket (default 1; 3 on a cluster).
	Replicas int `yaml:"kv_replicas"`
	// LeaseTTL: a standby takes over when the leader has not renewed its
	// lease for this long (default 15s).
	LeaseTTL time.Duration `yaml:"lease_ttl"`

	Detector DetectorConfig `yaml:"detector"`
	Explain  ExplainConfig  `yaml:"explain"`
}

// SeriesConfig turns scopes on and off (all on by default).
type SeriesConfig struct {
	Topics    *bool `yaml:"topics"`
	Platforms *bool `yaml:"platforms"`
	Overall   *bool `yaml:"overall"`
}

// ExplainConfig bounds the mention samples kept for explanations.
type ExplainConfig struct {
	// Samples is how many mentions per scope and 5-minute slot (or the
	// finest resolution, if coarser) are kept, chosen by a hash of the id
	// so every replica and replay keeps the same ones (default 32). Memory
	// is about Samples × 1 KB per scope and slot over the ramp window plus
	// Baseline: some 2.5 MB per scope with the defaults.
	Samples int `yaml:"samples"`
	// MaxItems bounds the sampled entries (a mention in one scope's slot)
	// held in all, whatever the number of scopes (default 200000, about
	// 100 MB at most). Past it the oldest slot is forgotten everywhere,
	// so explanations compare against a shorter baseline; -1: no bound.
	MaxItems int `yaml:"max_items"`
	// Baseline is how far before the alert window the compared mentions
	// reach (default 3h).
	Baseline time.Duration `yaml:"baseline"`
}

// DetectorConfig overrides the trend detector's defaults
// (trend.DefaultConfig); unset keys keep them. Bucket is each series'
// resolution. See package trend for what each knob does.
type DetectorConfig struct {
	Threshold          *float64        `yaml:"threshold"`
	ZAlert             *float64        `yaml:"z_alert"`
	ZWindow            *float64        `yaml:"z_window"`
	LevelWindow        *time.Duration  `yaml:"level_window"`
	ScaleHalfLife      *time.Duration  `yaml:"scale_half_life"`
	DispersionHalfLife *time.Duration  `yaml:"dispersion_half_life"`
	RampWindow         *time.Duration  `yaml:"ramp_window"`
	Windows            []time.Duration `yaml:"windows"` // unset: the default; [] for none
	LongWindow         *time.Duration  `yaml:"long_window"`
	Seasonal           *bool           `yaml:"seasonal"`
	SeasonDays         *int            `yaml:"season_days"`
	SeasonWeeks        *int            `yaml:"season_weeks"`
	MinSpike           *float64        `yaml:"min_spike"`
	MinDrop            *float64        `yaml:"min_drop"`
	DropRatio          *float64        `yaml:"drop_ratio"`
	MinNegative        *float64        `yaml:"min_negative"`
	NegativeShift      *float64        `yaml:"negative_shift"`
	Rarity             *time.Duration  `yaml:"rarity"`
	WindowRarity       *time.Duration  `yaml:"window_rarity"`
	RarityHalfLife     *time.Duration  `yaml:"rarity_half_life"`
	Cooldown           *time.Duration  `yaml:"cooldown"`
	Escalation         *float64        `yaml:"escalation"`
	Hold               *time.Duration  `yaml:"hold"`
	ResolveAfter       *time.Duration  `yaml:"resolve_after"`
	Warmup             *time.Duration  `yaml:"warmup"`
}

// Trend returns the detector configuration for one resolution.
func (d DetectorConfig) Trend(bucket time.Duration) trend.Config {
	c := trend.DefaultConfig()
	c.Bucket = bucket
	set := func(dst *float64, v *float64) {
		if v != nil {
			*dst = *v
		}
	}
	setD := func(dst *time.Duration, v *time.Duration) {
		if v != nil {
			*dst = *v
		}
	}
	setI := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	set(&c.Threshold, d.Threshold)
	set(&c.ZAlert, d.ZAlert)
	set(&c.ZWindow, d.ZWindow)
	setD(&c.LevelWindow, d.LevelWindow)
	setD(&c.ScaleHalfLife, d.ScaleHalfLife)
	setD(&c.DispersionHalfLife, d.DispersionHalfLife)
	setD(&c.RampWindow, d.RampWindow)
	if d.Windows != nil {
		c.Windows = slices.Clone(d.Windows)
	}
	setD(&c.LongWindow, d.LongWindow)
	if d.Seasonal != nil {
		c.Seasonal = *d.Seasonal
	}
	setI(&c.SeasonDays, d.SeasonDays)
	setI(&c.SeasonWeeks, d.SeasonWeeks)
	set(&c.MinSpike, d.MinSpike)
	set(&c.MinDrop, d.MinDrop)
	set(&c.DropRatio, d.DropRatio)
	set(&c.MinNegative, d.MinNegative)
	set(&c.NegativeShift, d.NegativeShift)
	setD(&c.Rarity, d.Rarity)
	setD(&c.WindowRarity, d.WindowRarity)
	setD(&c.RarityHalfLife, d.RarityHalfLife)
	setD(&c.Cooldown, d.Cooldown)
	set(&c.Escalation, d.Escalation)
	setD(&c.Hold, d.Hold)
	setD(&c.ResolveAfter, d.ResolveAfter)
	setD(&c.Warmup, d.Warmup)
	return c
}

// Defaults.
const (
	DefaultResolution   = 5 * time.Minute
	DefaultGrace        = 5 * time.Minute
	DefaultIdleAfter    = 2 * time.Minute
	DefaultReorder      = 10 * time.Second
	DefaultReorderSpan  = time.Hour
	DefaultLiveWithin   = time.Hour
	DefaultUpstream     = "enrich"
	DefaultMaxPlatforms = 32
	DefaultCorrelate    = time.Hour
	DefaultBatchSize    = 1000
	DefaultDurable      = "detect"
	DefaultBucket       = "earshot_detect"
	DefaultLeaseTTL     = 15 * time.Second
	DefaultSamples      = 32
	// DefaultMaxSampleItems bounds the explanation samples in all.
	DefaultMaxSampleItems = 200_000
	DefaultBaseline       = 3 * time.Hour
)

// ErrConfig is wrapped by every Validate error.
var ErrConfig = errors.New("invalid detect config")

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if len(c.Resolutions) == 0 {
		c.Resolutions = []time.Duration{DefaultResolution}
	} else {
		c.Resolutions = slices.Clone(c.Resolutions)
		slices.Sort(c.Resolutions)
		c.Resolutions = slices.Compact(c.Resolutions)
	}
	if c.Grace == 0 {
		c.Grace = DefaultGrace
	}
	if c.IdleAfter == 0 {
		c.IdleAfter = DefaultIdleAfter
	}
	if c.Reorder == 0 {
		c.Reorder = DefaultReorder
	}
	if c.ReorderSpan == 0 {
		c.ReorderSpan = DefaultReorderSpan
	}
	if c.LiveWithin == 0 {
		c.LiveWithin = DefaultLiveWithin
	}
	if c.Upstream == "" {
		c.Upstream = DefaultUpstream
	}
	if c.MaxPlatforms == 0 {
		c.MaxPlatforms = DefaultMaxPlatforms
	}
	if c.MaxIDs == 0 {
		c.MaxIDs = DefaultMaxIDs
	}
	if c.Correlate == nil {
		d := DefaultCorrelate
		c.Correlate = &d
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Durable == "" {
		c.Durable = DefaultDurable
	}
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.Explain.Samples == 0 {
		c.Explain.Samples = DefaultSamples
	}
	if c.Explain.MaxItems == 0 {
		c.Explain.MaxItems = DefaultMaxSampleItems
	}
	if c.Explain.Baseline == 0 {
		c.Explain.Baseline = DefaultBaseline
	}
	t := true
	for _, p := range []**bool{&c.Series.Topics, &c.Series.Platforms, &c.Series.Overall} {
		if *p == nil {
			*p = &t
		}
	}
	return c
}

// Validate reports every problem with c (after defaults) at once, without
// touching the network.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrConfig, key, fmt.Sprintf(format, args...)))
	}
	for i, r := range c.Resolutions {
		if r < time.Second || r%time.Second != 0 || r > 24*time.Hour {
			bad(fmt.Sprintf("resolutions[%d]", i), "%s must be whole seconds between 1s and 24h", r)
			continue
		}
		if err := c.Detector.Trend(r).Validate(); err != nil {
			bad("detector", "at resolution %s: %v", r, err)
		}
	}
	if len(c.Resolutions) > 4 {
		bad("resolutions", "%d resolutions; at most 4", len(c.Resolutions))
	}
	if c.Grace < 0 {
		bad("grace", "%s must not be negative", c.Grace)
	}
	if c.IdleAfter < time.Second {
		bad("idle_after", "%s must be at least 1s", c.IdleAfter)
	}
	if c.Reorder < 0 || c.Reorder > time.Hour {
		bad("reorder", "%s must be between 0 and 1h", c.Reorder)
	}
	if c.ReorderSpan < 0 || c.ReorderSpan > 24*time.Hour {
		bad("reorder_span", "%s must be between 0 and 24h", c.ReorderSpan)
	}
	if c.LiveWithin > 0 && c.LiveWithin < c.Grace {
		bad("live_within", "%s must be at least grace (%s), or negative to turn the rule off", c.LiveWithin, c.Grace)
	}
	if c.MaxPlatforms < 0 || c.MaxPlatforms > 256 {
		bad("max_platforms", "%d must be in [0, 256]", c.MaxPlatforms)
	}
	if c.MaxIDs < 0 || c.MaxIDs > 1<<28 {
		bad("max_ids", "%d must be in [0, %d] (0: the default, %d)", c.MaxIDs, 1<<28, DefaultMaxIDs)
	}
	if *c.Correlate < 0 {
		bad("correlate", "%s must not be negative", *c.Correlate)
	}
	if c.BatchSize < 1 || c.BatchSize > 100000 {
		bad("batch_size", "%d must be in [1, 100000]", c.BatchSize)
	}
	if !kvNameRe.MatchString(c.Bucket) {
		bad("kv_bucket", "%q is not a valid bucket name", c.Bucket)
	}
	if !kvNameRe.MatchString(c.Durable) {
		bad("durable", "%q is not a valid consumer name", c.Durable)
	}
	if c.Upstream != "-" && !kvNameRe.MatchString(c.Upstream) {
		bad("upstream", "%q is not a valid consumer name (or \"-\")", c.Upstream)
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		bad("kv_replicas", "%d must be in [1, 5]", c.Replicas)
	}
	if c.LeaseTTL < 500*time.Millisecond {
		bad("lease_ttl", "%s must be at least 500ms", c.LeaseTTL)
	}
	if c.Consumer.AckWait != 0 && c.Consumer.AckWait < time.Second {
		bad("consumer.ack_wait", "%s must be at least 1s", c.Consumer.AckWait)
	}
	if c.Explain.Samples < 1 || c.Explain.Samples > 1024 {
		bad("explain.samples", "%d must be in [1, 1024]", c.Explain.Samples)
	}
	if c.Explain.MaxItems < -1 {
		bad("explain.max_items", "%d must be -1 (no bound) or a number of entries", c.Explain.MaxItems)
	}
	if c.Explain.Baseline < 0 || c.Explain.Baseline > 7*24*time.Hour {
		bad("explain.baseline", "%s must be between 0 and 7 days", c.Explain.Baseline)
	}
	if !*c.Series.Topics && !*c.Series.Platforms && !*c.Series.Overall {
		bad("series", "every scope is turned off")
	}
	return errors.Join(errs...)
}

// kvNameRe matches names JetStream accepts for buckets and consumers.
var kvNameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
