package hackernews

import (
	"fmt"
	"strings"
	"time"

	"github.com/earshot-dev/earshot/connectors/poll"
	"github.com/earshot-dev/earshot/pipeline"
)

// Defaults.
const (
	DefaultBaseURL  = "https://hn.algolia.com/api/v1"
	DefaultInterval = time.Minute
	DefaultMaxPages = 10 // of 100 hits; the API pages to 1,000 hits
	DefaultOverlap  = 5 * time.Minute
	// DefaultRequestsPerHour is the API's documented limit per IP.
	DefaultRequestsPerHour = 10000

	maxResponseBytes = 32 << 20
	hitsPerPage      = 100
)

// Config is a hackernews connector's settings (`type: hackernews`).
type Config struct {
	poll.Common `yaml:",inline"`
	// Tags are the item types searched: story, comment (default both).
	Tags []string `yaml:"tags"`
	// Queries are the Algolia queries per topic id; a topic without an
	// entry gets queries derived from its query (one per OR branch).
	Queries map[string][]string `yaml:"queries"`
	// Overlap is how far back before the newest item each search reaches
	// again, for items the index adds late; their ids are remembered.
	Overlap *time.Duration `yaml:"overlap"`
	// RequestsPerHour spaces requests evenly; default 10,000 (the API's limit).
	RequestsPerHour int `yaml:"requests_per_hour"`
}

// search is one query the connector polls.
type search struct {
	Key   string // cursor key: "search:<topic>:<query>"
	Query string
	Rule  string // topic id
}

type settings struct {
	poll.Resolved
	tags     string // Algolia tags parameter
	searches []search
	overlap  time.Duration
	gap      time.Duration
}

func parseConfig(c Config, topics []pipeline.Topic) (*settings, []error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s := &settings{Resolved: c.Common.Resolve(poll.Defaults{BaseURL: DefaultBaseURL, Interval: DefaultInterval,
		MaxPages: DefaultMaxPages, Refresh: 3 * time.Hour, RefreshMax: 100}, &errs)}
	tags := c.Tags
	if len(tags) == 0 {
		tags = []string{"story", "comment"}
	}
	for i, t := range tags {
		if t != "story" && t != "comment" {
			bad("tags[%d]: %q is neither story nor comment", i, t)
		}
	}
	s.tags = "(" + strings.Join(tags, ",") + ")"
	s.overlap = DefaultOverlap
	if c.Overlap != nil {
		s.overlap = *c.Overlap
	}
	if s.overlap < 0 {
		bad("overlap: %v is negative", s.overlap)
	}
	s.gap = poll.PerPeriod("requests_per_hour", c.RequestsPerHour, DefaultRequestsPerHour, time.Hour, &errs)
	for _, q := range poll.TopicQueries(topics, c.Queries, &errs) {
		s.searches = append(s.searches, search{Key: "search:" + q.Rule + ":" + q.Query, Query: q.Query, Rule: q.Rule})
	}
	if len(s.searches) == 0 && len(errs) == 0 {
		bad("nothing to read: no topic has a query")
	}
	return s, errs
}

// New builds a hackernews connector from its config entry. It is
// registered as connector type "hackernews".
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
