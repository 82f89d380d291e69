package trend

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Config tunes a Detector. The zero value is not valid: start from
// DefaultConfig and change what you need. Durations are converted to whole
// buckets of Bucket width.
type Config struct {
	// Bucket is the width of one observation (default 5m). Observe expects
	// one call per bucket; a skipped bucket counts as zero mentions.
	Bucket time.Duration `json:"bucket"`

	// Threshold is the score at or above which a bucket alerts (default
	// 0.5: a robust z of exactly what is needed, see Result.ZNeeded).
	Threshold float64 `json:"threshold"`
	// ZAlert is the least robust z-score with which a spike or a negative
	// surge can alert (default 6.5: the z is on a variance-stabilised,
	// overdispersion-corrected scale where social volume routinely reaches
	// 3-5 in one bucket).
	ZAlert float64 `json:"z_alert"`
	// ZWindow is the least z with which a ramp or a drop (a window sum
	// against its seasonal expectation) can alert (default 4.5: window sums
	// are smoother than single buckets, and their negative-binomial
	// dispersion already absorbs the day-to-day wobble).
	ZWindow float64 `json:"z_window"`

	// LevelWindow is how far back the robust level (trimmed mean of the
	// de-seasonalised counts) of the spike test looks (default 2h).
	LevelWindow time.Duration `json:"level_window"`
	// ScaleHalfLife sets how fast the spike test's noise estimate, the
	// robust scale of one bucket's Anscombe residual (Poisson floor 1),
	// adapts (default 6h).
	ScaleHalfLife time.Duration `json:"scale_half_life"`
	// DispersionHalfLife sets how fast the negative-binomial dispersion φ
	// of window sums adapts: it can at most double or halve per
	// DispersionHalfLife (default 24h), so an event lasting hours does not
	// teach the detector that such events are normal. In the first days it
	// moves faster, as the square root of the updates so far allows.
	DispersionHalfLife time.Duration `json:"dispersion_half_life"`
	// RampWindow is the span over which sustained ramps and drops are
	// measured (default 3h), against the long-term level: the
	// interquartile mean of the de-seasonalised hourly means over
	// LongWindow (default 7 days).
	// Windows adds more spans tested the same way (default 12h: a story
	// that builds over a day, or a silence in a series too quiet for three
	// hours to say much); Result.Window reports RampWindow's. Bursts
	// shorter than RampWindow are the spike test's.
	RampWindow time.Duration   `json:"ramp_window"`
	Windows    []time.Duration `json:"windows"`
	LongWindow time.Duration   `json:"long_window"`

	// Seasonal turns on the seasonal profile, rebuilt every hour from
	// SeasonWeeks weeks of hourly history (default 6) once there are
	// SeasonDays days of it (default 3): hour of day by day type (weekday,
	// weekend) at first, hour of week from the first whole week on.
	Seasonal    bool `json:"seasonal"`
	SeasonDays  int  `json:"season_days"`
	SeasonWeeks int  `json:"season_weeks"`

	// MinSpike is the minimum excess over the expected count, in mentions,
	// for a spike or ramp to alert (default 5): no alert for 3 mentions where
	// 0.1 were expected, however improbable.
	MinSpike float64 `json:"min_spike"`
	// MinDrop is the minimum count expected over a window for a drop to
	// alert (default 20): silence is only news where there was talk.
	MinDrop float64 `json:"min_drop"`
	// DropRatio is the largest observed/expected ratio over a window that
	// can count as a drop (default 0.5).
	DropRatio float64 `json:"drop_ratio"`

	// MinNegative is the minimum excess of negative mentions over RampWindow,
	// beyond the usual negative share, for a negative surge (default 10).
	MinNegative float64 `json:"min_negative"`
	// NegativeShift is the minimum rise of the negative share over its usual
	// value for a negative surge, as a fraction (default 0.15 = 15 points).
	NegativeShift float64 `json:"negative_shift"`

	// Rarity makes alerts rare as well as significant: a spike's or
	// negative surge's z must also exceed the value that test's own recent
	// history exceeded in only one bucket per Rarity (default 48h), so a
	// series whose bursts are routine does not page daily. WindowRarity is
	// the same rule for the ramp and drop tests (default 8h: sustained
	// shifts are rarer to begin with). RarityHalfLife is how fast that
	// history fades (default 96h). 0 turns a rule off.
	Rarity         time.Duration `json:"rarity"`
	WindowRarity   time.Duration `json:"window_rarity"`
	RarityHalfLife time.Duration `json:"rarity_half_life"`

	// Cooldown is how long after an alert another alert of the same family
	// (spike and ramp are one) is held back, unless its z-score is
	// Escalation times the last one's (default 24h, 2): one page per
	// event, another when it doubles.
	Cooldown   time.Duration `json:"cooldown"`
	Escalation float64       `json:"escalation"`

	// Hold is how long after an event's first alert any other alert (of
	// any kind) is held back unless its z is Escalation times the event's
	// (default 24h, 0 = off), or until the event resolves if sooner: a
	// story that shows as a spike, then a ramp, then a negative surge
	// pages once. The event stays open until the series is back at its
	// baseline (Result.Resolved).
	Hold time.Duration `json:"hold"`
	// ResolveAfter is how long no bucket may be away from the baseline
	// before an open event is resolved (default 1h; at least one bucket).
	ResolveAfter time.Duration `json:"resolve_after"`

	// Warmup is the history needed before any alert (default 6h).
	Warmup time.Duration `json:"warmup"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Bucket:             5 * time.Minute,
		Threshold:          0.5,
		ZAlert:             6.5,
		ZWindow:            4.5,
		LevelWindow:        2 * time.Hour,
		ScaleHalfLife:      6 * time.Hour,
		DispersionHalfLife: 24 * time.Hour,
		RampWindow:         3 * time.Hour,
		Windows:            []time.Duration{12 * time.Hour},
		LongWindow:         7 * 24 * time.Hour,
		Seasonal:           true,
		SeasonDays:         3,
		SeasonWeeks:        6,
		MinSpike:           5,
		MinDrop:            20,
		DropRatio:          0.5,
		MinNegative:        10,
		NegativeShift:      0.15,
		Rarity:             48 * time.Hour,
		WindowRarity:       8 * time.Hour,
		RarityHalfLife:     96 * time.Hour,
		Cooldown:           24 * time.Hour,
		Escalation:         2,
		Hold:               24 * time.Hour,
		ResolveAfter:       time.Hour,
		Warmup:             6 * time.Hour,
	}
}

// ErrConfig is wrapped by every Validate error.
var ErrConfig = errors.New("invalid trend config")

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if c.Bucket <= 0 {
		bad("bucket %s must be positive", c.Bucket)
	}
	if !(c.Threshold > 0 && c.Threshold < 1) {
		bad("threshold %v must be in (0, 1)", c.Threshold)
	}
	if !(c.ZAlert > 0) {
		bad("z_alert %v must be positive", c.ZAlert)
	}
	if !(c.ZWindow > 0) {
		bad("z_window %v must be positive", c.ZWindow)
	}
	if len(c.Windows) > maxWindows {
		bad("windows has %d spans, at most %d", len(c.Windows), maxWindows)
	}
	if c.Bucket > 0 {
		if c.LevelWindow < c.Bucket {
			bad("level_window %s must be at least one bucket (%s)", c.LevelWindow, c.Bucket)
		}
		if c.RampWindow < c.Bucket {
			bad("ramp_window %s must be at least one bucket (%s)", c.RampWindow, c.Bucket)
		}
		if c.ScaleHalfLife < c.Bucket {
			bad("scale_half_life %s must be at least one bucket (%s)", c.ScaleHalfLife, c.Bucket)
		}
		if c.DispersionHalfLife < c.Bucket {
			bad("dispersion_half_life %s must be at least one bucket (%s)", c.DispersionHalfLife, c.Bucket)
		}
		if n := c.LevelWindow / c.Bucket; n > maxWindowBuckets {
			bad("level_window %s is %d buckets, more than %d", c.LevelWindow, n, maxWindowBuckets)
		}
		if c.LongWindow < 2*max(c.Bucket, time.Hour) || c.LongWindow > 28*24*time.Hour {
			bad("long_window %s must be between two hours (or buckets) and 28 days", c.LongWindow)
		}
		if n := c.RampWindow / c.Bucket; n > maxWindowBuckets {
			bad("ramp_window %s is %d buckets, more than %d", c.RampWindow, n, maxWindowBuckets)
		}
		for i, w := range c.Windows {
			if w < c.Bucket {
				bad("windows[%d] %s must be at least one bucket (%s)", i, w, c.Bucket)
			} else if n := w / c.Bucket; n > maxWindowBuckets {
				bad("windows[%d] %s is %d buckets, more than %d", i, w, n, maxWindowBuckets)
			}
		}
	}
	if c.Seasonal {
		if c.SeasonDays < 1 || c.SeasonDays > 28 {
			bad("season_days %d must be in [1, 28]", c.SeasonDays)
		}
		if c.SeasonWeeks < 1 || c.SeasonWeeks > 8 {
			bad("season_weeks %d must be in [1, 8]", c.SeasonWeeks)
		}
		if c.Bucket > time.Hour {
			bad("seasonal profiles need buckets of at most 1h, got %s", c.Bucket)
		}
	}
	if c.MinSpike < 0 {
		bad("min_spike %v must not be negative", c.MinSpike)
	}
	if c.MinDrop < 0 {
		bad("min_drop %v must not be negative", c.MinDrop)
	}
	if !(c.DropRatio > 0 && c.DropRatio < 1) {
		bad("drop_ratio %v must be in (0, 1)", c.DropRatio)
	}
	if c.MinNegative < 0 {
		bad("min_negative %v must not be negative", c.MinNegative)
	}
	if !(c.NegativeShift >= 0 && c.NegativeShift < 1) {
		bad("negative_shift %v must be in [0, 1)", c.NegativeShift)
	}
	for _, r := range []struct {
		name string
		d    time.Duration
	}{{"rarity", c.Rarity}, {"window_rarity", c.WindowRarity}} {
		if r.d < 0 {
			bad("%s %s must not be negative", r.name, r.d)
		}
		if r.d > 0 && c.Bucket > 0 && r.d < 2*c.Bucket {
			bad("%s %s must be at least two buckets (%s)", r.name, r.d, c.Bucket)
		}
		if r.d > 0 && c.RarityHalfLife < r.d {
			bad("rarity_half_life %s must be at least %s %s", c.RarityHalfLife, r.name, r.d)
		}
	}
	if c.Hold < 0 {
		bad("hold %s must not be negative", c.Hold)
	}
	if c.ResolveAfter < 0 {
		bad("resolve_after %s must not be negative", c.ResolveAfter)
	}
	if c.Cooldown < 0 {
		bad("cooldown %s must not be negative", c.Cooldown)
	}
	if !(c.Escalation >= 1) {
		bad("escalation %v must be at least 1", c.Escalation)
	}
	if c.Warmup < 0 {
		bad("warmup %s must not be negative", c.Warmup)
	}
	return errors.Join(errs...)
}

// windowScales returns the window lengths of the ramp and drop tests,
// ascending: RampWindow and the extra Windows.
func (c Config) windowScales() []time.Duration {
	ws := append([]time.Duration{c.RampWindow}, c.Windows...)
	slices.Sort(ws)
	return ws
}

// maxWindows bounds the extra window spans.
const maxWindows = 8

// maxWindowBuckets bounds the rings a Detector keeps (and serialises).
const maxWindowBuckets = 4096

// buckets converts d to a whole number of buckets, at least 1.
func (c Config) buckets(d time.Duration) int {
	n := int(d / c.Bucket)
	if n < 1 {
		n = 1
	}
	return n
}
