package appstore

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/earshot-dev/earshot/connectors/poll"
	"github.com/earshot-dev/earshot/pipeline"
)

// Defaults.
const (
	DefaultBaseURL  = "https://itunes.apple.com"
	DefaultInterval = 15 * time.Minute
	DefaultMaxPages = 10 // the feed's depth: 10 pages of 50
	DefaultOverlap  = time.Hour
	// DefaultRequestsPerMinute keeps well under the feed's undocumented
	// limit (about 20 a minute per IP is commonly reported).
	DefaultRequestsPerMinute = 20

	maxResponseBytes = 16 << 20
)

// App is one app whose reviews are read.
type App struct {
	ID        int64    `yaml:"id"`        // the App Store id (the number in apps.apple.com/…/id<ID>)
	Countries []string `yaml:"countries"` // storefronts, ISO 3166 alpha-2: us, gb, de, …
	Topic     string   `yaml:"topic"`     // optional topic id, set as matched_rule
}

// Config is an appstore connector's settings (`type: appstore`).
type Config struct {
	poll.Common `yaml:",inline"`
	Apps        []App `yaml:"apps"`
	// Overlap is how far before the newest review each poll reads again.
	Overlap           *time.Duration `yaml:"overlap"`
	RequestsPerMinute int            `yaml:"requests_per_minute"`
}

// feed is one app in one storefront.
type feed struct {
	Key     string // cursor key "feed:<app>:<country>"
	App     int64
	Country string
	Rule    string
}

func (f feed) group() string { return fmt.Sprintf("%d/%s", f.App, f.Country) }

type settings struct {
	poll.Resolved
	feeds   []feed
	overlap time.Duration
	gap     time.Duration
}

var country = regexp.MustCompile(`^[a-z]{2}$`)

func parseConfig(c Config, topics []pipeline.Topic) (*settings, []error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s := &settings{Resolved: c.Common.Resolve(poll.Defaults{BaseURL: DefaultBaseURL, Interval: DefaultInterval,
		MaxPages: DefaultMaxPages, Refresh: 30 * 24 * time.Hour, RefreshMax: 5000}, &errs)}
	s.overlap = DefaultOverlap
	if c.Overlap != nil {
		s.overlap = *c.Overlap
	}
	if s.overlap < 0 {
		bad("overlap: %v is negative", s.overlap)
	}
	s.gap = poll.PerPeriod("requests_per_minute", c.RequestsPerMinute, DefaultRequestsPerMinute, time.Minute, &errs)
	if len(c.Apps) == 0 {
		bad("apps: at least one app is required ({id: 284882215, countries: [us]})")
	}
	seen := map[string]bool{}
	for i, a := range c.Apps {
		if a.ID <= 0 {
			bad("apps[%d].id: required, the App Store id (a positive number)", i)
			continue
		}
		if a.Topic != "" && !slices.ContainsFunc(topics, func(t pipeline.Topic) bool { return t.ID == a.Topic }) {
			bad("apps[%d].topic: %q is not a topic id", i, a.Topic)
		}
		if len(a.Countries) == 0 {
			bad("apps[%d].countries: at least one storefront (us, gb, …)", i)
		}
		for j, cc := range a.Countries {
			cc = strings.ToLower(strings.TrimSpace(cc))
			if !country.MatchString(cc) {
				bad("apps[%d].countries[%d]: %q is not a two-letter country code", i, j, a.Countries[j])
				continue
			}
			f := feed{Key: fmt.Sprintf("feed:%d:%s", a.ID, cc), App: a.ID, Country: cc, Rule: a.Topic}
			if seen[f.Key] {
				bad("apps[%d].countries[%d]: app %d in %q is listed twice", i, j, a.ID, cc)
				continue
			}
			seen[f.Key] = true
			s.feeds = append(s.feeds, f)
		}
	}
	return s, errs
}

// New builds an appstore connector from its config entry. It is
// registered as connector type "appstore".
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
