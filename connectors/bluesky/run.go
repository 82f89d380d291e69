package bluesky

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/earshot-dev/earshot/connectors/quota"
	"github.com/earshot-dev/earshot/pipeline"
)

// run is the state of one Run call. Only the session goroutine touches it.
type run struct {
	src *Source
	cfg *settings
	env *pipeline.SourceEnv
	log *slog.Logger

	start     time.Time           // when Run started (the backfill is counted from it)
	pending   []*pipeline.Mention // kept, not yet published
	last      int64               // time_us of the last event handled
	saved     int64               // the cursor in the store
	savedAt   time.Time
	skipped   int // unmatched posts since the last flush, counted in batches
	published *recentSet
	profiles  *profileCache
	appview   *quota.Quota
	budget    tokenBucket
}

func newRun(s *Source, env *pipeline.SourceEnv, log *slog.Logger) *run {
	return &run{src: s, cfg: s.cfg, env: env, log: log,
		published: newRecentSet(s.cfg.CacheSize),
		profiles:  newProfileCache(s.cfg.CacheSize, s.cfg.ProfileTTL),
		appview:   &quota.Quota{},
		budget:    tokenBucket{perMinute: s.cfg.ProfileRate},
	}
}

func (r *run) warn(typ, msg string, args ...any) {
	r.env.Metrics.Error(typ)
	r.log.Warn(msg, append(args, "type", typ)...)
}

// full reports whether the kept posts should be flushed now.
func (r *run) full() bool { return len(r.pending) >= 200 }

// flush resolves the kept posts' profiles, publishes them (retrying until
// acknowledged), and then advances the cursor to the last event handled.
func (r *run) flush(ctx context.Context) error {
	if r.skipped > 0 {
		r.env.Metrics.Skipped("unmatched", r.skipped)
		r.skipped = 0
	}
	if len(r.pending) > 0 {
		r.resolve(ctx)
		for _, m := range r.pending {
			if !m.Deleted {
				m.URL = postURL(m)
			}
		}
		if err := r.publish(ctx, r.pending); err != nil {
			return err
		}
		for _, m := range r.pending {
			r.published.add(m.ID[len(Platform)+1:])
		}
		r.pending = r.pending[:0]
		// The kept posts are remembered in the store before the cursor
		// passes them, so their deletions are honoured after a restart.
		if err := r.published.save(ctx, r.env.Cursors); err != nil {
			r.warn("cursor", "saving the kept posts failed; not advancing the cursor", "error", err)
			return nil
		}
	} else if r.src.now().Sub(r.savedAt) < r.src.cursorEvery {
		return nil
	}
	if r.last > r.saved {
		if err := r.env.Cursors.Put(ctx, cursorKey, []byte(strconv.FormatInt(r.last, 10))); err != nil {
			r.warn("cursor", "saving the cursor failed", "error", err)
			return nil
		}
		r.saved, r.savedAt = r.last, r.src.now()
	}
	return nil
}

// publish publishes ms, retrying with backoff until JetStream acknowledged
// them; it fails only when ctx ends.
func (r *run) publish(ctx context.Context, ms []*pipeline.Mention) error {
	return pipeline.PublishUntilAcked(ctx, r.env.Publisher, ms, r.src.publishBackoff, func(err error, wait time.Duration) {
		r.warn("publish", "publishing mentions failed; retrying", "mentions", len(ms), "error", err, "retry_in", wait)
	})
}

// resolve fills the authors of the pending posts from the profile cache,
// asking the AppView for the missing ones, 25 per request, within the
// request budget and the AppView's rate limit. What cannot be resolved now
// is published with the DID only (and counted).
func (r *run) resolve(ctx context.Context) {
	now := r.src.now()
	var missing []string
	seen := map[string]bool{}
	for _, m := range r.pending {
		if m.Deleted || m.Author.Handle != "" || seen[m.Author.ID] {
			continue
		}
		seen[m.Author.ID] = true
		if _, ok := r.profiles.get(m.Author.ID, now); !ok {
			missing = append(missing, m.Author.ID)
		}
	}
	unresolved := 0
	for start := 0; start < len(missing) && r.cfg.profiles; start += profilesPerRequest {
		chunk := missing[start:min(start+profilesPerRequest, len(missing))]
		if !r.appview.Until(now).IsZero() || !r.budget.take(now) {
			unresolved += len(missing) - start
			break
		}
		if err := r.getProfiles(ctx, chunk); err != nil {
			r.warn("profiles", "app.bsky.actor.getProfiles failed; publishing with DIDs", "error", err)
			unresolved += len(missing) - start
			break
		}
	}
	if !r.cfg.profiles {
		unresolved = len(missing)
	}
	if unresolved > 0 {
		r.env.Metrics.Skipped("profile_unresolved", unresolved)
	}
	for _, m := range r.pending {
		if m.Deleted {
			continue
		}
		if p, ok := r.profiles.get(m.Author.ID, now); ok {
			applyProfile(m, p)
		}
	}
}

// getProfiles is GET /xrpc/app.bsky.actor.getProfiles?actors=…&actors=….
func (r *run) getProfiles(ctx context.Context, dids []string) error {
	q := url.Values{"actors": dids}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.appview+"/xrpc/app.bsky.actor.getProfiles?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "earshot (+https://github.com/earshot-dev/earshot)")
	resp, err := r.src.hc.Do(req)
	if err != nil {
		r.env.Metrics.Request("error")
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	// RateLimit-Remaining and RateLimit-Reset (unix seconds).
	if rem, err1 := strconv.ParseFloat(resp.Header.Get("RateLimit-Remaining"), 64); err1 == nil {
		if reset, err2 := strconv.ParseInt(resp.Header.Get("RateLimit-Reset"), 10, 64); err2 == nil {
			r.appview.Update(rem, time.Unix(reset, 0))
		}
	}
	if resp.StatusCode != http.StatusOK {
		var xe struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &xe)
		if resp.StatusCode == http.StatusTooManyRequests {
			r.env.Metrics.Request("rate_limited")
			if reset, err := strconv.ParseInt(resp.Header.Get("RateLimit-Reset"), 10, 64); err == nil {
				r.appview.Block(time.Unix(reset, 0))
			} else {
				r.appview.Block(r.src.now().Add(time.Minute))
			}
		} else {
			r.env.Metrics.Request("error")
		}
		return fmt.Errorf("HTTP %d: %s: %s", resp.StatusCode, xe.Error, xe.Message)
	}
	r.env.Metrics.Request("ok")
	var out struct {
		Profiles []struct {
			DID            string `json:"did"`
			Handle         string `json:"handle"`
			DisplayName    string `json:"displayName"`
			FollowersCount int64  `json:"followersCount"`
		} `json:"profiles"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("decode profiles: %w", err)
	}
	now := r.src.now()
	for _, p := range out.Profiles {
		r.profiles.put(p.DID, profile{Handle: p.Handle, Name: p.DisplayName, Followers: p.FollowersCount, full: true}, now)
	}
	return nil
}

// tokenBucket is the getProfiles request budget: perMinute requests per
// minute, in bursts of at most perMinute.
type tokenBucket struct {
	perMinute int
	tokens    float64
	at        time.Time
}

func (b *tokenBucket) take(now time.Time) bool {
	if b.at.IsZero() {
		b.tokens, b.at = float64(b.perMinute), now
	}
	b.tokens = min(float64(b.perMinute), b.tokens+now.Sub(b.at).Minutes()*float64(b.perMinute))
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// profile is what the connector knows of an account.
type profile struct {
	Handle    string
	Name      string
	Followers int64
	full      bool // from getProfiles (an identity event gives the handle only)
	at        time.Time
}

// profileCache holds profiles for ttl, at most size of them.
type profileCache struct {
	mu   sync.Mutex
	size int
	ttl  time.Duration
	m    map[string]profile
}

func newProfileCache(size int, ttl time.Duration) *profileCache {
	return &profileCache{size: size, ttl: ttl, m: map[string]profile{}}
}

// get returns a full profile younger than the TTL.
func (c *profileCache) get(did string, now time.Time) (profile, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[did]
	if !ok || !p.full || now.Sub(p.at) > c.ttl {
		return p, false
	}
	return p, true
}

func (c *profileCache) put(did string, p profile, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.size {
		for k := range c.m { // drop an arbitrary tenth
			delete(c.m, k)
			if len(c.m) < c.size*9/10 {
				break
			}
		}
	}
	p.at = now
	c.m[did] = p
}

// setHandle records a handle change (an identity event): the cached
// profile keeps its counts but takes the new handle.
func (c *profileCache) setHandle(did, handle string, now time.Time) {
	c.mu.Lock()
	p, ok := c.m[did]
	c.mu.Unlock()
	if !ok {
		return // resolved in full when one of its posts is kept
	}
	p.Handle = handle
	c.put(did, p, p.at)
}

// recentSet remembers the AT URIs of published posts (at most size), so a
// delete event becomes a tombstone only for a post earshot kept. The
// newest keptKept of them are also kept in the cursor store (key "kept"),
// so a restart still honours their deletions.
type recentSet struct {
	size      int
	cur, prev map[string]struct{}
	ring      []string // the newest URIs, oldest first, as saved
	dirty     bool
}

// keptKept is how many kept posts survive a restart.
const keptKept = 2000

const keptKey = "kept"

func newRecentSet(size int) *recentSet {
	return &recentSet{size: max(size/2, 1), cur: map[string]struct{}{}}
}

func (s *recentSet) add(uri string) {
	if len(s.cur) >= s.size {
		s.prev, s.cur = s.cur, map[string]struct{}{}
	}
	s.cur[uri] = struct{}{}
	s.ring = append(s.ring, uri)
	if len(s.ring) > keptKept {
		s.ring = s.ring[len(s.ring)-keptKept:]
	}
	s.dirty = true
}

// load restores the URIs a previous run saved.
func (s *recentSet) load(ctx context.Context, cur pipeline.CursorStore) error {
	raw, err := cur.Get(ctx, keptKey)
	if errors.Is(err, pipeline.ErrNoCursor) {
		return nil
	}
	if err != nil {
		return err
	}
	var uris []string
	if err := json.Unmarshal(raw, &uris); err != nil {
		return fmt.Errorf("kept posts: %w", err)
	}
	for _, u := range uris {
		s.add(u)
	}
	s.dirty = false
	return nil
}

func (s *recentSet) save(ctx context.Context, cur pipeline.CursorStore) error {
	if !s.dirty {
		return nil
	}
	raw, err := json.Marshal(s.ring)
	if err != nil {
		return err
	}
	if err := cur.Put(ctx, keptKey, raw); err != nil {
		return err
	}
	s.dirty = false
	return nil
}

func (s *recentSet) has(uri string) bool {
	if _, ok := s.cur[uri]; ok {
		return true
	}
	_, ok := s.prev[uri]
	return ok
}
