package trend

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Kinds of anomaly.
const (
	KindSpike         = "spike"          // a sudden burst in one bucket
	KindRamp          = "ramp"           // a sustained rise over RampWindow or one of Windows
	KindDrop          = "drop"           // volume fell far below normal ("we went silent")
	KindNegativeSurge = "negative_surge" // the negative share rose, whatever the volume
)

// Sentinel errors.
var (
	ErrOutOfOrder = errors.New("observation not after the previous bucket")
	ErrBadValue   = errors.New("bad observation value")
)

// Result is the detector's verdict on one bucket.
type Result struct {
	Time     time.Time `json:"time"`
	Count    float64   `json:"count"`
	Negative float64   `json:"negative"`

	// Score in [0, 1] is the strongest evidence of any kind in this bucket:
	// r²/(1+r²) with r = z/ZNeeded for the robust z of the winning test, so 0.5 when
	// z just reaches ZNeeded, and 0 when a guard (minimum volume, drop
	// ratio, negative shift) holds the test back.
	Score float64 `json:"score"`
	// Kind of the strongest test, "" when Score is 0.
	Kind string `json:"kind,omitempty"`
	// Z is the robust z-score of that test (negative for a drop), and
	// ZNeeded the |z| it had to reach: ZAlert (spike, negative surge) or
	// ZWindow (ramp, drop), or more where the series' own recent history
	// makes such a z routine (Config.Rarity, WindowRarity), or within
	// Cooldown of an alert of the same family (spike and ramp are one),
	// Escalation times that alert's |z|.
	Z       float64 `json:"z"`
	ZNeeded float64 `json:"z_needed"`
	// Alert is true when Score >= Threshold, the detector is warm, and no
	// event it already alerted on holds it back (Config.Hold).
	Alert bool `json:"alert"`
	// Muted is true when the bucket would have alerted but was observed
	// with ObserveMuted (history, not news): Alert is false, and it opened
	// no event and started no cooldown.
	Muted bool `json:"muted,omitempty"`
	// Severity of an alert: SeverityWarning, or SeverityCritical when z
	// reached twice ZNeeded; "" without an alert.
	Severity string `json:"severity,omitempty"`
	// Event is the event open after this bucket (opened by an alert, ended
	// when the series is back at its baseline), or on the bucket that
	// resolved it, the event just closed; nil otherwise.
	Event *Event `json:"event,omitempty"`
	// Resolved is true on the bucket at which the open event ended: the
	// series is back at its baseline (Event holds it).
	Resolved bool `json:"resolved,omitempty"`
	// Warm is false while the detector has less than Warmup of history.
	Warm bool `json:"warm"`

	// Baseline is the typical count per bucket with the seasonal profile
	// taken out; Seasonal is the profile's factor for this bucket (1 until
	// there is enough history) and Expected = Baseline × Seasonal.
	Baseline float64 `json:"baseline"`
	Seasonal float64 `json:"seasonal"`
	Expected float64 `json:"expected"`
	// Window and WindowExpected are the observed and expected counts over
	// the last RampWindow (the ramp and drop tests).
	Window         float64 `json:"window"`
	WindowExpected float64 `json:"window_expected"`
	// NegativeShare is the negative share over the last RampWindow and
	// NegativeBaseline its usual value.
	NegativeShare    float64 `json:"negative_share"`
	NegativeBaseline float64 `json:"negative_baseline"`
}

// Severities of an alert.
const (
	SeverityWarning  = "warning"  // z reached what was needed
	SeverityCritical = "critical" // z reached twice what was needed
)

// Event is one anomaly from its first alert until the series is back at
// its baseline.
type Event struct {
	Kind string `json:"kind"` // kind of the alert that opened it
	// First is the bucket of the first alert; Last the last bucket still
	// away from the baseline (above it, or below it for a drop).
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Peak is the event's most extreme bucket count (the highest; the
	// lowest for a drop; the most negative mentions for a negative surge),
	// at PeakAt; PeakExpected the expected count there.
	Peak         float64   `json:"peak"`
	PeakAt       time.Time `json:"peak_at"`
	PeakExpected float64   `json:"peak_expected"`
	// Z is the largest |z| of its alerts, Alerts how many alerted (the
	// first and its escalations), Severity the highest severity.
	Z        float64 `json:"z"`
	Alerts   int     `json:"alerts"`
	Severity string  `json:"severity"`
}

// awayZ is the robust z from which a bucket is still away from the
// baseline, for an open event.
const awayZ = 2

// maxEvent is how long an event can stay open: one that never settles is
// resolved after it, and the next alert opens a new one.
const maxEvent = 7 * 24 * time.Hour

// Detector finds spikes, drops, ramps and negative surges in one series of
// per-bucket counts, causally: Observe's verdict on bucket t depends only
// on buckets up to t. It is not safe for concurrent use. Its state
// serialises with MarshalBinary, so history survives restarts.
type Detector struct {
	cfg Config
	st  state

	muted bool // within ObserveMuted

	// derived, rebuilt from st
	profile   [hoursPerWeek]float64
	haveProf  bool
	levelN    int
	longN     int
	rampN     int
	alphaS    float64
	eta       float64
	negBeta   float64
	scratch   []float64
	hourMeanA float64
	rarityP   float64 // per-bucket rarity of spike and negative alerts, 0 for off
	rarityPW  float64 // same for the window tests
	rarityB   float64
	longLevel float64 // interquartile mean of st.Long, updated when an hour closes

	// window tests
	scalesN []int // buckets per window scale, ascending; scalesN[rampIdx] is RampWindow
	rampIdx int
	wsumY   []float64
	wsumS   []float64
}

const (
	hoursPerWeek  = 7 * 24
	stateVersion  = 2
	maxGapBuckets = 7 * 24 * 60 // zero-filled at most; longer gaps restart short-term state
)

// tests, each with its own z history: spike and negative, then a ramp
// and a drop test per window scale.
const (
	testSpike = iota
	testNeg
	testWindows // ramp at scale i is testWindows+2i, drop testWindows+2i+1
)

// family returns the cooldown family of a kind.
func family(kind string) int {
	switch kind {
	case KindDrop:
		return famDrop
	case KindNegativeSurge:
		return famNeg
	}
	return famUp
}

// families share a cooldown.
const (
	famUp = iota
	famDrop
	famNeg
	numFam
)

type state struct {
	V     int       `json:"v"`
	Last  time.Time `json:"last"`
	N     int64     `json:"n"`     // buckets observed (including zero-filled)
	Since time.Time `json:"since"` // first bucket after the last restart of short-term state

	Level  ring    `json:"level"`  // de-seasonalised counts, LevelWindow
	Scale1 float64 `json:"scale1"` // robust scale of one bucket's Anscombe residual
	// LogPhi is, per window scale, the negative-binomial dispersion (log φ)
	// of window sums: Var(Y) = E + φE², so their Anscombe residual has
	// variance about 1 + φE. NPhi counts its updates.
	LogPhi []float64 `json:"log_phi"`
	NPhi   []int64   `json:"n_phi"`
	ScaleN float64   `json:"scale_n"` // scale of the negative-share z
	N1     int64     `json:"n1"`      // updates of Scale1
	NN     int64     `json:"nn"`      // updates of ScaleN

	WinY  ring `json:"win_y"`  // counts over the longest window scale
	WinS  ring `json:"win_s"`  // seasonal factors over the longest window scale
	RampN ring `json:"ramp_n"` // negatives over RampWindow
	Long  ring `json:"long"`   // de-seasonalised hourly means over LongWindow

	NegY float64 `json:"neg_y"` // decayed counts that left the ramp window
	NegN float64 `json:"neg_n"` // decayed negatives that left the ramp window

	Hour     int64   `json:"hour"` // hour index (Unix hours) being accumulated
	HourSum  float64 `json:"hour_sum"`
	HourBkts float64 `json:"hour_buckets"`
	HourS    float64 `json:"hour_seasonal"` // sum of the hour's seasonal factors
	Hist     ring    `json:"hist"`          // mean count per bucket of each completed hour, SeasonWeeks weeks
	HistHour int64   `json:"hist_hour"`     // hour index of Hist's newest entry

	Tails []tail `json:"tails"` // recent z-scores per test, for Rarity

	AlertAt [numFam]time.Time `json:"alert_at"`
	AlertZ  [numFam]float64   `json:"alert_z"`

	Ev *Event `json:"ev,omitempty"` // the open event, if any
}

// NewDetector returns a detector for one series. It returns an error when
// cfg is invalid.
func NewDetector(cfg Config) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Detector{cfg: cfg}
	d.derive()
	d.st = state{V: stateVersion}
	d.resetShort()
	d.st.Tails = make([]tail, testWindows+2*len(d.scalesN))
	for i := range d.st.Tails {
		d.st.Tails[i] = newTail()
	}
	d.st.Hist = newRing(d.histCap())
	return d, nil
}

// Config returns the detector's configuration.
func (d *Detector) Config() Config { return d.cfg }

func (d *Detector) derive() {
	c := d.cfg
	d.levelN = c.buckets(c.LevelWindow)
	d.rampN = c.buckets(c.RampWindow)
	d.longN = max(2, int(c.LongWindow/max(c.Bucket, time.Hour)))
	d.alphaS = 1 - math.Exp2(-float64(c.Bucket)/float64(c.ScaleHalfLife))
	// log φ moves by at most eta per bucket: ln 2 per DispersionHalfLife.
	d.eta = 1 - math.Exp2(-float64(c.Bucket)/float64(c.DispersionHalfLife))
	d.negBeta = math.Exp2(-float64(c.Bucket) / float64(24*time.Hour))
	d.scalesN = d.scalesN[:0]
	for _, w := range c.windowScales() {
		n := c.buckets(w)
		if len(d.scalesN) > 0 && d.scalesN[len(d.scalesN)-1] == n {
			continue
		}
		d.scalesN = append(d.scalesN, n)
	}
	for i, n := range d.scalesN {
		if n == d.rampN {
			d.rampIdx = i
		}
	}
	d.wsumY = make([]float64, len(d.scalesN))
	d.wsumS = make([]float64, len(d.scalesN))
	// The seasonal profile's scratch (the size of the hourly history, used
	// once an hour) is borrowed from seasonScratchPool when needed: a
	// detector per series would otherwise hold it for nothing.
	d.scratch = make([]float64, 0, max(d.levelN, d.longN))
	// Pseudo-count for the hourly profile ratios: 5 mentions per hour, so a
	// sparse series keeps a flat profile instead of chasing zeros.
	d.hourMeanA = 5 * float64(c.Bucket) / float64(time.Hour)
	d.rarityP, d.rarityPW = 0, 0
	if c.Rarity > 0 {
		d.rarityP = float64(c.Bucket) / float64(c.Rarity)
	}
	if c.WindowRarity > 0 {
		d.rarityPW = float64(c.Bucket) / float64(c.WindowRarity)
	}
	if c.Rarity > 0 || c.WindowRarity > 0 {
		d.rarityB = math.Exp2(-float64(c.Bucket) / float64(c.RarityHalfLife))
	}
}

// histCap is how many hours of history the seasonal profile keeps.
func (d *Detector) histCap() int { return max(1, d.cfg.SeasonWeeks) * hoursPerWeek }

// winN is the number of buckets of the longest window scale.
func (d *Detector) winN() int { return d.scalesN[len(d.scalesN)-1] }

func (d *Detector) resetShort() {
	d.st.Level = newRing(d.levelN)
	d.st.WinY = newRing(d.winN() + 1) // + the bucket that just left the longest window
	d.st.WinS = newRing(d.winN())
	d.st.RampN = newRing(d.rampN)
	d.st.Long = newRing(d.longN)
	d.st.Scale1, d.st.N1 = 1, 0
	d.st.LogPhi = make([]float64, len(d.scalesN))
	d.st.NPhi = make([]int64, len(d.scalesN))
	for i := range d.st.LogPhi {
		d.st.LogPhi[i] = math.Log(0.01)
	}
	d.st.Since = time.Time{}
}

// Observe feeds the bucket starting at t with count mentions, negative of
// them negative, and returns the verdict on it. t must be at least one
// bucket after the previous call's; buckets skipped in between count as
// zero mentions (a gap over a week restarts the short-term state but keeps
// the seasonal profile).
func (d *Detector) Observe(t time.Time, count, negative float64) (Result, error) {
	if math.IsNaN(count) || math.IsInf(count, 0) || count < 0 {
		return Result{}, fmt.Errorf("bucket %s: count %v: %w", t.Format(time.RFC3339), count, ErrBadValue)
	}
	if math.IsNaN(negative) || math.IsInf(negative, 0) || negative < 0 || negative > count {
		return Result{}, fmt.Errorf("bucket %s: negative %v of count %v: %w", t.Format(time.RFC3339), negative, count, ErrBadValue)
	}
	if !d.st.Last.IsZero() {
		step := t.Sub(d.st.Last)
		if step < d.cfg.Bucket/2 {
			return Result{}, fmt.Errorf("bucket %s after %s (bucket %s): %w", t.Format(time.RFC3339), d.st.Last.Format(time.RFC3339), d.cfg.Bucket, ErrOutOfOrder)
		}
		missing := int64((step+d.cfg.Bucket/2)/d.cfg.Bucket) - 1
		if missing > maxGapBuckets {
			d.resetShort()
			missing = 0
		}
		for i := int64(1); i <= missing; i++ {
			d.step(d.st.Last.Add(d.cfg.Bucket), 0, 0, d.muted)
		}
	}
	return d.step(t, count, negative, d.muted), nil
}

// ObserveMuted is Observe for a bucket that is history rather than news
// (a backlog replayed long after the fact): the detector learns from it
// as from any other, but it cannot alert. A bucket that would have
// alerted returns Muted instead, and opens no event and starts no
// cooldown, so the same story still pages if it is still going on when
// the buckets are live again.
func (d *Detector) ObserveMuted(t time.Time, count, negative float64) (Result, error) {
	d.muted = true
	defer func() { d.muted = false }()
	return d.Observe(t, count, negative)
}

// yesterday returns, while the seasonal profile is not built yet, the
// highest mean count per bucket of the hours around this one yesterday
// (0 when unknown or once the profile exists).
func (d *Detector) yesterday(t time.Time) float64 {
	st := &d.st
	if !d.cfg.Seasonal || d.haveProf || st.Hist.len() == 0 {
		return 0
	}
	h := hourIndex(t) - 24
	var v float64
	for k := h - 1; k <= h+1; k++ {
		back := st.HistHour - k
		if back >= 0 && back < int64(st.Hist.len()) {
			v = math.Max(v, st.Hist.back(int(back)))
		}
	}
	return v
}

// trackEvent opens an event on an alert, follows the open one (last bucket
// away from the baseline, peak) and resolves it once the series is back at
// its baseline: no bucket away from it (a bucket's robust z over awayZ,
// under -awayZ for a drop, the negative share's z over awayZ for a
// negative surge) for Config.ResolveAfter,
// and, for an event a ramp or drop opened, the ramp window's z back within
// 2 (above -1 for a drop), or the event older than maxEvent.
func (d *Detector) trackEvent(res *Result, mu, zSpike, zRamp float64, haveRamp bool, zNeg float64, haveNeg, haveLevel bool) {
	st := &d.st
	t := res.Time
	ev := st.Ev
	if res.Alert {
		if ev == nil {
			ev = &Event{Kind: res.Kind, First: t, Last: t, PeakAt: t, Peak: res.Count, PeakExpected: mu, Severity: res.Severity}
			if res.Kind == KindNegativeSurge {
				ev.Peak = res.Negative
			}
			st.Ev = ev
		}
		ev.Alerts++
		ev.Z = math.Max(ev.Z, math.Abs(res.Z))
		if res.Severity == SeverityCritical {
			ev.Severity = SeverityCritical
		}
	}
	if ev == nil {
		return
	}
	var away, back bool
	switch ev.Kind {
	case KindDrop:
		away = haveLevel && zSpike < -awayZ
		if away && res.Count < ev.Peak {
			ev.Peak, ev.PeakAt, ev.PeakExpected = res.Count, t, mu
		}
		back = haveRamp && zRamp > -1
	case KindNegativeSurge:
		away = haveNeg && zNeg > awayZ
		if res.Negative > ev.Peak {
			ev.Peak, ev.PeakAt, ev.PeakExpected = res.Negative, t, res.NegativeBaseline*res.Count
		}
		back = !haveNeg || zNeg < 1
	case KindSpike:
		// A spike is judged bucket by bucket, and so is its end. The ramp
		// window still holds the spike's own mentions for RampWindow after
		// it, so waiting for that window would resolve a ten-minute burst
		// hours late, or later still when the series' long-term level is
		// near 0 (a sparse history).
		away = haveLevel && zSpike > awayZ
		if res.Count > ev.Peak {
			ev.Peak, ev.PeakAt, ev.PeakExpected = res.Count, t, mu
		}
		back = true
	default:
		away = haveLevel && zSpike > awayZ
		if res.Count > ev.Peak {
			ev.Peak, ev.PeakAt, ev.PeakExpected = res.Count, t, mu
		}
		back = !haveRamp || zRamp < 2
	}
	// Back at the baseline: the test's window is, and no bucket of the
	// last hour (or bucket) was away from it.
	if away {
		ev.Last = t
	}
	back = back && t.Sub(ev.Last) >= max(d.cfg.ResolveAfter, d.cfg.Bucket)
	out := *ev
	res.Event = &out
	if t.After(ev.First) && (back || t.Sub(ev.First) >= maxEvent) {
		res.Resolved = true
		st.Ev = nil
	}
}

// anscombe is the variance-stabilising transform of a Poisson count: its
// standard deviation is about 1 whatever the mean.
func anscombe(x float64) float64 { return 2 * math.Sqrt(x+3.0/8) }

// scoreOf maps a robust z to [0, 1): 0.5 at ZAlert, never saturating, so
// NAB-style threshold sweeps can still rank the largest events.
func (d *Detector) scoreOf(z float64) float64 {
	if z <= 0 {
		return 0
	}
	r := z / d.cfg.ZAlert
	return r * r / (1 + r*r)
}

// nbZ is the robust z of observing y where mu was expected under a
// negative binomial with dispersion exp(logPhi): the Anscombe residual
// over its standard deviation sqrt(1 + φμ).
func nbZ(y, mu, logPhi float64) float64 {
	return (anscombe(y) - anscombe(mu)) / math.Sqrt(1+math.Exp(logPhi)*mu)
}

// dispersionUpdate nudges log φ so that half of the |z| exceed 0.6745, the
// median of |N(0,1)|: an online median-absolute-deviation fit, which one
// burst moves by at most eta per bucket. Early on it moves faster, by
// 0.2/√n after n updates, so a new series finds its dispersion in days.
func dispersionUpdate(logPhi, z, eta float64, n int64) float64 {
	if e := 0.2 / math.Sqrt(float64(n+1)); e > eta {
		eta = e
	}
	if math.Abs(z) > 0.6745 {
		logPhi += eta
	} else {
		logPhi -= eta
	}
	return math.Min(math.Max(logPhi, math.Log(1e-6)), math.Log(100))
}

// robustUpdate moves a scale estimate towards |e| (clipped at 4 scales, so
// one burst cannot blow it up), with weight alpha, or 1/n early on.
func robustUpdate(scale, e, alpha float64, n int64) float64 {
	const meanAbsToSigma = 1.2533141373155001 // sqrt(pi/2)
	a := math.Abs(e) * meanAbsToSigma
	if lim := 4 * math.Max(scale, 1); a > lim {
		a = lim
	}
	if w := 1 / float64(n+1); w > alpha {
		alpha = w
	}
	return scale + alpha*(a-scale)
}

func (d *Detector) step(t time.Time, y, neg float64, muted bool) Result {
	c := d.cfg
	st := &d.st
	st.Last = t
	st.N++
	if st.Since.IsZero() {
		st.Since = t
	}
	res := Result{Time: t, Count: y, Negative: neg, Seasonal: 1}
	res.Warm = t.Sub(st.Since) >= c.Warmup

	d.advanceHour(t)
	s := d.seasonal(t)
	res.Seasonal = s

	have := st.Level.len() > 0
	var level float64
	if have {
		level = interquartileMean(st.Level.Buf, d.scratch)
	}
	mu := level * s
	res.Baseline, res.Expected = level, mu

	// Window scales, including this bucket.
	st.WinY.push(y)
	st.WinS.push(s)
	oldN, left := st.RampN.push(neg)
	oldY := 0.0
	if left && st.WinY.len() > d.rampN {
		oldY = st.WinY.back(d.rampN) // the count that just left RampWindow
	}
	st.WinY.tailSums(d.scalesN, d.wsumY)
	st.WinS.tailSums(d.scalesN, d.wsumS)
	// The window tests need a full window and a day of long-term history:
	// before that they cannot tell the daily cycle from a ramp.
	longOK := st.Long.len() >= min(24, d.longN)
	Y := d.wsumY[d.rampIdx]
	Nn := st.RampN.sum()
	var E float64
	if longOK && st.WinY.len() >= d.rampN {
		E = d.longLevel * d.wsumS[d.rampIdx]
	}
	res.Window, res.WindowExpected = Y, E

	// Per-bucket evidence for the open event: is the series still away
	// from its baseline, and is it back?
	var zRamp, zSpike, zNeg float64
	haveRamp, haveNeg := false, false
	var best, bestZ, bestNeed float64
	var bestKind string
	// consider scores a test whose guards held: z must clear ZAlert; with
	// Rarity, what this test's own recent z-scores rarely reached; and
	// within Cooldown of an alert of the same family, Escalation times
	// that alert's z.
	consider := func(kind string, test int, z float64) {
		need, p := c.ZAlert, d.rarityP
		if test >= testWindows {
			need, p = c.ZWindow, d.rarityPW
		}
		if p > 0 {
			if q, ok := st.Tails[test].quantile(p); ok && q > need {
				need = q
			}
		}
		f := family(kind)
		if last := st.AlertAt[f]; !last.IsZero() && t.Sub(last) < c.Cooldown {
			need = math.Max(need, c.Escalation*math.Abs(st.AlertZ[f]))
		}
		if ev := st.Ev; ev != nil && c.Hold > 0 && family(ev.Kind) != f {
			// Another kind of evidence for the event already alerted on.
			need = math.Max(need, c.Escalation*ev.Z)
		}
		score := d.scoreOf(z * c.ZAlert / need)
		if score > best {
			best, bestKind, bestZ, bestNeed = score, kind, z, need
		}
	}
	record := func(test int, z float64) {
		p := d.rarityP
		if test >= testWindows {
			p = d.rarityPW
		}
		if p > 0 {
			st.Tails[test].add(z, d.rarityB)
		}
	}
	if have {
		// Before the seasonal profile exists, a bucket no higher than the
		// same time yesterday is the daily cycle, not a spike.
		muS := math.Max(mu, d.yesterday(t))
		e1 := anscombe(y) - anscombe(muS)
		z1 := e1 / math.Max(1, st.Scale1)
		zSpike = z1
		if y-muS >= c.MinSpike {
			consider(KindSpike, testSpike, z1)
		}
		record(testSpike, z1)
		st.Scale1 = robustUpdate(st.Scale1, e1, d.alphaS, st.N1)
		st.N1++
	}
	if longOK {
		for i, n := range d.scalesN {
			if st.WinY.len() < n {
				break
			}
			Yi, Ei := d.wsumY[i], d.longLevel*d.wsumS[i]
			z := nbZ(Yi, Ei, st.LogPhi[i])
			if i == d.rampIdx {
				zRamp, haveRamp = z, true
			}
			if Yi-Ei >= c.MinSpike {
				consider(KindRamp, testWindows+2*i, z)
			}
			if Ei >= c.MinDrop && Yi <= c.DropRatio*Ei {
				consider(KindDrop, testWindows+2*i+1, -z)
			}
			record(testWindows+2*i, z)
			record(testWindows+2*i+1, -z)
			st.LogPhi[i] = dispersionUpdate(st.LogPhi[i], z, d.eta, st.NPhi[i])
			st.NPhi[i]++
		}
	}

	// Negative share over the ramp window against its usual value.
	const priorShare, priorWeight = 0.2, 20.0
	p0 := (st.NegN + priorShare*priorWeight) / (st.NegY + priorWeight)
	res.NegativeBaseline = p0
	if Y > 0 {
		share := Nn / Y
		res.NegativeShare = share
		sd := math.Max(1, math.Sqrt(Y*p0*(1-p0)))
		zRaw := (Nn - p0*Y) / sd
		zN := zRaw / math.Max(1, st.ScaleN)
		zNeg, haveNeg = zN, true
		if Nn-p0*Y >= c.MinNegative && share-p0 >= c.NegativeShift {
			consider(KindNegativeSurge, testNeg, zN)
		}
		record(testNeg, zN)
		st.ScaleN = robustUpdate(st.ScaleN, zRaw, d.alphaS, st.NN)
		st.NN++
	}
	// Counts leaving the ramp window feed the usual negative share.
	if left {
		st.NegY = st.NegY*d.negBeta + oldY
		st.NegN = st.NegN*d.negBeta + oldN
	}

	res.Score, res.Kind, res.Z, res.ZNeeded = best, bestKind, bestZ, bestNeed
	if bestKind == KindDrop {
		res.Z = -bestZ
	}
	held := false
	if ev := st.Ev; ev != nil && c.Hold > 0 && t.Sub(ev.First) < c.Hold {
		// Within Hold of an event's first alert, only an escalation pages.
		held = math.Abs(bestZ) < c.Escalation*ev.Z
	}
	if best >= c.Threshold && res.Warm && !held && muted {
		res.Muted = true
	} else if best >= c.Threshold && res.Warm && !held {
		res.Alert = true
		f := family(bestKind)
		st.AlertAt[f], st.AlertZ[f] = t, res.Z
		res.Severity = SeverityWarning
		if math.Abs(bestZ) >= 2*bestNeed {
			res.Severity = SeverityCritical
		}
	}
	d.trackEvent(&res, mu, zSpike, zRamp, haveRamp, zNeg, haveNeg, have)

	// Learn: the level sees this bucket with the seasonal profile taken out.
	st.Level.push(y / s)
	st.HourSum += y
	st.HourBkts++
	st.HourS += s
	return res
}
