// Package trend detects spikes, drops, sustained ramps and negative-sentiment
// surges in per-bucket mention counts, explains them, and tags bursting
// terms.
//
// Detector is causal and streaming: Observe(t, count, negative) per bucket
// returns a Result with a score in [0, 1], an alert flag and the baseline
// it compared against; its state serialises (MarshalBinary) so history
// survives restarts. The model, per bucket:
//
//   - a seasonal profile: hour of day after Config.SeasonDays days of
//     history, hour of week after Config.SeasonWeeks weeks (medians of each
//     hour's ratio to its trailing 24-hour mean), interpolated between hours;
//   - a robust level: the interquartile mean of the de-seasonalised counts
//     over Config.LevelWindow (spike test) and the median of de-seasonalised
//     hourly means over Config.LongWindow (ramp and drop tests);
//   - count-aware z-scores: the Anscombe (variance-stabilising) residual of
//     the count against the expected count, over a robust scale with a
//     Poisson floor (spikes), or over the negative-binomial standard
//     deviation sqrt(1+φE) with φ fitted online by a median rule (window
//     sums), so sparse series with many zero buckets stay quiet;
//   - guards: a minimum excess volume, a minimum expected volume and ratio
//     for drops, a minimum shift of the negative share for surges;
//   - rarity: a z must also beat what the test's own recent z-scores
//     reached only once per Config.Rarity, so routine bursts do not page;
//   - a cooldown per family (spike/ramp, drop, negative) unless the new
//     event escalates.
//
// DetectCSV runs a Detector over a NAB-format CSV (earshot detect). Series
// buckets a stream of mention times, empty buckets included. Explain ranks
// the features that moved between a baseline and an alert window.
// BurstTracker finds terms bursting against their own history in bounded
// memory.
//
// Quality is measured with NAB's standard profile by TestNABReport, using
// the scorer in package nab.
package trend
