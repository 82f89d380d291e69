package rss

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/pipeline"
)

// Config is the rss connector's part of a connectors entry:
//
//   - type: rss
//     name: acme-news
//     interval: 5m
//     feeds:
//   - https://news.example.com/acme.rss
//   - {url: https://forum.example.com/latest.atom, name: forum}
type Config struct {
	Interval   time.Duration `yaml:"interval"`    // poll period per feed; default 5m, at least 10s
	Jitter     *float64      `yaml:"jitter"`      // fraction of interval added or removed at random; default 0.1
	Feeds      []FeedConfig  `yaml:"feeds"`       // http or https URLs
	Timeout    time.Duration `yaml:"timeout"`     // whole request, body included; default 30s
	MaxBytes   ByteSize      `yaml:"max_bytes"`   // response body limit (after gzip); default 8 MiB
	UserAgent  string        `yaml:"user_agent"`  // default "earshot/<version> (+https://github.com/earshot-dev/earshot)"
	MaxBackoff time.Duration `yaml:"max_backoff"` // cap of the per-feed error backoff; default 1h
	MaxItems   int           `yaml:"max_items"`   // items considered per fetch, in document order; default 500
	SeenLimit  int           `yaml:"seen_limit"`  // item keys remembered per feed; default 5000
	Platform   string        `yaml:"platform"`    // stored platform, e.g. reddit, hackernews, mastodon; default rss
	Kind       string        `yaml:"kind"`        // stored kind (article, post, comment, …); default article
}

// FeedConfig is one feed: a URL string, or a mapping {url, name}. The name
// only labels the feed in logs.
type FeedConfig struct {
	URL  string `yaml:"url"`
	Name string `yaml:"name"`

	line int // config line, for error messages
}

// UnmarshalYAML accepts a plain URL or a {url, name} mapping.
func (f *FeedConfig) UnmarshalYAML(n *yaml.Node) error {
	f.line = n.Line
	if n.Kind == yaml.ScalarNode {
		f.URL = n.Value
		return nil
	}
	type plain FeedConfig
	var p plain
	if err := pipeline.DecodeStrict(n, &p); err != nil {
		return err
	}
	f.URL, f.Name = p.URL, p.Name
	return nil
}

// ByteSize is a size in bytes, written as an integer or with a unit:
// 8MiB, 512KiB, 2MB, 1GiB.
type ByteSize int64

// UnmarshalYAML parses an integer or a number with a unit.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseByteSize(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		// A TypeError lets the decoder go on and report the other keys too.
		return &yaml.TypeError{Errors: []string{
			fmt.Sprintf("line %d: max_bytes %q: want a size like 8388608, 8MiB or 500KB", n.Line, n.Value)}}
	}
	*b = v
	return nil
}

// ParseByteSize parses "8388608", "8MiB", "500KB", "1 GiB" (B, KB, MB, GB
// are powers of 1000; KiB, MiB, GiB of 1024).
func ParseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	i := len(s)
	for i > 0 && (s[i-1] < '0' || s[i-1] > '9') {
		i--
	}
	num, unit := strings.TrimSpace(s[:i]), strings.ToLower(strings.TrimSpace(s[i:]))
	mult := map[string]int64{"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("size %q: unknown unit %q", s, unit)
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: not a size", s)
	}
	return ByteSize(v * mult), nil
}

// Defaults and limits.
const (
	DefaultInterval   = 5 * time.Minute
	MinInterval       = 10 * time.Second
	DefaultJitter     = 0.1
	DefaultTimeout    = 30 * time.Second
	DefaultMaxBytes   = ByteSize(8 << 20)
	DefaultMaxBackoff = time.Hour
	DefaultMaxItems   = 500
	DefaultSeenLimit  = 5000
	DefaultPlatform   = "rss"
	DefaultKind       = pipeline.KindArticle
)

// DefaultUserAgent is sent when user_agent is not set.
var DefaultUserAgent = "earshot/" + buildVersion() + " (+https://github.com/earshot-dev/earshot)"

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// ErrInvalidConfig wraps every configuration problem.
var ErrInvalidConfig = errors.New("invalid rss config")

var platformRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

var kinds = []string{pipeline.KindPost, pipeline.KindReply, pipeline.KindRepost, pipeline.KindQuote,
	pipeline.KindComment, pipeline.KindArticle}

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Jitter == nil {
		j := DefaultJitter
		c.Jitter = &j
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.MaxItems == 0 {
		c.MaxItems = DefaultMaxItems
	}
	if c.SeenLimit == 0 {
		c.SeenLimit = DefaultSeenLimit
	}
	if c.Platform == "" {
		c.Platform = DefaultPlatform
	}
	if c.Kind == "" {
		c.Kind = DefaultKind
	}
	return c
}

// validate reports every problem of a defaulted config at once. It never
// touches the network. minInterval is MinInterval except in tests.
func (c Config) validate(minInterval time.Duration) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Interval < minInterval {
		bad("interval %v is below the minimum %v", c.Interval, minInterval)
	}
	if j := *c.Jitter; j < 0 || j >= 1 {
		bad("jitter %v: want a fraction in [0, 1)", j)
	}
	if c.Timeout < 0 {
		bad("timeout %v is negative", c.Timeout)
	}
	if c.MaxBytes < 1 {
		bad("max_bytes %d: want at least 1", c.MaxBytes)
	}
	if c.MaxBackoff < c.Interval/4 {
		bad("max_backoff %v is below interval/4 (%v)", c.MaxBackoff, c.Interval/4)
	}
	if c.MaxItems < 1 {
		bad("max_items %d: want at least 1", c.MaxItems)
	}
	if c.SeenLimit < c.MaxItems {
		bad("seen_limit %d is below max_items %d: items of one fetch would be forgotten and republished", c.SeenLimit, c.MaxItems)
	}
	if !platformRE.MatchString(c.Platform) {
		bad("platform %q: want a lowercase token like rss, reddit, hackernews or mastodon", c.Platform)
	}
	if !slices.Contains(kinds, c.Kind) {
		bad("kind %q: want one of %s", c.Kind, strings.Join(kinds, ", "))
	}
	if strings.ContainsAny(c.UserAgent, "\r\n") {
		bad("user_agent contains a line break")
	}
	if len(c.Feeds) == 0 {
		bad("feeds: at least one feed URL is required")
	}
	seen := map[string]int{}
	for i, f := range c.Feeds {
		where := fmt.Sprintf("feeds[%d]", i)
		if f.line > 0 {
			where = fmt.Sprintf("line %d: %s", f.line, where)
		}
		u, err := parseFeedURL(f.URL)
		if err != nil {
			bad("%s: %w", where, err)
			continue
		}
		key := feedKey(u)
		if j, dup := seen[key]; dup {
			bad("%s: %q is the same feed as feeds[%d]", where, key, j)
			continue
		}
		seen[key] = i
	}
	return errors.Join(errs...)
}

// parseFeedURL checks that s is an absolute http or https URL with a host.
func parseFeedURL(s string) (*url.URL, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty feed URL")
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("feed URL %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("feed URL %q: scheme must be http or https", s)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("feed URL %q: no host", s)
	}
	u.Fragment = ""
	return u, nil
}

// feedKey is how a feed is named in mention sources, ids, cursor keys and
// logs: its URL without user info, so a password in the URL goes nowhere
// but the request.
func feedKey(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}
