package mastodon

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// Defaults.
const (
	DefaultInterval     = time.Minute
	DefaultStallTimeout = 60 * time.Second // Mastodon sends a :thump heartbeat about every 15 s
	DefaultMaxItemBytes = 1 << 20
	DefaultRemember     = 2000

	maxResponseBytes = 16 << 20
	pageLimit        = 40 // the hashtag timeline's largest page
	maxCatchUpPages  = 25 // 1,000 statuses per hashtag and catch-up
)

// Config is a mastodon connector's settings (`type: mastodon`).
type Config struct {
	Instances []InstanceConfig `yaml:"instances"`
	Hashtags  []string         `yaml:"hashtags"`
	// Stream reads the streaming API when the instance allows it (default
	// true); false polls only.
	Stream *bool `yaml:"stream"`

	Interval     time.Duration `yaml:"interval"`       // polling interval when not streaming, default 1m
	StallTimeout time.Duration `yaml:"stall_timeout"`  // stream silence (no event, no heartbeat) before reconnecting, default 60s
	MaxItemBytes int           `yaml:"max_item_bytes"` // a larger status is counted and skipped, default 1 MiB
	// Remember is how many recent statuses per instance are remembered
	// (local id -> uri) to turn `delete` events into tombstones, default 2000.
	Remember int `yaml:"remember"`
}

// InstanceConfig is one Mastodon server.
type InstanceConfig struct {
	BaseURL string `yaml:"base_url"` // https://mastodon.social
	// AccessToken is optional: an app token with the read:statuses scope.
	// Many instances only stream to authenticated clients.
	AccessToken pipeline.SecretRef `yaml:"access_token"`
}

// instance is a validated instance.
type instance struct {
	base  string // without trailing slash
	host  string
	token pipeline.Secret
}

// settings is a validated config with defaults applied and secrets loaded.
type settings struct {
	Config
	instances []instance
	tags      []string // lower case, without '#'
	stream    bool
}

var hashtagName = regexp.MustCompile(`^[\p{L}\p{N}_]+$`)

func parseConfig(c Config) (*settings, []error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s := &settings{Config: c, stream: c.Stream == nil || *c.Stream}
	seen := map[string]bool{}
	for i, in := range c.Instances {
		u, err := url.Parse(in.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("instances[%d].base_url: %q is not an http(s) URL", i, in.BaseURL)
			continue
		}
		if seen[u.Host] {
			bad("instances[%d].base_url: %s is listed twice", i, u.Host)
			continue
		}
		seen[u.Host] = true
		inst := instance{base: strings.TrimRight(in.BaseURL, "/"), host: u.Host}
		if !in.AccessToken.IsZero() {
			tok, err := in.AccessToken.Load()
			if err != nil {
				bad("instances[%d].access_token: %w", i, err)
			} else if tok.IsZero() {
				bad("instances[%d].access_token: the secret is empty", i)
			}
			inst.token = tok
		}
		s.instances = append(s.instances, inst)
	}
	if len(c.Instances) == 0 {
		bad("instances: at least one is required, like [{base_url: https://mastodon.social}]")
	}
	tags := map[string]bool{}
	for i, t := range c.Hashtags {
		t = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(t), "#"))
		if !hashtagName.MatchString(t) {
			bad("hashtags[%d]: %q is not a hashtag (letters, digits and _)", i, c.Hashtags[i])
			continue
		}
		if tags[t] {
			bad("hashtags[%d]: #%s is listed twice", i, t)
			continue
		}
		tags[t] = true
		s.tags = append(s.tags, t)
	}
	if len(c.Hashtags) == 0 {
		bad("hashtags: at least one is required")
	}
	if s.Interval == 0 {
		s.Interval = DefaultInterval
	} else if s.Interval < time.Second {
		bad("interval: %v is shorter than 1s", s.Interval)
	}
	if s.StallTimeout == 0 {
		s.StallTimeout = DefaultStallTimeout
	} else if s.StallTimeout < 20*time.Second {
		bad("stall_timeout: %v is shorter than 20s (heartbeats come about every 15s)", s.StallTimeout)
	}
	if s.MaxItemBytes == 0 {
		s.MaxItemBytes = DefaultMaxItemBytes
	} else if s.MaxItemBytes < 1024 {
		bad("max_item_bytes: %d is below 1024", s.MaxItemBytes)
	}
	if s.Remember == 0 {
		s.Remember = DefaultRemember
	} else if s.Remember < 0 || s.Remember > 10000 {
		bad("remember: %d is not between 1 and 10000", s.Remember)
	}
	return s, errs
}

// New builds a mastodon connector from its config entry. It is registered
// as connector type "mastodon".
func New(spec *pipeline.ConnectorSpec, _ []pipeline.Topic) (pipeline.Source, error) {
	var c Config
	if err := spec.Decode(&c); err != nil {
		return nil, pipeline.PrefixErrors(spec.Where(), []error{err})
	}
	s, errs := parseConfig(c)
	if len(errs) > 0 {
		return nil, pipeline.PrefixErrors(spec.Where(), errs)
	}
	return newSource(s), nil
}
