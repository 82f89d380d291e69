package youtube

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
	DefaultBaseURL        = "https://www.googleapis.com/youtube/v3"
	DefaultInterval       = 5 * time.Minute
	DefaultMaxPages       = 5 // of 100 threads
	DefaultDailyBudget    = 10000
	DefaultLatestVideos   = 5
	DefaultVideosInterval = time.Hour
	DefaultSearchInterval = 6 * time.Hour
	DefaultOverlap        = 10 * time.Minute

	// Quota costs in units, as documented.
	costList   = 1
	costSearch = 100

	maxResponseBytes = 16 << 20
	pageSize         = 100 // commentThreads and comments maxResults
	idsPerRequest    = 50
)

// Config is a youtube connector's settings (`type: youtube`).
type Config struct {
	poll.Common `yaml:",inline"`
	// Key is a Google Cloud API key with the YouTube Data API v3 enabled,
	// {env: VAR} or {file: PATH}.
	Key pipeline.SecretRef `yaml:"key"`
	// Videos are video ids whose comments are read.
	Videos []string `yaml:"videos"`
	// Channels are channel ids (UC…) whose latest uploads' comments are read.
	Channels     []string `yaml:"channels"`
	LatestVideos int      `yaml:"latest_videos"` // uploads per channel, default 5
	// VideosInterval is how often channels' uploads (and searches) are
	// listed again, default 1h.
	VideosInterval time.Duration `yaml:"videos_interval"`
	// Search finds videos per topic query (search.list, 100 units a call)
	// every search_interval (default 6h).
	Search         bool                `yaml:"search"`
	Queries        map[string][]string `yaml:"queries"`
	SearchInterval time.Duration       `yaml:"search_interval"`
	SearchVideos   int                 `yaml:"search_videos"` // videos kept per query, default 5
	Replies        *bool               `yaml:"replies"`       // read replies too, default true
	// DailyBudget is the units earshot spends a day (Pacific time), at most
	// the project's quota (10,000 by default).
	DailyBudget int            `yaml:"daily_budget"`
	Overlap     *time.Duration `yaml:"overlap"`
}

type search struct {
	Query, Rule string
}

type settings struct {
	poll.Resolved
	key            pipeline.Secret
	videos         []string
	channels       []string
	latestVideos   int
	videosInterval time.Duration
	searches       []search
	searchInterval time.Duration
	searchVideos   int
	replies        bool
	budget         int
	overlap        time.Duration
}

var (
	videoID   = regexp.MustCompile(`^[A-Za-z0-9_-]{11}$`)
	channelID = regexp.MustCompile(`^UC[A-Za-z0-9_-]{22}$`)
)

func parseConfig(c Config, topics []pipeline.Topic) (*settings, []error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s := &settings{Resolved: c.Common.Resolve(poll.Defaults{BaseURL: DefaultBaseURL, Interval: DefaultInterval,
		MaxPages: DefaultMaxPages, Refresh: 48 * time.Hour, RefreshMax: 1000}, &errs),
		latestVideos: c.LatestVideos, videosInterval: c.VideosInterval, searchInterval: c.SearchInterval,
		searchVideos: c.SearchVideos, replies: c.Replies == nil || *c.Replies, budget: c.DailyBudget}
	if c.Key.IsZero() {
		bad("key: required, an API key as {env: VAR} or {file: PATH}")
	} else if k, err := c.Key.Load(); err != nil {
		bad("key: %w", err)
	} else if k.IsZero() {
		bad("key: the secret is empty")
	} else {
		s.key = k
	}
	for i, v := range c.Videos {
		if !videoID.MatchString(v) {
			bad("videos[%d]: %q is not a video id (11 characters, as in watch?v=…)", i, v)
		} else if !slices.Contains(s.videos, v) {
			s.videos = append(s.videos, v)
		}
	}
	for i, ch := range c.Channels {
		if !channelID.MatchString(ch) {
			bad("channels[%d]: %q is not a channel id (UC followed by 22 characters)", i, ch)
		} else if !slices.Contains(s.channels, ch) {
			s.channels = append(s.channels, ch)
		}
	}
	if s.latestVideos == 0 {
		s.latestVideos = DefaultLatestVideos
	} else if s.latestVideos < 1 || s.latestVideos > 50 {
		bad("latest_videos: %d is not between 1 and 50", s.latestVideos)
	}
	if s.videosInterval == 0 {
		s.videosInterval = DefaultVideosInterval
	}
	if s.searchInterval == 0 {
		s.searchInterval = DefaultSearchInterval
	} else if s.searchInterval < time.Minute {
		bad("search_interval: %v is shorter than 1m (a search costs 100 units)", s.searchInterval)
	}
	if s.searchVideos == 0 {
		s.searchVideos = 5
	} else if s.searchVideos < 1 || s.searchVideos > 50 {
		bad("search_videos: %d is not between 1 and 50", s.searchVideos)
	}
	if s.budget == 0 {
		s.budget = DefaultDailyBudget
	} else if s.budget < 0 {
		bad("daily_budget: %d is negative", s.budget)
	}
	s.overlap = DefaultOverlap
	if c.Overlap != nil {
		s.overlap = *c.Overlap
	}
	if s.overlap < 0 {
		bad("overlap: %v is negative", s.overlap)
	}
	queries := poll.TopicQueries(topics, c.Queries, &errs)
	if c.Search {
		for _, q := range queries {
			s.searches = append(s.searches, search{Query: q.Query, Rule: q.Rule})
		}
	}
	if len(s.videos)+len(s.channels)+len(s.searches) == 0 && len(errs) == 0 {
		bad("nothing to read: no videos, no channels, and search is off or no topic has a query")
	}
	return s, errs
}

// New builds a youtube connector from its config entry. It is registered
// as connector type "youtube".
func New(spec *pipeline.ConnectorSpec, topics []pipeline.Topic) (pipeline.Source, error) {
	var c Config
	if err := spec.Decode(&c); err != nil {
		return nil, pipeline.PrefixErrors(spec.Where(), []error{err})
	}
	s, errs := parseConfig(c, topics)
	if len(errs) > 0 {
		return nil, pipeline.PrefixErrors(spec.Where(), errs)
	}
	return &Source{cfg: s, hc: poll.NewHTTPClient(), knobs: poll.DefaultKnobs(), rateLimitWait: 10 * time.Second}, nil
}
