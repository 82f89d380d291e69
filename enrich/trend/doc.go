// Package trend detects spikes, drops, sustained ramps and negative-sentiment
// surges in per-bucket mention counts, explains them, and tags bursting
// terms.
//
// Detector is causal and streaming: Observe(t, count, negative) per bucket
// returns a Result with a score in [0, 1], an alert flag and the baseline
// it compared against; its state serialises (MarshalBinary) so history
// survives restarts. ObserveMuted feeds a bucket that is history rather
// than news (a backlog): the detector learns from it but it cannot alert,
// open an event or start a cooldown. The model, per bucket:
//
//   - a seasonal profile, rebuilt every hour from Config.SeasonWeeks weeks
//     of hourly history once there are Config.SeasonDays days of it: each
//     hour's ratio to the mean of its week (or, in the first week, of all
//     history), pooled by hour of day and day type (weekday, weekend) so
//     the detector knows weekends are quieter from the first weekend on,
//     and per hour of week (shrunk towards the pooled value) from the first
//     whole week on; interpolated between hours;
//   - a robust level: the interquartile mean of the de-seasonalised counts
//     over Config.LevelWindow (spike test) and of the de-seasonalised
//     hourly means over Config.LongWindow (window tests);
//   - two scales of count-aware z-scores: the Anscombe (variance-
//     stabilising) residual of one bucket's count against its expected
//     count, over a robust scale with a Poisson floor (spikes); and, for
//     every window span (Config.RampWindow and Config.Windows, 3h and 12h
//     by default), the residual of the window's sum over the
//     negative-binomial standard deviation sqrt(1+φE), with φ fitted per
//     span by an online median rule that moves slowly
//     (Config.DispersionHalfLife), so an event lasting hours is not
//     learnt as noise while it happens (ramps and drops);
//   - guards: a minimum excess volume, a minimum expected volume and ratio
//     for drops, a minimum shift of the negative share for surges;
//   - rarity: a z must also beat what the test's own recent z-scores
//     reached only once per Config.Rarity (spikes, negative surges) or
//     Config.WindowRarity (window tests), so routine bursts do not page;
//   - a cooldown per family (spike/ramp, drop, negative) unless the new
//     event escalates, and a hold across families (Config.Hold): after an
//     event's first alert, a ramp or negative surge of the same story does
//     not page again unless it is Escalation times stronger;
//   - before the seasonal profile exists (the first SeasonDays days), a
//     bucket no higher than the same hours yesterday is the daily cycle,
//     not a spike.
//
// Every alert has a severity (SeverityCritical when z reached twice what
// was needed) and opens an Event: its first bucket, its last bucket away
// from the baseline (robust z over 2), its peak. The event is resolved
// (Result.Resolved) once no bucket has been away for Config.ResolveAfter
// and the ramp window is back within 2 z; it is part of the checkpointed
// state.
//
// DetectCSV runs a Detector over a NAB-format CSV (earshot detect). Series
// buckets a stream of mention times, empty buckets included. Explain ranks
// the features that moved between a baseline and an alert window.
// BurstTracker finds terms bursting against their own history in bounded
// memory.
//
// # Quality
//
// Measured on shared/data/nab: NAB's corpus (53 series, 99 labelled
// windows) without five held-out Twitter series, scored with NAB's rules
// (package nab) on the detector's own alert column, normalised 0 = never
// fires, 100 = perfect. Every parameter is chosen by cross-validation
// among the candidate settings of TestNABCrossValidation; the objective
// is the standard-profile score of the training Twitter series plus that
// of the other training series (mention volume weighs as much as the rest
// of the corpus), averaged over the candidate run as set and with ZAlert
// and ZWindow both times 0.9 and 1.1. The average prefers settings that
// stay good when every bar moves a little: one that catches labelled
// bursts only just (z 7.2 where 7 was needed) wins in-sample by luck and
// misses on the next series. DefaultConfig is the choice made on the
// whole corpus; the figures that say how it generalises are those where
// the scored series was left out of the choice:
//
//	NAB standard, own alerts                       score   false alarms
//	                                                       per series-week
//	Twitter, leave one series out (5 folds)         82.5
//	Twitter, tuned on the 48 other series only      82.6       0.88
//	whole corpus, leave one series out (53 folds)   36.7
//	Twitter, in-sample (the shipped defaults)       82.8       1.01
//	before (z 7 and 5, 48h cooldown), in-sample     83.9       0.77
//
// The former bars were chosen on the score as set, which ranks them
// first in-sample; averaged over the three bars they are among the worst
// candidates (Twitter 75.7, 83.9, 78.7 at 0.9, 1, 1.1, against 80.8,
// 82.8, 84.1 for the defaults), and the whole-corpus choice moves to the
// defaults. Most of the gain over the former leave-one-out figure (77.3)
// comes from the candidates, though: choosing among these on the score
// as set gives 82.0 (printed beside). The candidates were drawn up after
// looking at these series, so every figure here is optimistic by
// however much that helped.
//
//	whole corpus, shipped defaults     standard  low FP  low FN
//	earshot, own alerts                   36.7     29.7    40.3
//	mean + 3σ over a day, own alerts    -149.8   -383.1   -70.9
//	mean + 3σ, NAB's best threshold      33.1     23.0    43.0
//
// NAB's published whole-corpus standard scores (58 series) are ARTime
// 74.9, Numenta HTM 70.5, Twitter's S-H-ESD 47.1 and windowed Gaussian
// 39.6. earshot is a mention-volume detector: it is strong on the Twitter
// series (16 of 16 windows found) and weak where NAB's anomalies are level
// shifts and pattern changes in CPU, latency, temperature or traffic
// series (47 of 99 windows overall); art_daily_flatmiddle has negative
// values and is scored as never firing. On the series without an anomaly
// (artificialNoAnomaly) it raises no alert after NAB's probation period;
// three of them raise one on their first morning, in probation, when a
// series tripling in an hour is news. A few NAB files repeat timestamps or
// sample irregularly: rows less than half a step after the previous one
// are dropped before scoring.
//
// The goal is at least 80 on five Twitter series nobody here has seen;
// leave-one-out says about 82 is what to expect, within the wide margin
// of 16 windows (one missed window costs about 6 points). AMZN and FB
// are the weak folds: labelled bursts no larger than routine ones, and
// many unlabelled spikes (15 false alarms on FB).
//
// Cost (go test -bench 'Observe|Checkpoint' -count=2 on a shared 2-core
// machine, load average 1.6): one bucket costs 6.9 to 7.3 µs
// (BenchmarkObserve), about 330 times the 21.5 ns of the mean + 3σ
// baseline in the same runs (BenchmarkObserveBaseline); at load average
// 18 to 24 it was 11 to 24 µs. Most of it is the hourly rebuild of the
// seasonal profile. A checkpoint after six weeks is 23.8 KB (state-bytes),
// most of it the six weeks of hourly history behind that profile.
//
// Reproduce with
//
//	go test ./enrich/trend/ -run 'NAB' -v -count=1
//	go test ./enrich/trend/ -run XXX -bench 'Observe|Checkpoint'
package trend
