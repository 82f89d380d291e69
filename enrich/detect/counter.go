package detect

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/earshot-dev/earshot/enrich/detect/internal/words"
	"github.com/earshot-dev/earshot/enrich/trend"
	"github.com/earshot-dev/earshot/pipeline"
)

// Outcome is what Count did with a mention.
type Outcome int

// Outcomes, also the values of earshot_detect_mentions_total{outcome}.
const (
	Counted     Outcome = iota // counted in at least one series
	Redelivered                // its stream sequence was counted before
	Duplicate                  // its id was counted before in the open buckets
	Late                       // every bucket it belongs to had closed
	Unscoped                   // no series takes it (scopes turned off)
	Deletion                   // a tombstone: a deletion is not a mention, and past counts stay as they were
)

func (o Outcome) String() string {
	return [...]string{"counted", "redelivered", "duplicate", "late", "unscoped", "deletion"}[o]
}

// Observation is a detector's verdict on one closed bucket.
type Observation struct {
	Series SeriesID
	Bucket trend.Bucket
	Result trend.Result
	// Open is true when, after Close, the series has an announced event
	// not yet resolved.
	Open bool
}

// Counter is the detect role's state machine, without I/O: it counts
// mentions into per-scope series, closes buckets as event time advances,
// runs a detector per series, correlates and explains alerts, and
// checkpoints and restores all of it. It is not safe for concurrent use.
type Counter struct {
	cfg       Config
	topics    map[string]bool
	series    map[SeriesID]*series
	order     []*series // finest resolution first, then narrow to broad scope, then key
	byKey     []*series // by key (the order of the checkpoint's open buckets)
	platforms map[string]bool
	maxRes    time.Duration
	rampMax   time.Duration

	// watermark is event time: the newest mention time seen (or the wall
	// clock when idle); closed is the watermark of the last Close.
	watermark, closed time.Time

	seqs    seqSet
	ids     *idSet
	samples *samples
	recent  []emitted

	scratch []string
	// Checkpoint buffers: the state record, one series' open buckets, and
	// the platforms as encoded (platformsN of them).
	stateBuf      []byte
	bucketsBuf    []trend.Bucket
	platformsJSON []byte
	platformsN    int
	scopesBuf     []scope
	platformFX    bool // a platform was refused for MaxPlatforms

	// termsOf, in tests, replaces sampleTerms (a reference to compare with).
	termsOf func(title, text string) []string
}

// emitted is an alert remembered for correlation.
type emitted struct {
	Series string    `json:"series"`
	Kind   string    `json:"kind"`
	End    time.Time `json:"end"` // end of the alerting bucket
}

// NewCounter returns a Counter for the configured topics.
func NewCounter(cfg Config, topics []pipeline.Topic) (*Counter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	c := &Counter{
		cfg:       cfg,
		topics:    map[string]bool{},
		series:    map[SeriesID]*series{},
		platforms: map[string]bool{},
		maxRes:    cfg.Resolutions[len(cfg.Resolutions)-1],
	}
	for _, r := range cfg.Resolutions {
		c.rampMax = max(c.rampMax, cfg.Detector.Trend(r).RampWindow)
	}
	c.ids = newIDSet(cfg.Resolutions[0], cfg.MaxIDs)
	c.samples = newSamples(cfg.Explain.Samples, max(cfg.Resolutions[0], sampleWidth), max(cfg.Explain.MaxItems, 0))
	for _, t := range topics {
		c.topics[t.ID] = true
		if *cfg.Series.Topics {
			for _, r := range cfg.Resolutions {
				if _, err := c.get(SeriesID{r, t.ID, All}); err != nil {
					return nil, err
				}
			}
		}
	}
	if *cfg.Series.Overall {
		for _, r := range cfg.Resolutions {
			if _, err := c.get(SeriesID{r, All, All}); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

// get returns the series, creating it.
func (c *Counter) get(id SeriesID) (*series, error) {
	if s := c.series[id]; s != nil {
		return s, nil
	}
	s, err := newSeries(id, c.cfg.Detector.Trend(id.Resolution), c.cfg.Grace)
	if err != nil {
		return nil, err
	}
	c.series[id] = s
	i, _ := slices.BinarySearchFunc(c.order, s, compareSeries)
	c.order = slices.Insert(c.order, i, s)
	i, _ = slices.BinarySearchFunc(c.byKey, s, func(a, b *series) int { return strings.Compare(a.key, b.key) })
	c.byKey = slices.Insert(c.byKey, i, s)
	return s, nil
}

func compareSeries(a, b *series) int {
	if a.id.Resolution != b.id.Resolution {
		return int(a.id.Resolution - b.id.Resolution)
	}
	if ra, rb := a.id.rank(), b.id.rank(); ra != rb {
		return ra - rb
	}
	return strings.Compare(a.key, b.key)
}

// Series lists the series, finest resolution and narrowest scope first.
func (c *Counter) Series() []SeriesID {
	out := make([]SeriesID, len(c.order))
	for i, s := range c.order {
		out[i] = s.id
	}
	return out
}

// Closed is the event time up to which buckets are closed (plus Grace).
func (c *Counter) Closed() time.Time { return c.closed }

// Watermark is the current event time.
func (c *Counter) Watermark() time.Time { return c.watermark }

// eventTime is when the mention was said, never after now.
func eventTime(m *pipeline.Mention, now time.Time) time.Time {
	t := m.CreatedAt
	if t.IsZero() {
		t = m.CollectedAt
	}
	if t.IsZero() || t.After(now) {
		t = now
	}
	return t.UTC()
}

// Count counts one mention delivered with stream sequence seq (0 when
// unknown); now is the wall clock, which caps mention times.
func (c *Counter) Count(m *pipeline.Mention, seq uint64, now time.Time) (Outcome, error) {
	return c.count(m, nil, seq, now)
}

// count is Count; d, when not nil, decoded m and gives its title and text
// (which m does not carry) if a sample takes it.
func (c *Counter) count(m *pipeline.Mention, d *decoder, seq uint64, now time.Time) (Outcome, error) {
	if seq != 0 {
		if c.seqs.Contains(seq) {
			return Redelivered, nil
		}
		c.seqs.Add(seq)
	}
	if m.Deleted {
		return Deletion, nil
	}
	t := eventTime(m, now)
	h := hashID(m.ID)
	if c.ids.has(t, h) {
		return Duplicate, nil
	}
	if t.After(c.watermark) {
		c.watermark = t
	}
	// Late for every series once the coarsest bucket holding t closed at
	// the last Close: a new series must not start in the past.
	if !c.closed.IsZero() && !floor(t, c.maxRes).Add(c.maxRes+c.cfg.Grace).After(c.closed) {
		return Late, nil
	}
	neg := m.Enrichment.Sentiment != nil && m.Enrichment.Sentiment.Label == pipeline.SentimentNegative
	scopes := c.scopesOf(m)
	if len(scopes) == 0 {
		return Unscoped, nil
	}
	counted := false
	for _, sc := range scopes {
		for _, r := range c.cfg.Resolutions {
			s, err := c.get(SeriesID{r, sc.topic, sc.platform})
			if err != nil {
				return Counted, err
			}
			ok, err := s.add(t, neg)
			if err != nil {
				return Counted, fmt.Errorf("count %q: %w", m.ID, err)
			}
			counted = counted || ok
		}
	}
	if !counted {
		return Late, nil
	}
	c.ids.add(t, h)
	c.sample(m, d, scopes, t, h, neg)
	return Counted, nil
}

// scopesOf lists the scopes a mention counts in.
func (c *Counter) scopesOf(m *pipeline.Mention) []scope {
	out := c.scopesBuf[:0]
	if *c.cfg.Series.Topics {
		for _, t := range m.Enrichment.Topics {
			if c.topics[t] && !slices.Contains(out, scope{t, All}) {
				out = append(out, scope{t, All})
			}
		}
	}
	if *c.cfg.Series.Platforms && m.Platform != "" {
		if c.platforms[m.Platform] {
			out = append(out, scope{All, m.Platform})
		} else if len(c.platforms) < c.cfg.MaxPlatforms {
			c.platforms[m.Platform] = true
			out = append(out, scope{All, m.Platform})
		} else {
			c.platformFX = true
		}
	}
	if *c.cfg.Series.Overall {
		out = append(out, scope{All, All})
	}
	c.scopesBuf = out
	return out
}

// sample offers the mention to its scopes' explanation samples; its
// features are extracted only when some sample takes it (d: see count).
func (c *Counter) sample(m *pipeline.Mention, d *decoder, scopes []scope, t time.Time, h uint64, neg bool) {
	var it *sampleItem
	for _, sc := range scopes {
		if !c.samples.wants(sc, t, h) {
			continue
		}
		if it == nil {
			it = c.newSampleItem(m, d, scopes, t, h, neg)
		}
		c.samples.offer(sc, it)
	}
}

// Sample bounds: the slot of the explanation samples (or the finest
// resolution, if coarser) and the terms kept per sampled mention.
const (
	sampleWidth    = 5 * time.Minute
	maxSampleTerms = 16
)

func (c *Counter) newSampleItem(m *pipeline.Mention, d *decoder, scopes []scope, t time.Time, h uint64, neg bool) *sampleItem {
	it := &sampleItem{hash: h, t: t, negative: neg, platform: m.Platform, ex: trend.ExplainItem{ID: m.ID}}
	for _, sc := range scopes {
		if sc.topic != All {
			it.topics = append(it.topics, sc.topic)
		}
	}
	title, text := m.Title, m.Text
	if d != nil {
		title, text = d.text()
	}
	if c.termsOf != nil {
		it.ex.Terms = c.termsOf(title, text)
	} else {
		it.ex.Terms = sampleTerms(title, text)
	}
	if d != nil {
		it.ex.Hashtags = m.Enrichment.Hashtags // the decoder's own, never reused
	} else {
		it.ex.Hashtags = slices.Clone(m.Enrichment.Hashtags)
	}
	// Author, source and language: one value each, in the item's own array.
	if a := m.Author.Handle; a != "" {
		it.one[0] = strings.ToLower(a)
		it.ex.Authors = it.one[0:1:1]
	} else if m.Author.ID != "" {
		it.one[0] = m.Author.ID
		it.ex.Authors = it.one[0:1:1]
	}
	if m.Source != "" {
		it.one[1] = m.Source
		it.ex.Sources = it.one[1:2:2]
	}
	lang := m.Enrichment.Lang
	if lang == "" {
		lang = m.Lang
	}
	if lang != "" {
		it.one[2] = lang
		it.ex.Langs = it.one[2:3:3]
	}
	return it
}

// sampleTerms are the first maxSampleTerms terms of a mention, copied
// into one string of their own: a term is a substring of the text, which
// must not stay alive with the sample.
func sampleTerms(title, text string) []string {
	var buf [maxSampleTerms]string
	terms := words.TermsN(buf[:0], maxSampleTerms, title, text)
	if len(terms) == 0 {
		return []string{}
	}
	n := 0
	for _, t := range terms {
		n += len(t)
	}
	var b strings.Builder
	b.Grow(n)
	for _, t := range terms {
		b.WriteString(t)
	}
	all := b.String()
	out := make([]string, len(terms))
	for i, t := range terms {
		out[i], all = all[:len(t)], all[len(t):]
	}
	return out
}

// AdvanceTo moves event time to t if it is later (the wall clock, when the
// input is idle).
func (c *Counter) AdvanceTo(t time.Time) {
	if t.After(c.watermark) {
		c.watermark = t.UTC()
	}
}

// IDsOverflow reports whether, since the last call, a counted mention's id
// was not remembered because detect.max_ids ids were already held.
func (c *Counter) IDsOverflow() bool {
	v := c.ids.full
	c.ids.full = false
	return v
}

// PlatformOverflow reports (once) that a platform was refused a series
// because MaxPlatforms was reached.
func (c *Counter) PlatformOverflow() bool {
	v := c.platformFX
	c.platformFX = false
	return v
}

// ErrDetector wraps a detector's refusal of a bucket.
var ErrDetector = errors.New("detector refused bucket")

// Close closes every bucket that ended Grace before upTo (capped at the
// watermark; pass Watermark() when mentions arrive in time order), feeds
// each to its series' detector, and returns the verdicts in order and the
// alerts to emit (correlated: one per event; explained). detectedAt is the
// wall clock. Errors are per bucket and do not stop the others.
func (c *Counter) Close(upTo, detectedAt time.Time) ([]Observation, []Alert, error) {
	if upTo.After(c.watermark) {
		upTo = c.watermark
	}
	if upTo.IsZero() || !upTo.After(c.closed) {
		return nil, nil, nil
	}
	c.closed = upTo
	var (
		obs      []Observation
		cands    []Observation
		resolved []Observation
		errs     []error
	)
	for _, s := range c.order {
		for _, b := range s.buckets.Advance(upTo) {
			delete(s.open, b.Start.UnixNano())
			s.openEncoded = false
			if !s.last.IsZero() && !b.Start.After(s.last) {
				continue
			}
			observe := s.det.Observe
			if c.cfg.LiveWithin > 0 && detectedAt.Sub(b.Start.Add(s.id.Resolution)) > c.cfg.LiveWithin {
				observe = s.det.ObserveMuted // history: learnt from, never paged on
			}
			res, err := observe(b.Start, b.Count, b.Negative)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: series %s bucket %s: %w", ErrDetector, s.key, b.Start.Format(time.RFC3339), err))
				continue
			}
			s.last, s.lastRes, s.dirty = b.Start, res, true
			o := Observation{Series: s.id, Bucket: b, Result: res}
			obs = append(obs, o)
			if res.Alert {
				cands = append(cands, o)
			}
			if res.Resolved {
				resolved = append(resolved, o)
			}
		}
	}
	alerts := c.correlate(cands, detectedAt)
	alerts = c.lifecycle(alerts, resolved, detectedAt)
	for i := range obs {
		if s := c.series[obs[i].Series]; s != nil {
			obs[i].Open = s.event != nil
		}
	}
	c.prune()
	return obs, alerts, errors.Join(errs...)
}

// lifecycle links alerts to their events and adds a resolved event for
// every announced event the detector resolved, in bucket order. An event
// whose alerts were all covered by another's (correlate) was never
// announced, and its end is not either.
func (c *Counter) lifecycle(alerts []Alert, resolved []Observation, detectedAt time.Time) []Alert {
	if len(resolved) == 0 && len(alerts) == 0 {
		return alerts
	}
	type step struct {
		at    time.Time
		alert int // index in alerts, or -1
		res   Observation
	}
	steps := make([]step, 0, len(alerts)+len(resolved))
	for i := range alerts {
		steps = append(steps, step{at: alerts[i].BucketStart, alert: i})
	}
	for _, o := range resolved {
		steps = append(steps, step{at: o.Bucket.Start, alert: -1, res: o})
	}
	slices.SortStableFunc(steps, func(a, b step) int { return a.at.Compare(b.at) })
	var out []Alert
	for _, st := range steps {
		if st.alert >= 0 {
			a := alerts[st.alert]
			s := c.series[c.seriesOf(a)]
			ev := a.Result.Event
			if s != nil && ev != nil {
				if s.event == nil || !s.event.Detector.Equal(ev.First) {
					s.event = &openEvent{ID: a.ID, Detector: ev.First}
				}
				s.event.Severity = maxSeverity(s.event.Severity, a.Severity)
				a.EventID = s.event.ID
				s.dirty = true
			}
			out = append(out, a)
			continue
		}
		o := st.res
		s := c.series[o.Series]
		ev := o.Result.Event
		if s == nil || s.event == nil || ev == nil || !s.event.Detector.Equal(ev.First) {
			continue // never announced
		}
		a := Alert{
			Schema: AlertSchema, ID: AlertID(o.Series, StatusResolved, ev.First), Kind: ev.Kind,
			Topic: o.Series.Topic, Platform: o.Series.Platform, ResolutionSeconds: int64(o.Series.Resolution / time.Second),
			BucketStart: o.Bucket.Start, WindowStart: ev.First, WindowEnd: ev.Last.Add(o.Series.Resolution),
			DetectedAt: detectedAt.UTC(), Observed: o.Bucket.Count, Expected: o.Result.Expected,
			Score: o.Result.Score, Z: o.Result.Z, ZNeeded: o.Result.ZNeeded,
			RatePerMinute:         o.Bucket.Count / o.Series.Resolution.Minutes(),
			BaselineRatePerMinute: o.Result.Expected / o.Series.Resolution.Minutes(),
			NegativeShare:         o.Result.NegativeShare, NegativeBaseline: o.Result.NegativeBaseline,
			Result: o.Result, SampleIDs: []string{},
			Status: StatusResolved, Severity: s.event.Severity, EventID: s.event.ID,
		}
		a.setEvent(ev)
		s.event, s.dirty = nil, true
		out = append(out, a)
	}
	return out
}

// seriesOf is the series an alert is about.
func (c *Counter) seriesOf(a Alert) SeriesID {
	return SeriesID{Topic: a.Topic, Platform: a.Platform, Resolution: time.Duration(a.ResolutionSeconds) * time.Second}
}

// maxSeverity is the higher of two severities.
func maxSeverity(a, b string) string {
	if a == trend.SeverityCritical || b == trend.SeverityCritical {
		return trend.SeverityCritical
	}
	if a == "" {
		return b
	}
	return a
}

// correlate turns alerting verdicts into alerts, one per event: a verdict
// is covered, and dropped, when an alert of the same or a narrower scope
// (another resolution included) ended within Correlate before it, unless
// it is the same series and kind family (the detector's own escalation).
func (c *Counter) correlate(cands []Observation, detectedAt time.Time) []Alert {
	slices.SortStableFunc(cands, func(a, b Observation) int {
		ea, eb := a.Bucket.Start.Add(a.Series.Resolution), b.Bucket.Start.Add(b.Series.Resolution)
		if !ea.Equal(eb) {
			return ea.Compare(eb)
		}
		if a.Series.Resolution != b.Series.Resolution {
			return int(a.Series.Resolution - b.Series.Resolution)
		}
		if ra, rb := a.Series.rank(), b.Series.rank(); ra != rb {
			return ra - rb
		}
		return strings.Compare(a.Series.String(), b.Series.String())
	})
	var out []Alert
	for _, o := range cands {
		end := o.Bucket.Start.Add(o.Series.Resolution)
		if c.covered(o, end) {
			continue
		}
		c.recent = append(c.recent, emitted{Series: o.Series.String(), Kind: o.Result.Kind, End: end})
		out = append(out, c.alert(o, detectedAt))
	}
	return out
}

func (c *Counter) covered(o Observation, end time.Time) bool {
	win := *c.cfg.Correlate
	if win <= 0 {
		return false
	}
	key := o.Series.String()
	for _, e := range c.recent {
		if !e.End.After(end.Add(-win)) || e.End.After(end) {
			continue
		}
		if e.Series == key && family(e.Kind) == family(o.Result.Kind) {
			continue // the detector's escalation on the same series
		}
		id, err := ParseSeriesID(e.Series)
		if err != nil {
			continue
		}
		if id.Topic == o.Series.Topic && id.Platform == o.Series.Platform {
			return true // the same scope: another resolution or kind
		}
		if id.rank() <= o.Series.rank() && overlap(id, o.Series) && c.shareIn(o, scope{id.Topic, id.Platform}) >= 0.5 {
			return true // most of this burst is the earlier alert's
		}
	}
	return false
}

// overlap reports whether two scopes can share mentions.
func overlap(a, b SeriesID) bool {
	return (a.Topic == All || b.Topic == All || a.Topic == b.Topic) && (a.Platform == All || b.Platform == All || a.Platform == b.Platform)
}

// shareIn is the share of o's sampled window mentions that belong to sc.
func (c *Counter) shareIn(o Observation, sc scope) float64 {
	from, to := c.window(o)
	items := c.samples.items(scope{o.Series.Topic, o.Series.Platform}, from, to)
	if len(items) == 0 {
		return 0
	}
	n := 0
	for _, it := range items {
		if it.in(sc) {
			n++
		}
	}
	return float64(n) / float64(len(items))
}

// window is the span an alert on o describes: the bucket for a spike, the
// ramp window ending with the bucket otherwise.
func (c *Counter) window(o Observation) (from, to time.Time) {
	to = o.Bucket.Start.Add(o.Series.Resolution)
	if o.Result.Kind == trend.KindSpike {
		return o.Bucket.Start, to
	}
	return to.Add(-c.series[o.Series].cfg.RampWindow), to
}

// alert builds the alert for a verdict, with its explanation.
func (c *Counter) alert(o Observation, detectedAt time.Time) Alert {
	s, r := o.Series, o.Result
	res := s.Resolution
	end := o.Bucket.Start.Add(res)
	a := Alert{
		Schema: AlertSchema, ID: AlertID(s, r.Kind, o.Bucket.Start), Kind: r.Kind,
		Topic: s.Topic, Platform: s.Platform, ResolutionSeconds: int64(res / time.Second),
		BucketStart: o.Bucket.Start, WindowEnd: end, DetectedAt: detectedAt.UTC(),
		Score: r.Score, Z: r.Z, ZNeeded: r.ZNeeded,
		RatePerMinute:         o.Bucket.Count / res.Minutes(),
		BaselineRatePerMinute: r.Expected / res.Minutes(),
		NegativeShare:         r.NegativeShare, NegativeBaseline: r.NegativeBaseline,
		Result: r, Status: StatusFiring, Severity: r.Severity,
	}
	a.setEvent(r.Event)
	a.WindowStart, _ = c.window(o)
	if r.Kind == trend.KindSpike {
		a.Observed, a.Expected = o.Bucket.Count, r.Expected
	} else {
		a.Observed, a.Expected = r.Window, r.WindowExpected
	}
	sc := scope{s.Topic, s.Platform}
	window := c.samples.between(sc, a.WindowStart, a.WindowEnd, r.Kind == trend.KindNegativeSurge)
	baseline := c.samples.between(sc, a.WindowStart.Add(-c.cfg.Explain.Baseline), a.WindowStart, false)
	a.Explanation = trend.Explain(window, baseline)
	a.SampleIDs = sampleIDs(a.Explanation, window, 10)
	return a
}

// sampleIDs lists up to n window mention ids, the top movers' first.
func sampleIDs(ex trend.Explanation, window []trend.ExplainItem, n int) []string {
	out := []string{}
	for _, m := range ex.Top {
		for _, id := range m.Samples {
			if len(out) < n && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	for _, it := range window {
		if len(out) < n && it.ID != "" && !slices.Contains(out, it.ID) {
			out = append(out, it.ID)
		}
	}
	return out
}

// prune forgets what no open bucket, explanation or correlation needs.
func (c *Counter) prune() {
	// An id is needed only while a bucket holding its slot is open; the
	// coarsest closes last, Grace after its end. Once it closed, a mention
	// of the slot is Late whether or not its id is known. (Pruning at
	// closed - Grace - maxRes, as before, kept one slot of the coarsest
	// width more: 10-15 minutes of ids instead of 5-10 at the defaults,
	// so the set of DefaultMaxIDs filled at 1,150 mentions/s instead of
	// 1,720, and past it the ids of new mentions went unremembered.)
	c.ids.prune(idsPruneLine(c.closed, c.cfg.Grace, c.maxRes))
	c.samples.prune(c.closed.Add(-c.cfg.Grace - c.maxRes - c.rampMax - c.cfg.Explain.Baseline))
	keep := c.recent[:0]
	for _, e := range c.recent {
		if e.End.After(c.closed.Add(-*c.cfg.Correlate - c.cfg.Grace - c.maxRes)) {
			keep = append(keep, e)
		}
	}
	c.recent = keep
}

// idsPruneLine is where the ids of the open buckets may go: a slot ending
// at or before it lies in coarsest buckets (of width maxRes) that all ended
// at least grace before closed.
func idsPruneLine(closed time.Time, grace, maxRes time.Duration) time.Time {
	return floor(closed.Add(-grace), maxRes)
}

// ReplayFrom is the event time from which mentions counted before a
// restore matter for explanations and the id set.
func (c *Counter) ReplayFrom() time.Time {
	if c.closed.IsZero() {
		return time.Time{}
	}
	return c.closed.Add(-c.cfg.Grace - c.maxRes - c.rampMax - c.cfg.Explain.Baseline)
}

// CountedThrough is the highest stream sequence the checkpoint counted.
func (c *Counter) CountedThrough() uint64 {
	if n := len(c.seqs.r); n > 0 {
		return c.seqs.r[n-1][1]
	}
	return 0
}

// Replay gives a restored Counter back what its checkpoint does not hold
// about a mention it counted before (stream sequence seq; every sequence
// at or below ackFloor was counted or judged): its place in the
// explanation samples, and its id in the set of ids counted in the open
// buckets. Nothing is counted again. It reports whether the mention was
// taken.
func (c *Counter) Replay(m *pipeline.Mention, seq, ackFloor uint64, now time.Time) bool {
	return c.replay(m, nil, seq, ackFloor, now)
}

// replay is Replay; d as in count.
func (c *Counter) replay(m *pipeline.Mention, d *decoder, seq, ackFloor uint64, now time.Time) bool {
	if seq > ackFloor && !c.seqs.Contains(seq) {
		return false // not counted yet: it will be, when delivered
	}
	if m.Deleted {
		return false
	}
	t := eventTime(m, now)
	if t.Before(c.ReplayFrom()) || t.After(c.watermark) {
		return false
	}
	scopes := c.scopesOf(m)
	if len(scopes) == 0 {
		return false
	}
	h := hashID(m.ID)
	if floor(t, c.maxRes).Add(c.maxRes + c.cfg.Grace).After(c.closed) {
		c.ids.add(t, h)
	}
	neg := m.Enrichment.Sentiment != nil && m.Enrichment.Sentiment.Label == pipeline.SentimentNegative
	c.sample(m, d, scopes, t, h, neg)
	return true
}

// PruneSeqs forgets counted stream sequences at or below the consumer's
// ack floor.
func (c *Counter) PruneSeqs(ackFloor uint64) { c.seqs.Prune(ackFloor) }

// Latest returns each series' last verdict (for gauges after a restore).
func (c *Counter) Latest() []Observation {
	var out []Observation
	for _, s := range c.order {
		if !s.last.IsZero() {
			out = append(out, Observation{Series: s.id, Bucket: trend.Bucket{Start: s.last, Count: s.lastRes.Count, Negative: s.lastRes.Negative}, Result: s.lastRes})
		}
	}
	return out
}
