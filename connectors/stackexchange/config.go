package stackexchange

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/earshot-dev/earshot/connectors/poll"
	"github.com/earshot-dev/earshot/pipeline"
)

// Defaults.
const (
	DefaultBaseURL  = "https://api.stackexchange.com/2.3"
	DefaultInterval = 5 * time.Minute
	DefaultMaxPages = 5 // of 100 items
	DefaultOverlap  = 2 * time.Minute
	// DefaultFilter is the built-in filter that adds body to questions,
	// answers and comments.
	DefaultFilter = "withbody"

	maxResponseBytes = 32 << 20
	pageSize         = 100
	// requestGap keeps under the documented 30 requests a second per IP.
	requestGap = 50 * time.Millisecond
)

// Config is a stackexchange connector's settings (`type: stackexchange`).
type Config struct {
	poll.Common `yaml:",inline"`
	// Key is the app key from stackapps.com (raises the daily quota from
	// 300 to 10,000 requests), {env: VAR} or {file: PATH}; optional.
	Key pipeline.SecretRef `yaml:"key"`
	// Sites are API site parameters: stackoverflow, superuser, …
	Sites []string `yaml:"sites"`
	// Search runs /search/advanced for every topic query (default true).
	Search *bool `yaml:"search"`
	// Queries are the search queries per topic id (default derived).
	Queries map[string][]string `yaml:"queries"`
	// Listings are whole-site listings read too: questions, answers,
	// comments (for small or branded sites).
	Listings []string `yaml:"listings"`
	Filter   string   `yaml:"filter"` // default withbody
	// Overlap is how far before the newest item each listing reaches again.
	Overlap *time.Duration `yaml:"overlap"`
}

// listing is one thing the connector polls.
type listing struct {
	Key   string // cursor key
	Site  string
	Path  string // /search/advanced, /questions, /answers, /comments
	Query string // q for search
	Rule  string
}

type settings struct {
	poll.Resolved
	key      pipeline.Secret
	filter   string
	overlap  time.Duration
	listings []listing
	sites    []string
}

var siteName = regexp.MustCompile(`^[a-z0-9.-]+$`)

func parseConfig(c Config, topics []pipeline.Topic) (*settings, []error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s := &settings{Resolved: c.Common.Resolve(poll.Defaults{BaseURL: DefaultBaseURL, Interval: DefaultInterval,
		MaxPages: DefaultMaxPages, Refresh: 24 * time.Hour, RefreshMax: 1000}, &errs), filter: c.Filter}
	if !c.Key.IsZero() {
		k, err := c.Key.Load()
		if err != nil {
			bad("key: %w", err)
		} else if k.IsZero() {
			bad("key: the secret is empty")
		}
		s.key = k
	}
	if s.filter == "" {
		s.filter = DefaultFilter
	}
	s.overlap = DefaultOverlap
	if c.Overlap != nil {
		s.overlap = *c.Overlap
	}
	if s.overlap < 0 {
		bad("overlap: %v is negative", s.overlap)
	}
	if len(c.Sites) == 0 {
		bad("sites: at least one site is required (stackoverflow, superuser, …)")
	}
	for i, site := range c.Sites {
		if !siteName.MatchString(site) {
			bad("sites[%d]: %q is not an API site parameter (like stackoverflow or math)", i, site)
		} else if slices.Contains(s.sites, site) {
			bad("sites[%d]: %q is listed twice", i, site)
		} else {
			s.sites = append(s.sites, site)
		}
	}
	for i, l := range c.Listings {
		if l != "questions" && l != "answers" && l != "comments" {
			bad("listings[%d]: %q is not questions, answers or comments", i, l)
		}
	}
	queries := poll.TopicQueries(topics, c.Queries, &errs)
	for _, site := range s.sites {
		if c.Search == nil || *c.Search {
			for _, q := range queries {
				s.listings = append(s.listings, listing{Key: "search:" + site + ":" + q.Rule + ":" + q.Query, Site: site,
					Path: "/search/advanced", Query: q.Query, Rule: q.Rule})
			}
		}
		for _, l := range slices.Compact(slices.Clone(c.Listings)) {
			s.listings = append(s.listings, listing{Key: l + ":" + site, Site: site, Path: "/" + l})
		}
	}
	if len(s.listings) == 0 && len(errs) == 0 {
		bad("nothing to read: search is off or no topic has a query, and no listings")
	}
	return s, errs
}

// New builds a stackexchange connector from its config entry. It is
// registered as connector type "stackexchange".
func New(spec *pipeline.ConnectorSpec, topics []pipeline.Topic) (pipeline.Source, error) {
	var c Config
	if err := spec.Decode(&c); err != nil {
		return nil, pipeline.PrefixErrors(spec.Where(), []error{err})
	}
	s, errs := parseConfig(c, topics)
	if len(errs) > 0 {
		return nil, pipeline.PrefixErrors(spec.Where(), errs)
	}
	return &Source{cfg: s, hc: poll.NewHTTPClient(), knobs: poll.DefaultKnobs(), gap: requestGap}, nil
}
