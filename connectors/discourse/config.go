package discourse

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/earshot-dev/earshot/connectors/poll"
	"github.com/earshot-dev/earshot/pipeline"
)

// Defaults.
const (
	DefaultInterval = time.Minute
	DefaultMaxPages = 10 // of 50 posts
	// DefaultRequestsPerMinute is Discourse's default limit for an admin
	// API key (60 a minute); anonymous clients get more per IP.
	DefaultRequestsPerMinute = 60

	maxResponseBytes = 16 << 20
	pageSize         = 50 // /posts.json answers 50 posts
	topicCacheSize   = 5000
)

// Forum is one Discourse site.
type Forum struct {
	BaseURL     string             `yaml:"base_url"`
	APIKey      pipeline.SecretRef `yaml:"api_key"`      // optional, {env: VAR} or {file: PATH}
	APIUsername string             `yaml:"api_username"` // required with api_key
}

// Config is a discourse connector's settings (`type: discourse`).
type Config struct {
	Forums []Forum `yaml:"forums"`
	// Latest reads every new post from /posts.json (default true); off,
	// only search results are read (a busy forum).
	Latest *bool `yaml:"latest"`
	// Search also runs /search.json?q=<query> order:latest per topic query.
	Search            bool                `yaml:"search"`
	Queries           map[string][]string `yaml:"queries"`
	Interval          time.Duration       `yaml:"interval"`
	MaxPages          int                 `yaml:"max_pages"`
	Refresh           *time.Duration      `yaml:"refresh"`
	RefreshInterval   time.Duration       `yaml:"refresh_interval"`
	RefreshMax        int                 `yaml:"refresh_max"`
	MaxItemBytes      int                 `yaml:"max_item_bytes"`
	RequestsPerMinute int                 `yaml:"requests_per_minute"`
}

type search struct {
	Key, Query, Rule string
}

type forum struct {
	baseURL  string
	host     string
	key      pipeline.Secret
	username string
}

type settings struct {
	poll.Resolved
	forums   []forum
	searches []search
	latest   bool
	gap      time.Duration
}

func parseConfig(c Config, topics []pipeline.Topic) (*settings, []error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	common := poll.Common{Interval: c.Interval, MaxPages: c.MaxPages, Refresh: c.Refresh, RefreshInterval: c.RefreshInterval,
		RefreshMax: c.RefreshMax, MaxItemBytes: c.MaxItemBytes}
	s := &settings{Resolved: common.Resolve(poll.Defaults{Interval: DefaultInterval, MaxPages: DefaultMaxPages,
		Refresh: 24 * time.Hour, RefreshMax: 300}, &errs)}
	s.gap = poll.PerPeriod("requests_per_minute", c.RequestsPerMinute, DefaultRequestsPerMinute, time.Minute, &errs)
	s.latest = c.Latest == nil || *c.Latest
	if len(c.Forums) == 0 {
		bad("forums: at least one forum is required ({base_url: https://forum.example.com})")
	}
	hosts := map[string]bool{}
	for i, f := range c.Forums {
		key := fmt.Sprintf("forums[%d]", i)
		if f.BaseURL == "" {
			bad("%s.base_url: required", key)
			continue
		}
		u := poll.CheckURL(key+".base_url", f.BaseURL, &errs)
		pu, err := url.Parse(u)
		if err != nil {
			continue
		}
		fo := forum{baseURL: u, host: pu.Host + strings.TrimRight(pu.Path, "/"), username: f.APIUsername}
		if hosts[fo.host] {
			bad("%s.base_url: %q is listed twice", key, f.BaseURL)
		}
		hosts[fo.host] = true
		if !f.APIKey.IsZero() {
			k, err := f.APIKey.Load()
			if err != nil {
				bad("%s.api_key: %w", key, err)
			} else if k.IsZero() {
				bad("%s.api_key: the secret is empty", key)
			}
			fo.key = k
			if f.APIUsername == "" {
				bad("%s.api_username: required with api_key (the user the key acts as, e.g. system)", key)
			}
		}
		s.forums = append(s.forums, fo)
	}
	queries := poll.TopicQueries(topics, c.Queries, &errs)
	if c.Search {
		for _, q := range queries {
			s.searches = append(s.searches, search{Key: "search:" + q.Rule + ":" + q.Query, Query: q.Query, Rule: q.Rule})
		}
	}
	if !s.latest && len(s.searches) == 0 && len(errs) == 0 {
		bad("nothing to read: latest is off and search is off or no topic has a query")
	}
	return s, errs
}

// New builds a discourse connector from its config entry. It is registered
// as connector type "discourse".
func New(spec *pipeline.ConnectorSpec, topics []pipeline.Topic) (pipeline.Source, error) {
	var c Config
	if err := spec.Decode(&c); err != nil {
		return nil, pipeline.PrefixErrors(spec.Where(), []error{err})
	}
	s, errs := parseConfig(c, topics)
	if len(errs) > 0 {
		return nil, pipeline.PrefixErrors(spec.Where(), errs)
	}
	return &Source{cfg: s, hc: poll.NewHTTPClient(), knobs: poll.DefaultKnobs()}, nil
}
