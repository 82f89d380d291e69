package reddit

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
	DefaultAuthURL      = "https://www.reddit.com/api/v1/access_token"
	DefaultBaseURL      = "https://oauth.reddit.com"
	DefaultInterval     = time.Minute
	DefaultRefresh      = 24 * time.Hour
	DefaultMaxItemBytes = 1 << 20
	DefaultMaxPages     = 10 // Reddit listings reach back about 1,000 items

	maxResponseBytes = 32 << 20
	pageLimit        = 100 // Reddit's largest page
)

// Config is a reddit connector's settings (`type: reddit`).
type Config struct {
	// ClientID and ClientSecret are the app's credentials (a "script" or
	// "web app" at reddit.com/prefs/apps), {env: VAR} or {file: PATH}.
	ClientID     pipeline.SecretRef `yaml:"client_id"`
	ClientSecret pipeline.SecretRef `yaml:"client_secret"`
	// UserAgent is required by Reddit's API rules:
	// "<platform>:<app id>:<version> (by /u/<reddit username>)".
	UserAgent string `yaml:"user_agent"`
	AuthURL   string `yaml:"auth_url"` // default https://www.reddit.com/api/v1/access_token
	BaseURL   string `yaml:"base_url"` // default https://oauth.reddit.com

	// Subreddits are read for new posts (/r/{sub}/new) and, unless
	// comments is false, new comments (/r/{sub}/comments).
	Subreddits []string `yaml:"subreddits"`
	Comments   *bool    `yaml:"comments"`
	// Search runs Reddit search (sort=new) for every topic's query.
	Search bool `yaml:"search"`

	Interval time.Duration `yaml:"interval"`  // polling interval per listing, default 1m
	MaxPages int           `yaml:"max_pages"` // pages read per listing and poll, default 10 (of 100)
	// Refresh is how long published items are re-checked (GET /api/info)
	// for edits and deletions, default 24h; 0s turns re-checking off.
	Refresh *time.Duration `yaml:"refresh"`
	// RefreshInterval is how often they are re-checked, default 5 × interval.
	RefreshInterval time.Duration `yaml:"refresh_interval"`
	// RefreshMax caps how many items are re-checked (100 per request),
	// newest first; default 1000.
	RefreshMax   int `yaml:"refresh_max"`
	MaxItemBytes int `yaml:"max_item_bytes"` // an item larger than this is counted and skipped; default 1 MiB
}

// listing is one thing the connector polls.
type listing struct {
	Key   string // cursor key: "new:acme", "comments:acme", "search:<topic id>"
	Path  string // "/r/acme/new"
	Query url.Values
	Rule  string // Mention.MatchedRule: topic id for search, "" for subreddits
}

// settings is a validated config with defaults applied and secrets loaded.
type settings struct {
	Config
	clientID, clientSecret pipeline.Secret
	authURL, baseURL       string
	listings               []listing
	refresh                time.Duration
}

var subredditName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_]{1,20}$`)

func parseConfig(c Config, topics []pipeline.Topic) (*settings, []error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s := &settings{Config: c}
	load := func(key string, r pipeline.SecretRef) pipeline.Secret {
		if r.IsZero() {
			bad("%s: required, as {env: VAR} or {file: PATH}", key)
			return pipeline.Secret{}
		}
		v, err := r.Load()
		if err != nil {
			bad("%s: %w", key, err)
		} else if v.IsZero() {
			bad("%s: the secret is empty", key)
		}
		return v
	}
	s.clientID = load("client_id", c.ClientID)
	s.clientSecret = load("client_secret", c.ClientSecret)
	if strings.TrimSpace(c.UserAgent) == "" {
		bad(`user_agent: required by Reddit, like "linux:com.example.earshot:v1.0 (by /u/yourname)"`)
	}
	checkURL := func(key, v, def string) string {
		if v == "" {
			return def
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("%s: %q is not an http(s) URL", key, v)
		}
		return strings.TrimRight(v, "/")
	}
	s.authURL = checkURL("auth_url", c.AuthURL, DefaultAuthURL)
	s.baseURL = checkURL("base_url", c.BaseURL, DefaultBaseURL)
	if s.Interval == 0 {
		s.Interval = DefaultInterval
	} else if s.Interval < time.Second {
		bad("interval: %v is shorter than 1s", s.Interval)
	}
	if s.MaxPages == 0 {
		s.MaxPages = DefaultMaxPages
	} else if s.MaxPages < 1 || s.MaxPages > 10 {
		bad("max_pages: %d is not between 1 and 10", s.MaxPages)
	}
	s.refresh = DefaultRefresh
	if c.Refresh != nil {
		s.refresh = *c.Refresh
	}
	if s.refresh < 0 {
		bad("refresh: %v is negative (0s turns re-checking off)", s.refresh)
	}
	if s.RefreshInterval == 0 {
		s.RefreshInterval = 5 * s.Interval
	}
	if s.RefreshMax == 0 {
		s.RefreshMax = 1000
	} else if s.RefreshMax < 0 {
		bad("refresh_max: %d is negative", s.RefreshMax)
	}
	if s.MaxItemBytes == 0 {
		s.MaxItemBytes = DefaultMaxItemBytes
	} else if s.MaxItemBytes < 1024 {
		bad("max_item_bytes: %d is below 1024", s.MaxItemBytes)
	}
	comments := c.Comments == nil || *c.Comments
	seen := map[string]bool{}
	for i, sub := range c.Subreddits {
		sub = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(sub), "/"), "r/")
		if !subredditName.MatchString(sub) {
			bad("subreddits[%d]: %q is not a subreddit name", i, c.Subreddits[i])
			continue
		}
		if seen[strings.ToLower(sub)] {
			bad("subreddits[%d]: %q is listed twice", i, sub)
			continue
		}
		seen[strings.ToLower(sub)] = true
		s.listings = append(s.listings, listing{Key: "new:" + sub, Path: "/r/" + sub + "/new"})
		if comments {
			s.listings = append(s.listings, listing{Key: "comments:" + sub, Path: "/r/" + sub + "/comments"})
		}
	}
	if c.Search {
		for _, t := range topics {
			q := strings.TrimSpace(t.Query)
			if q == "" {
				continue
			}
			s.listings = append(s.listings, listing{Key: "search:" + t.ID, Path: "/search", Rule: t.ID,
				Query: url.Values{"q": {q}, "sort": {"new"}, "type": {"link"}}})
		}
	}
	if len(s.listings) == 0 && len(errs) == 0 {
		bad("nothing to read: no subreddits, and search is off or there are no topics")
	}
	return s, errs
}

// New builds a reddit connector from its config entry. It is registered as
// connector type "reddit".
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
