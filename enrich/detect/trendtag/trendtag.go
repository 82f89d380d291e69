// Package trendtag is the enrichment stage "trend": it tags each mention
// with the emerging hashtags ("#acmefire") and terms ("recall") it
// contains, in Enrichment.Trends, strongest first.
//
// A term is emerging when its count in the current or last bucket (of
// mention created_at time, default 5m) is well above its own usual rate:
// see trend.BurstTracker, which keeps at most Capacity terms exactly and
// the rest in count-min sketches, so memory is bounded whatever the text.
// The stage observes a whole batch, then tags it, so the mentions that make
// a burst carry its tag. Time is the mentions' created_at: a mention more
// than a bucket older than the newest one observed is tagged but not
// observed (the tracker cannot place it), and nothing is tagged before
// Warmup of mention time was observed.
//
// Each enrich process keeps its own burst history, in memory. With several
// enrich replicas sharing the MENTIONS consumer, each sees a share of the
// traffic, so its rates and counts are that share's: tags are approximate
// (a burst split over N replicas needs about N times MinCount mentions
// before every replica tags it), and a restarted replica relearns the
// usual rates over HalfLife. For the alerting decision, which must be
// exact, see the detect role (package detect).
package trendtag

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/earshot-dev/earshot/enrich/detect/internal/words"
	"github.com/earshot-dev/earshot/enrich/trend"
	"github.com/earshot-dev/earshot/pipeline"
)

// Name is the stage name; Version changes whenever the same traffic could
// be tagged differently.
const (
	Name    = "trend"
	Version = "1"
	// Order is the stage's default position: after entities (hashtags),
	// lang, sentiment, topics, dedup and respond.
	Order = 70
)

func init() {
	pipeline.RegisterEnricher(Name, Order, func(env pipeline.EnricherEnv) (pipeline.Enricher, error) {
		return New(env)
	})
}

// Options are the stage's settings under enrich.options.trend. Unset keys
// keep trend.DefaultBurstConfig's values, except HalfLife (6h here).
type Options struct {
	Bucket   time.Duration `yaml:"bucket"`    // default 5m
	HalfLife time.Duration `yaml:"half_life"` // default 6h
	// Warmup is how much mention time the stage observes before it tags
	// anything (default: HalfLife). A fresh tracker's rates start at zero
	// and approach the truth over about one half-life, so before that
	// every common term would look like it is bursting.
	Warmup   time.Duration `yaml:"warmup"`
	Z        float64       `yaml:"z"`         // default 5
	MinCount float64       `yaml:"min_count"` // default 5
	Capacity int           `yaml:"capacity"`  // default 10000
	// Terms turns tracking of text words on or off (default on); hashtags
	// are always tracked.
	Terms *bool `yaml:"terms"`
	// MaxTags bounds the tags per mention (default 5).
	MaxTags int `yaml:"max_tags"`
}

// Stage is the trend tagging stage. It is safe for concurrent use.
type Stage struct {
	tracker *trend.BurstTracker
	terms   bool
	maxTags int
	warmup  time.Duration
	bucket  time.Duration

	mu         sync.Mutex
	first, now time.Time // oldest and newest mention time observed (event time)
}

// DefaultHalfLife of the stage's term rates.
const DefaultHalfLife = 6 * time.Hour

var _ pipeline.Enricher = (*Stage)(nil)

// New builds the stage from env.Options.
func New(env pipeline.EnricherEnv) (*Stage, error) {
	var o Options
	if env.Options != nil {
		if err := pipeline.DecodeStrict(env.Options, &o); err != nil {
			return nil, fmt.Errorf("%s: enrich options %s: %w", env.File, Name, err)
		}
	}
	s, err := NewWithOptions(o)
	if err != nil {
		return nil, fmt.Errorf("%s: enrich options %s: %w", env.File, Name, err)
	}
	return s, nil
}

// NewWithOptions builds the stage, reporting every invalid option at once.
func NewWithOptions(o Options) (*Stage, error) {
	c := trend.DefaultBurstConfig()
	c.HalfLife = DefaultHalfLife
	if o.Bucket != 0 {
		c.Bucket = o.Bucket
	}
	if o.HalfLife != 0 {
		c.HalfLife = o.HalfLife
	}
	if o.Z != 0 {
		c.Z = o.Z
	}
	if o.MinCount != 0 {
		c.MinCount = o.MinCount
	}
	if o.Capacity != 0 {
		c.Capacity = o.Capacity
	}
	if o.MaxTags == 0 {
		o.MaxTags = 5
	}
	if o.MaxTags < 0 || o.MaxTags > 64 {
		return nil, fmt.Errorf("max_tags %d: want 1 to 64", o.MaxTags)
	}
	if o.Warmup == 0 {
		o.Warmup = c.HalfLife
	}
	if o.Warmup < 0 {
		return nil, fmt.Errorf("warmup %s must not be negative", o.Warmup)
	}
	t, err := trend.NewBurstTracker(c)
	if err != nil {
		return nil, err
	}
	return &Stage{tracker: t, terms: o.Terms == nil || *o.Terms, maxTags: o.MaxTags, warmup: o.Warmup, bucket: c.Bucket}, nil
}

// Name implements pipeline.Enricher.
func (s *Stage) Name() string { return Name }

// Version implements pipeline.Enricher.
func (s *Stage) Version() string { return Version }

// Enrich observes the batch's hashtags and terms, bucket by bucket of
// mention time, and tags each mention with the emerging ones it carries as
// of the end of its bucket.
func (s *Stage) Enrich(_ context.Context, batch []*pipeline.Mention) error {
	wall := time.Now()
	type item struct {
		m     *pipeline.Mention
		t     time.Time
		feats []string
	}
	items := make([]item, len(batch))
	for i, m := range batch {
		t := m.CreatedAt
		if t.IsZero() || t.After(wall) {
			t = wall
		}
		items[i] = item{m: m, t: t, feats: s.features(m)}
	}
	slices.SortStableFunc(items, func(a, b item) int { return a.t.Compare(b.t) })
	for i := 0; i < len(items); {
		bucket := items[i].t.Truncate(s.bucket)
		j := i
		for j < len(items) && items[j].t.Truncate(s.bucket).Equal(bucket) {
			j++
		}
		group := items[i:j]
		i = j
		s.mu.Lock()
		// Warm by the history seen before this group: a batch of a backlog
		// can span hours, none of which the tracker had learnt.
		warm := !s.first.IsZero() && s.now.Sub(s.first) >= s.warmup
		for _, it := range group {
			if !s.now.IsZero() && it.t.Before(s.now.Add(-s.bucket)) {
				// The tracker would count it in its current bucket, where it
				// does not belong (a backlog's batches enriched out of order
				// would all look like bursts): it is tagged, not observed.
				continue
			}
			s.tracker.Observe(it.t, it.feats)
			if it.t.After(s.now) {
				s.now = it.t
			}
			if s.first.IsZero() || it.t.Before(s.first) {
				s.first = it.t
			}
		}
		now := s.now
		s.mu.Unlock()
		var rank map[string]int
		if warm {
			emerging := s.tracker.Emerging(now)
			rank = make(map[string]int, len(emerging))
			for k, term := range emerging {
				rank[term] = k
			}
		}
		for _, it := range group {
			s.tag(it.m, it.feats, rank)
		}
	}
	return nil
}

// tag adds the emerging features of a mention, strongest first.
func (s *Stage) tag(m *pipeline.Mention, feats []string, rank map[string]int) {
	var tags []string
	for _, f := range feats {
		if _, ok := rank[f]; ok && !slices.Contains(m.Enrichment.Trends, f) && !slices.Contains(tags, f) {
			tags = append(tags, f)
		}
	}
	slices.SortFunc(tags, func(a, b string) int { return rank[a] - rank[b] })
	if room := s.maxTags - len(m.Enrichment.Trends); len(tags) > room {
		tags = tags[:max(room, 0)]
	}
	m.Enrichment.Trends = append(m.Enrichment.Trends, tags...)
	m.SetVersion(Name, Version)
}

// features are a mention's hashtags ("#tag") and, when on, its terms.
func (s *Stage) features(m *pipeline.Mention) []string {
	n := len(m.Enrichment.Hashtags)
	if s.terms {
		n += words.MaxTerms // room for all: no copying as they are found
	}
	out := make([]string, 0, n)
	for _, h := range m.Enrichment.Hashtags {
		if h != "" {
			out = append(out, "#"+h)
		}
	}
	if s.terms {
		out = words.Terms(out, m.Title, m.Text)
	}
	return out
}
