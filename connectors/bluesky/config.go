package bluesky

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// Defaults.
const (
	DefaultBaseURL      = "wss://jetstream2.us-east.bsky.network"
	DefaultAppViewURL   = "https://public.api.bsky.app"
	DefaultRewind       = 5 * time.Second
	DefaultStallTimeout = 30 * time.Second
	DefaultMaxItemBytes = 64 << 10 // a post record is at most a few KB
	DefaultProfileTTL   = 24 * time.Hour
	DefaultProfileRate  = 50 // getProfiles requests per minute
	DefaultCacheSize    = 100_000

	profilesPerRequest = 25 // app.bsky.actor.getProfiles takes at most 25 actors
	readLimit          = 16 << 20
)

// Config is a bluesky connector's settings (`type: bluesky`).
type Config struct {
	BaseURL    string `yaml:"base_url"`    // Jetstream, default wss://jetstream2.us-east.bsky.network
	AppViewURL string `yaml:"appview_url"` // default https://public.api.bsky.app
	// Handles are tracked accounts: a post that mentions one (@handle) is
	// kept even if it matches no topic. The topics' handles are added.
	Handles []string `yaml:"handles"`
	// DIDs are tracked accounts by DID: their posts and posts mentioning
	// them are kept.
	DIDs []string `yaml:"dids"`

	Rewind       time.Duration `yaml:"rewind"`         // resume this far before the cursor, default 5s
	Backfill     time.Duration `yaml:"backfill"`       // first start: read this far back, default 0 (from now); Jetstream keeps about a day
	StallTimeout time.Duration `yaml:"stall_timeout"`  // reconnect after this much silence, default 30s
	MaxItemBytes int           `yaml:"max_item_bytes"` // a larger event is counted and skipped, default 64 KiB

	// Profiles: handles and follower counts from app.bsky.actor.getProfiles.
	ProfileTTL  time.Duration `yaml:"profile_ttl"`  // cache lifetime, default 24h
	ProfileRate int           `yaml:"profile_rate"` // budget: getProfiles requests per minute, default 50; 0 = no profiles
	CacheSize   int           `yaml:"cache_size"`   // profiles cached, default 100000
}

type settings struct {
	Config
	base, appview string
	handles       []string // lower case, without @
	dids          map[string]bool
	profiles      bool
}

func parseConfig(c Config, topics []pipeline.Topic) (*settings, []error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s := &settings{Config: c, dids: map[string]bool{}}
	check := func(key, v, def string, schemes ...string) string {
		if v == "" {
			return def
		}
		u, err := url.Parse(v)
		ok := err == nil && u.Host != ""
		if ok {
			ok = false
			for _, sc := range schemes {
				ok = ok || u.Scheme == sc
			}
		}
		if !ok {
			bad("%s: %q is not a %s URL", key, v, strings.Join(schemes, " or "))
		}
		return strings.TrimRight(v, "/")
	}
	s.base = check("base_url", c.BaseURL, DefaultBaseURL, "ws", "wss")
	s.appview = check("appview_url", c.AppViewURL, DefaultAppViewURL, "http", "https")
	add := func(h string) {
		h = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(h), "@"))
		if h != "" && !strings.Contains(h, " ") {
			s.handles = append(s.handles, h)
		}
	}
	for i, h := range c.Handles {
		if h = strings.TrimSpace(h); h == "" || strings.ContainsAny(h, " /") {
			bad("handles[%d]: %q is not a handle", i, c.Handles[i])
			continue
		}
		add(h)
	}
	for _, t := range topics {
		for _, h := range t.Handles {
			if strings.Contains(h, ".") { // a Bluesky handle is a domain name
				add(h)
			}
		}
	}
	for i, d := range c.DIDs {
		if !strings.HasPrefix(d, "did:") {
			bad("dids[%d]: %q is not a DID (did:plc:… or did:web:…)", i, d)
			continue
		}
		s.dids[d] = true
	}
	if s.Rewind == 0 {
		s.Rewind = DefaultRewind
	} else if s.Rewind < 0 || s.Rewind > time.Hour {
		bad("rewind: %v is not between 0 and 1h", s.Rewind)
	}
	if s.Backfill < 0 || s.Backfill > 72*time.Hour {
		bad("backfill: %v is not between 0 and 72h", s.Backfill)
	}
	if s.StallTimeout == 0 {
		s.StallTimeout = DefaultStallTimeout
	} else if s.StallTimeout < 5*time.Second {
		bad("stall_timeout: %v is shorter than 5s", s.StallTimeout)
	}
	if s.MaxItemBytes == 0 {
		s.MaxItemBytes = DefaultMaxItemBytes
	} else if s.MaxItemBytes < 1024 || s.MaxItemBytes > readLimit {
		bad("max_item_bytes: %d is not between 1024 and %d", s.MaxItemBytes, readLimit)
	}
	if s.ProfileTTL == 0 {
		s.ProfileTTL = DefaultProfileTTL
	}
	if s.CacheSize == 0 {
		s.CacheSize = DefaultCacheSize
	}
	s.profiles = true
	if s.ProfileRate == 0 {
		s.ProfileRate = DefaultProfileRate
	} else if s.ProfileRate < 0 {
		s.profiles = false // profile_rate: -1 turns profile lookups off
	}
	if len(topics) == 0 && len(s.handles) == 0 && len(s.dids) == 0 && len(errs) == 0 {
		bad("nothing to keep: no topics, handles or dids (Jetstream sends every post on the network)")
	}
	return s, errs
}

// New builds a bluesky connector from its config entry. It is registered as
// connector type "bluesky".
func New(spec *pipeline.ConnectorSpec, topics []pipeline.Topic) (pipeline.Source, error) {
	var c Config
	if err := spec.Decode(&c); err != nil {
		return nil, pipeline.PrefixErrors(spec.Where(), []error{err})
	}
	s, errs := parseConfig(c, topics)
	if len(errs) > 0 {
		return nil, pipeline.PrefixErrors(spec.Where(), errs)
	}
	return newSource(s), nil
}
