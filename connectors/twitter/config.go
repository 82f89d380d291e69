package twitter

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/pipeline"
)

// API versions.
const (
	APIv2  = "v2"
	APIv11 = "v1.1"
)

// Modes of reading.
const (
	ModeSearch = "search"
	ModeStream = "stream"
)

// Defaults.
const (
	DefaultBaseURLv2    = "https://api.x.com"
	DefaultBaseURLv11   = "https://api.twitter.com/1.1/"
	DefaultInterval     = time.Minute
	DefaultBackfill     = time.Hour
	DefaultStallTimeout = 20 * time.Second // v2 sends a keep-alive every 20 s
	// DefaultStallTimeoutV11 is for api: v1.1, whose streams sent a
	// keep-alive every 30 s and documented 90 s of silence as a stall.
	DefaultStallTimeoutV11 = 90 * time.Second

	// maxBackfill is how far back recent search reaches.
	maxBackfill = 7 * 24 * time.Hour
	// maxTrackTerms is v1.1 statuses/filter's limit.
	maxTrackTerms = 400
)

// Config is a twitter connector's settings (`type: twitter`).
type Config struct {
	// API is "v2" (default) or "v1.1" (through github.com/dghubble/go-twitter,
	// for v1.1-compatible gateways and archive replays).
	API string `yaml:"api"`
	// BaseURL defaults to https://api.x.com for v2 and
	// https://api.twitter.com/1.1/ for v1.1.
	BaseURL string `yaml:"base_url"`

	// BearerToken is the app-only bearer token (v2, and v1.1 app-only).
	BearerToken pipeline.SecretRef `yaml:"bearer_token"`
	// OAuth 1.0a user context, for api: v1.1 only.
	ConsumerKey       pipeline.SecretRef `yaml:"consumer_key"`
	ConsumerSecret    pipeline.SecretRef `yaml:"consumer_secret"`
	AccessToken       pipeline.SecretRef `yaml:"access_token"`
	AccessTokenSecret pipeline.SecretRef `yaml:"access_token_secret"`

	// Mode is "search" (default), "stream", or both as a list.
	Mode Modes `yaml:"mode"`
	// Queries are X queries read in addition to the topics' queries.
	Queries []string `yaml:"queries"`

	Interval        time.Duration `yaml:"interval"`          // search polling interval, default 1m
	Backfill        time.Duration `yaml:"backfill"`          // search window on first start, default 1h, at most 7 days
	DailyReadBudget int64         `yaml:"daily_read_budget"` // posts per UTC day, 0 = no budget
	StallTimeout    time.Duration `yaml:"stall_timeout"`     // stream silence before reconnecting, default 20s (v1.1: 90s)
	// DeleteForeignRules lets the stream rule sync delete rules it did not
	// create (rules whose tag does not start with "earshot:").
	DeleteForeignRules bool `yaml:"delete_foreign_rules"`
	// Counts polls GET /2/tweets/counts/recent for every query (v2 only).
	Counts bool `yaml:"counts"`
}

// Modes is one mode or a list of them.
type Modes []string

// UnmarshalYAML accepts `mode: search` and `mode: [stream, search]`.
func (m *Modes) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*m = Modes{n.Value}
		return nil
	case yaml.SequenceNode:
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		*m = l
		return nil
	}
	return fmt.Errorf("line %d: mode is %q, %q or a list of both", n.Line, ModeSearch, ModeStream)
}

// Has reports whether mode is enabled.
func (m Modes) Has(mode string) bool { return slices.Contains(m, mode) }

// RuleTagPrefix starts the tag of every stream rule earshot creates; rules
// with other tags are foreign and left alone unless delete_foreign_rules.
const RuleTagPrefix = "earshot:"

// query is one thing the connector asks X for: a topic's query or an
// explicit one from the config.
type query struct {
	Label   string   // topic id, or "query-<hash>" for an explicit query; bounded
	TopicID string   // empty for explicit queries
	Value   string   // the X query / rule value
	Matched string   // what goes into Mention.MatchedRule: topic id or the query text
	Track   []string // v1.1 track terms (stream mode on v1.1 only)
}

// Tag is the stream rule tag of the query.
func (q query) Tag() string { return RuleTagPrefix + q.Label }

// settings is a validated config with defaults applied and secrets loaded.
type settings struct {
	Config
	base    *url.URL
	queries []query
	bearer  pipeline.Secret
	oauth   *oauthCreds // v1.1 user context, nil for bearer
}

type oauthCreds struct {
	consumerKey, consumerSecret, accessToken, accessSecret pipeline.Secret
}

// parseConfig validates c against topics, applies defaults and loads the
// secrets. It never touches the network and returns every problem at once.
func parseConfig(c Config, topics []pipeline.Topic) (*settings, []error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if c.API == "" {
		c.API = APIv2
	}
	v11 := c.API == APIv11
	if c.API != APIv2 && !v11 {
		bad("api: %q is not %q or %q", c.API, APIv2, APIv11)
	}
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURLv2
		if v11 {
			c.BaseURL = DefaultBaseURLv11
		}
	}
	base, err := url.Parse(c.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		bad("base_url: %q is not an http(s) URL", c.BaseURL)
		base = nil
	}
	if len(c.Mode) == 0 {
		c.Mode = Modes{ModeSearch}
	}
	for i, m := range c.Mode {
		if m != ModeSearch && m != ModeStream {
			bad("mode: %q is not %q or %q", m, ModeSearch, ModeStream)
		} else if slices.Index(c.Mode, m) != i {
			bad("mode: %q is given twice", m)
		}
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	} else if c.Interval < time.Second {
		bad("interval: %v is shorter than 1s", c.Interval)
	}
	if c.Backfill == 0 {
		c.Backfill = DefaultBackfill
	} else if c.Backfill < 0 || c.Backfill > maxBackfill {
		bad("backfill: %v is not between 0 and %v (recent search reaches back 7 days)", c.Backfill, maxBackfill)
	}
	if c.StallTimeout == 0 {
		c.StallTimeout = DefaultStallTimeout
		if v11 {
			c.StallTimeout = DefaultStallTimeoutV11
		}
	} else if c.StallTimeout < time.Second {
		bad("stall_timeout: %v is shorter than 1s", c.StallTimeout)
	}
	if c.DailyReadBudget < 0 {
		bad("daily_read_budget: %d is negative (0 means no budget)", c.DailyReadBudget)
	}
	if c.Counts && v11 {
		bad("counts: the counts endpoint exists only in api: v2")
	}
	if c.DeleteForeignRules && !c.Mode.Has(ModeStream) {
		bad("delete_foreign_rules: only applies to mode stream")
	}

	s := &settings{Config: c, base: base}

	// Credentials.
	oauthRefs := map[string]pipeline.SecretRef{"consumer_key": c.ConsumerKey, "consumer_secret": c.ConsumerSecret,
		"access_token": c.AccessToken, "access_token_secret": c.AccessTokenSecret}
	var oauthSet, oauthMissing []string
	for _, k := range []string{"consumer_key", "consumer_secret", "access_token", "access_token_secret"} {
		if oauthRefs[k].IsZero() {
			oauthMissing = append(oauthMissing, k)
		} else {
			oauthSet = append(oauthSet, k)
		}
	}
	load := func(key string, r pipeline.SecretRef) pipeline.Secret {
		v, err := r.Load()
		if err != nil {
			bad("%s: %w", key, err)
		} else if v.IsZero() {
			bad("%s: the secret is empty", key)
		}
		return v
	}
	switch {
	case !v11 && len(oauthSet) > 0:
		bad("%s: OAuth 1.0a keys are only used with api: v1.1; api v2 reads with bearer_token", strings.Join(oauthSet, ", "))
	case v11 && len(oauthSet) > 0 && len(oauthMissing) > 0:
		bad("OAuth 1.0a needs all of consumer_key, consumer_secret, access_token, access_token_secret; missing %s", strings.Join(oauthMissing, ", "))
	case v11 && len(oauthSet) == 4 && !c.BearerToken.IsZero():
		bad("bearer_token and OAuth 1.0a keys are both set; give one")
	case v11 && len(oauthSet) == 4:
		s.oauth = &oauthCreds{
			consumerKey:    load("consumer_key", c.ConsumerKey),
			consumerSecret: load("consumer_secret", c.ConsumerSecret),
			accessToken:    load("access_token", c.AccessToken),
			accessSecret:   load("access_token_secret", c.AccessTokenSecret),
		}
	case c.BearerToken.IsZero():
		bad("bearer_token: required, as {env: X_BEARER_TOKEN} or {file: PATH}")
	default:
		s.bearer = load("bearer_token", c.BearerToken)
	}

	// Queries.
	needTrack := v11 && c.Mode.Has(ModeStream)
	seen := map[string]string{}
	add := func(q query, where string) {
		if prev, dup := seen[q.Value]; dup {
			bad("%s: X query %q is the same as %s's", where, q.Value, prev)
			return
		}
		seen[q.Value] = where
		if needTrack {
			t, err := trackTerms(q.Value)
			if err != nil {
				bad("%s: %v; api v1.1 stream mode needs an OR of words or AND groups of words", where, err)
				return
			}
			q.Track = t
		}
		s.queries = append(s.queries, q)
	}
	for _, t := range topics {
		where := fmt.Sprintf("topic %q", t.ID)
		v := strings.TrimSpace(t.XQuery)
		if v == "" {
			x, err := XQuery(t.Query)
			if err != nil {
				bad("%s: query %q cannot be sent to X as is (%v); set x_query on the topic", where, t.Query, err)
				continue
			}
			v = x
		}
		add(query{Label: t.ID, TopicID: t.ID, Value: v, Matched: t.ID}, where)
	}
	for i, qs := range c.Queries {
		qs = strings.TrimSpace(qs)
		if qs == "" {
			bad("queries[%d]: empty query", i)
			continue
		}
		sum := sha256.Sum256([]byte(qs))
		add(query{Label: "query-" + hex.EncodeToString(sum[:4]), Value: qs, Matched: qs}, fmt.Sprintf("queries[%d]", i))
	}
	if len(s.queries) == 0 && len(errs) == 0 {
		bad("nothing to read: no topics and no queries")
	}
	if needTrack {
		n := 0
		for _, q := range s.queries {
			n += len(q.Track)
		}
		if n > maxTrackTerms {
			bad("%d track terms; v1.1 statuses/filter takes at most %d", n, maxTrackTerms)
		}
	}
	return s, errs
}

// New builds a twitter connector from its config entry. It is registered as
// connector type "twitter".
func New(spec *pipeline.ConnectorSpec, topics []pipeline.Topic) (pipeline.Source, error) {
	var c Config
	// A value that does not decode is reported and left at its default;
	// the other settings are still checked, so every problem shows at once.
	decodeErr := spec.Decode(&c)
	s, errs := parseConfig(c, topics)
	if decodeErr != nil {
		errs = append([]error{decodeErr}, errs...)
	}
	if len(errs) > 0 {
		return nil, pipeline.PrefixErrors(spec.Where(), errs)
	}
	return newSource(s), nil
}
