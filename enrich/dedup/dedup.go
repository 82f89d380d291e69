// Package dedup is the enrichment stage that puts near-duplicate mentions —
// reposts, cross-posts and syndicated copies of one story — into one
// cluster, across platforms, and stores the cluster id in DupCluster.
//
// A mention joins, in this order of precedence:
//  1. its own earlier cluster, when it was seen before (redelivery);
//  2. for a repost, the cluster of its parent, when the parent was seen;
//  3. the cluster of its story link: the first canonical link (from the
//     entities stage, which runs earlier) with a real path; the same link
//     always means the same cluster;
//  4. the cluster of the nearest earlier mention whose title or text
//     SimHash (see Fingerprint) is within max_distance bits.
//
// Otherwise it starts a cluster named after itself: "u:<hash of story link>"
// when it has one, else "s:<its SimHash>" when its text is long enough
// (min_words), else "p:<hash of parent id>" for a repost, else no cluster.
// Ids are 64 bits in hex after a kind letter, e.g. "s:9f86d081884c7d65".
//
// Naming clusters after their first member's link or fingerprint rather than
// a counter makes ids deterministic: replaying the same stream gives the same
// ids, and exact copies (RTs, cross-posts, wire copies once normalised) get the
// same id on every replica and after restarts even without shared state,
// since their fingerprints are equal. Analysts can also GROUP BY DupCluster
// and take the "s:" part as the story's text fingerprint.
//
// Caveat: the index of recent signatures and links is in memory, per
// replica, bounded by capacity and window. Near (not exact) copies that
// arrive at different replicas, or after a restart, or more than window
// apart, or more than capacity mentions apart, can land in different
// clusters. Size capacity to the mention rate times the window you want:
// 200k is 33 minutes at 100 mentions/s.
//
// Threshold: max_distance 5 by default. Measured by TestCorpus on 23k
// distinct real review and Reddit snippets: no text merged into another's
// cluster at 3 or 5; of tweet-length copies with a word added in front or
// the last word cut, 61% join their original at 5 (27% at 3); with a word
// replaced mid-text, 12% (3%). Above 3 a novel post reads 68 index buckets
// instead of 4 (see BenchmarkStage/new and new-d3).
package dedup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/earshot-dev/earshot/enrich/internal/stageenv"
	"github.com/earshot-dev/earshot/pipeline"
)

// Name is the stage name; Version changes whenever fingerprints or cluster
// ids would change for the same input.
const (
	Name    = "dedup"
	Version = "1"
)

func init() {
	pipeline.RegisterEnricher(Name, 50, func(env pipeline.EnricherEnv) (pipeline.Enricher, error) {
		return New(env)
	})
}

// Options are the stage's settings under enrich.options.dedup.
type Options struct {
	// Capacity is how many recent signatures, links and ids are remembered
	// (each), default 200000: about 60 MB in all (25 MB of it the
	// signature buckets, whatever the capacity).
	Capacity int `yaml:"capacity"`
	// Window is how far apart, by created_at, two mentions may be and still
	// be clustered, default 24h.
	Window time.Duration `yaml:"window"`
	// MaxDistance is the largest Hamming distance between two SimHashes that
	// counts as a near-duplicate, 0 to 7, default 5. Every match within it
	// is found; above 3 a lookup walks 17 times as many index lists.
	MaxDistance int `yaml:"max_distance"`
	// MinWords is the fewest normalised words a text needs to get a SimHash,
	// default 5.
	MinWords int `yaml:"min_words"`
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{Capacity: 200_000, Window: 24 * time.Hour, MaxDistance: 5, MinWords: 5}
}

// ErrOptions is returned, wrapped, for invalid options.
var ErrOptions = errors.New("invalid dedup options")

// Validate reports every invalid setting at once.
func (o Options) Validate() error {
	var errs []error
	if o.Capacity < 1000 || o.Capacity > 50_000_000 {
		errs = append(errs, fmt.Errorf("capacity %d: want 1000 to 50000000", o.Capacity))
	}
	if o.Window <= 0 {
		errs = append(errs, fmt.Errorf("window %s: want a positive duration", o.Window))
	}
	if o.MaxDistance < 0 || o.MaxDistance > 7 {
		errs = append(errs, fmt.Errorf("max_distance %d: want 0 to 7", o.MaxDistance))
	}
	if o.MinWords < 3 || o.MinWords > 100 {
		errs = append(errs, fmt.Errorf("min_words %d: want 3 to 100", o.MinWords))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrOptions, errors.Join(errs...))
	}
	return nil
}

// Stage is the dedup enrichment stage. It is safe for concurrent use; its
// index is shared by all batches of the process.
type Stage struct {
	opts   Options
	window int64 // seconds
	logger *slog.Logger

	mu   sync.Mutex
	sims *simIndex
	urls *keyIndex
	ids  *keyIndex
}

var _ pipeline.Enricher = (*Stage)(nil)

// New builds the stage from env.Options (nil: defaults).
func New(env pipeline.EnricherEnv) (*Stage, error) {
	o := DefaultOptions()
	if err := stageenv.DecodeOptions(env, Name, &o); err != nil {
		return nil, err
	}
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("%s: enrich options %q: %w", env.File, Name, err)
	}
	return NewWithOptions(o, stageenv.Logger(env, Name)), nil
}

// NewWithOptions builds the stage from validated options.
func NewWithOptions(o Options, logger *slog.Logger) *Stage {
	return &Stage{
		opts:   o,
		window: int64(o.Window / time.Second),
		logger: logger,
		sims:   newSimIndex(o.Capacity),
		urls:   newKeyIndex(o.Capacity),
		ids:    newKeyIndex(o.Capacity),
	}
}

// Name returns "dedup".
func (s *Stage) Name() string { return Name }

// Version returns the fingerprint and cluster id version.
func (s *Stage) Version() string { return Version }

// prepared is what can be computed for a mention without the lock.
type prepared struct {
	t          int64
	id, parent uint64 // hashes of the mention's and its parent's ids
	url        uint64 // hash of the story link's key
	hasURL     bool
	repost     bool
	sigs       [2]uint64 // title, text
	nsigs      int
}

// Enrich sets DupCluster on every mention of the batch, in batch order.
func (s *Stage) Enrich(ctx context.Context, batch []*pipeline.Mention) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", Name, err)
	}
	var stack [256]prepared
	preps := stack[:0]
	if len(batch) > len(stack) {
		preps = make([]prepared, 0, len(batch))
	}
	var w words // fingerprint scratch, for the whole batch
	for _, m := range batch {
		preps = append(preps, s.prepare(m, &w))
	}
	s.mu.Lock()
	for i, m := range batch {
		m.Enrichment.DupCluster = s.assign(&preps[i]).String()
	}
	s.mu.Unlock()
	for _, m := range batch {
		m.SetVersion(Name, Version)
	}
	return nil
}

func (s *Stage) prepare(m *pipeline.Mention, w *words) prepared {
	p := prepared{id: xxhash.Sum64String(m.ID)}
	t := m.CreatedAt
	if t.IsZero() {
		t = m.CollectedAt
	}
	p.t = t.Unix()
	if m.Kind == pipeline.KindRepost && m.ParentID != "" {
		p.repost, p.parent = true, xxhash.Sum64String(m.ParentID)
	}
	if key, ok := storyKey(m.Enrichment.Links); ok {
		p.url, p.hasURL = xxhash.Sum64String(key), true
	}
	for _, text := range [2]string{m.Title, m.Text} {
		if sig, ok := w.fingerprint(text, s.opts.MinWords); ok {
			p.sigs[p.nsigs] = sig
			p.nsigs++
		}
	}
	return p
}

// assign finds or starts the mention's cluster and records it. Called with
// s.mu held.
func (s *Stage) assign(p *prepared) cluster {
	c, found := s.ids.get(p.id, p.t, s.window)
	if !found && p.repost {
		c, found = s.ids.get(p.parent, p.t, s.window)
	}
	if !found && p.hasURL {
		c, found = s.urls.get(p.url, p.t, s.window)
	}
	bestSlot, bestDist := -1, s.opts.MaxDistance+1
	for _, sig := range p.sigs[:p.nsigs] {
		if slot, d, ok := s.sims.lookup(sig, p.t, s.window, s.opts.MaxDistance); ok && d < bestDist {
			bestSlot, bestDist = slot, d
		}
	}
	if !found && bestSlot >= 0 {
		c, found = s.sims.entries[bestSlot].cluster, true
	}
	if !found {
		switch {
		case p.hasURL:
			c = cluster{kind: 'u', key: p.url}
		case p.nsigs > 0:
			c = cluster{kind: 's', key: p.sigs[0]}
		case p.repost:
			c = cluster{kind: 'p', key: p.parent}
		default:
			return cluster{}
		}
	}
	if p.hasURL {
		s.urls.put(p.url, p.t, c)
	}
	// Remember the signatures, except a very near copy (at most 2 bits) of
	// a recent entry of the same cluster: a flood of reposts or templated
	// spam then costs no index space and keeps band lists short. An old one
	// is re-added so a story that keeps being shared stays known.
	size := len(s.sims.entries)
	for _, sig := range p.sigs[:p.nsigs] {
		if slot, _, ok := s.sims.lookup(sig, p.t, s.window, 2); ok &&
			s.sims.entries[slot].cluster == c && s.sims.age(slot) < size/2 {
			continue
		}
		s.sims.insert(sig, p.t, c)
	}
	s.ids.put(p.id, p.t, c)
	return c
}

// storyKey returns the key of the first link that names a story: not a
// site's home page nor a bare profile on a social network. The key drops
// the scheme, "www." and a trailing slash, so http and https copies match.
func storyKey(links []string) (string, bool) {
	for _, l := range links {
		rest, ok := strings.CutPrefix(l, "https://")
		if !ok {
			if rest, ok = strings.CutPrefix(l, "http://"); !ok {
				continue
			}
		}
		rest = strings.TrimPrefix(rest, "www.")
		host, path, _ := strings.Cut(rest, "/")
		path = strings.TrimSuffix(path, "/")
		if path == "" || strings.HasPrefix(path, "?") {
			continue
		}
		if !strings.Contains(path, "/") && socialHost(host) {
			continue // a profile: x.com/acme
		}
		return strings.TrimSuffix(rest, "/"), true
	}
	return "", false
}

func socialHost(host string) bool {
	switch host {
	case "x.com", "twitter.com", "mobile.twitter.com", "instagram.com", "facebook.com", "m.facebook.com",
		"tiktok.com", "youtube.com", "m.youtube.com", "linkedin.com", "threads.net", "bsky.app",
		"reddit.com", "old.reddit.com", "github.com", "medium.com", "t.me":
		return true
	}
	return false
}

// Stats are the sizes of the stage's index, for tests and debugging.
type Stats struct {
	Signatures uint64 // signatures inserted since start
	Links, IDs int    // links and mention ids remembered now
}

// Stats returns the index sizes.
func (s *Stage) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Signatures: s.sims.written, Links: s.urls.len(), IDs: s.ids.len()}
}
