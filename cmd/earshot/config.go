package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/console"
	"github.com/earshot-dev/earshot/enrich/detect"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
)

// Config is the whole earshot configuration file. Every role reads the same
// file and uses the parts it needs.
type Config struct {
	File       string                `yaml:"-"`
	lines      map[string]int        // key path -> line, for error messages
	DataDir    string                `yaml:"data_dir"`
	Log        LogConfig             `yaml:"log"`
	HTTP       HTTPConfig            `yaml:"http"`
	NATS       NATSConfig            `yaml:"nats"`
	ClickHouse clickhouse.Config     `yaml:"clickhouse"`
	Topics     []pipeline.Topic      `yaml:"topics"`
	Enrich     pipeline.EnrichConfig `yaml:"enrich"`
	Sink       pipeline.SinkConfig   `yaml:"sink"`
	Detect     detect.Config         `yaml:"detect"`
	Console    console.Config        `yaml:"console"`
	Connect    ConnectConfig         `yaml:"connect"`
	Connectors []yaml.Node           `yaml:"connectors"`
}

// ConnectConfig sets how `earshot connect` replicas share the connectors.
type ConnectConfig struct {
	// LeaseTTL: a connector instance whose replica died (or stopped
	// renewing its lease) runs again in another replica within this long
	// (default 15s; pipeline.Shares).
	LeaseTTL time.Duration `yaml:"lease_ttl"`
}

// LogConfig sets logging.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // text (default) or json
	// Progress is how often run, demo and the other long-running roles log
	// one info line with what was collected, enriched, stored and alerted
	// since the last one, and what failed (default 1m; 0 turns it off, as
	// does --quiet).
	Progress *time.Duration `yaml:"progress"`
}

// HTTPConfig sets the metrics and health endpoint.
type HTTPConfig struct {
	Listen string `yaml:"listen"` // default 127.0.0.1:9464; "off" disables
}

// NATSConfig sets where the streams live.
type NATSConfig struct {
	// URL of a NATS cluster with JetStream; empty starts an embedded server
	// (`earshot run`) or uses the one a running `earshot run` started.
	// Several servers: a YAML list or a comma-separated string (see
	// flattenNATSURLs); the client fails over between them.
	URL       string                 `yaml:"url"`
	Token     pipeline.SecretRef     `yaml:"token"`
	CredsFile string                 `yaml:"creds_file"` // user JWT and NKey seed (decentralised auth)
	NKeyFile  string                 `yaml:"nkey_file"`  // an NKey seed file (a user listed by its public key)
	TLS       NATSTLS                `yaml:"tls"`
	Embedded  EmbeddedNATS           `yaml:"embedded"`
	Streams   pipeline.StreamsConfig `yaml:"streams"`
}

// EmbeddedNATS sets the embedded server of `earshot run`.
type EmbeddedNATS struct {
	Host string `yaml:"host"` // default 127.0.0.1
	Port int    `yaml:"port"` // default 4222; -1 picks a free port
	// SyncInterval is how often JetStream fsyncs (default 2m: a machine
	// crash can lose the last acknowledged writes). SyncAlways fsyncs every
	// write: no loss on a machine crash, 3–5x slower.
	SyncInterval time.Duration `yaml:"sync_interval"`
	SyncAlways   bool          `yaml:"sync_always"`
	MaxStore     int64         `yaml:"max_store"`
}

var tokenRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// LoadConfig reads, decodes and validates a config file, reporting every
// problem at once with the file and line. It never touches the network.
func LoadConfig(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseConfig(path, raw)
}

// ParseConfig decodes and validates config bytes; path names them in errors.
// It decodes what can be decoded and reports every problem at once, each as
// "file:line: key.path: message", in line order.
func ParseConfig(path string, raw []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(raw)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: the file is empty (or only comments): start from deploy/earshot.yaml or the README's sample config", path)
		}
		return nil, syntaxError(path, raw, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: the file is empty (or only comments): start from deploy/earshot.yaml or the README's sample config", path)
	}
	root := doc.Content[0]
	flattenNATSURLs(root)
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: the top level must be a mapping of keys (data_dir, nats, clickhouse, topics, connectors, …), not a %s", path, root.Line, kindName(root))
	}
	c := &Config{File: path, lines: map[string]int{}}
	indexLines(root, "", c.lines)
	decodeErr := pipeline.DecodeAll(root, c, "")
	c.setDefaults()
	p := &problems{file: path, lines: c.lines, topics: map[string]int{}, connectors: map[string]int{}, failed: map[string]bool{}}
	for i := range c.Connectors {
		var head struct {
			Name string `yaml:"name"`
		}
		if c.Connectors[i].Decode(&head) == nil && head.Name != "" {
			if _, dup := p.connectors[head.Name]; !dup {
				p.connectors[head.Name] = i
			}
		}
	}
	for i, t := range c.Topics {
		if _, dup := p.topics[t.ID]; !dup {
			p.topics[t.ID] = i
		}
	}
	p.add(decodeErr)
	c.validate(p)
	p.add(hashtagComments(path, root))
	if err := p.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// looksLikeHashtag reports a comment such as "#acme" (an ordinary comment
// has a space after the #).
func looksLikeHashtag(comment string) bool {
	return len(comment) > 1 && comment[0] == '#' && comment[1] != ' ' && comment[1] != '#' && comment[1] != '\t'
}

// hashtagComments catches a YAML trap: in `query: acme OR #acme` the " #"
// starts a comment, so the query silently loses its hashtag.
func hashtagComments(path string, root *yaml.Node) error {
	var errs []error
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "topics" {
			continue
		}
		for _, t := range root.Content[i+1].Content {
			for j := 0; j+1 < len(t.Content); j += 2 {
				k, v := t.Content[j], t.Content[j+1]
				if (k.Value == "query" || k.Value == "x_query") && v.Kind == yaml.ScalarNode && v.Style == 0 && looksLikeHashtag(v.LineComment) {
					errs = append(errs, fmt.Errorf("%s:%d: %s %q is followed by %q, which YAML reads as a comment: quote the whole query ('…') when # is a hashtag",
						path, v.Line, k.Value, v.Value, v.LineComment))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func (c *Config) setDefaults() {
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	if c.Log.Progress == nil {
		d := DefaultProgress
		c.Log.Progress = &d
	}
	if c.HTTP.Listen == "" {
		c.HTTP.Listen = "127.0.0.1:9464"
	}
	if c.NATS.Embedded.Port == 0 {
		c.NATS.Embedded.Port = 4222
	}
	if c.Connect.LeaseTTL == 0 {
		c.Connect.LeaseTTL = 15 * time.Second
	}
	if c.NATS.Embedded.Host == "" {
		c.NATS.Embedded.Host = "127.0.0.1"
	}
}

func (c *Config) validate(p *problems) {
	bad := p.bad
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	if *c.Log.Progress < 0 {
		bad("log.progress", "%s must not be negative (0 turns the progress line off)", *c.Log.Progress)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%q is not text or json", c.Log.Format)
	}
	p.addUnder("", c.ClickHouse.Validate())
	c.validateAddrs(bad)
	if err := c.NATS.validate(); err != nil {
		bad("nats", "%v", err)
	}
	seen := map[string]bool{}
	for i, t := range c.Topics {
		key := fmt.Sprintf("topics[%d]", i)
		switch {
		case !tokenRe.MatchString(t.ID):
			bad(key+".id", "%q must be lowercase letters, digits, _ or - (it is a metric label and a column value)", t.ID)
		case seen[t.ID]:
			bad(key+".id", "%q is used twice", t.ID)
		}
		seen[t.ID] = true
		if t.Query == "" {
			bad(key+".query", "topic %q has no query", t.ID)
		}
	}
	if c.Sink.BatchRows < 0 {
		bad("sink.batch_rows", "%d must not be negative", c.Sink.BatchRows)
	}
	if c.Sink.BatchBytes < 0 {
		bad("sink.batch_bytes", "%d must not be negative", c.Sink.BatchBytes)
	}
	if c.Sink.FlushInterval < 0 {
		bad("sink.flush_interval", "%s must not be negative", c.Sink.FlushInterval)
	}
	if c.Sink.Workers < 0 {
		bad("sink.workers", "%d must not be negative", c.Sink.Workers)
	}
	if c.Connect.LeaseTTL < 2*time.Second {
		bad("connect.lease_ttl", "%v is below 2s", c.Connect.LeaseTTL)
	}
	if c.Enrich.BatchSize < 0 {
		bad("enrich.batch_size", "%d must not be negative", c.Enrich.BatchSize)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Enrich.MaxText)) {
		if _, ok := pipeline.EnricherFactoryFor(name); !ok {
			bad("enrich.max_text."+name, "unknown stage %q (known: %v)", name, pipeline.DefaultEnrichers())
		} else if n := c.Enrich.MaxText[name]; n < 0 {
			bad("enrich.max_text."+name, "%d must be 0 (no cap) or a number of bytes", n)
		}
	}
	if c.Enrich.Workers < 0 {
		bad("enrich.workers", "%d must not be negative", c.Enrich.Workers)
	}
	if v := c.Enrich.ReenrichOnChange; v != "" {
		if _, err := parseSince(v); err != nil {
			bad("enrich.reenrich_on_change", "%q: want a number of days such as 7d, or a duration such as 48h", v)
		}
	}
	if err := c.Console.Validate(); err != nil {
		bad("console", "%v", err)
	}
	p.addUnder("detect", c.Detect.Validate())
	// Building the parts validates their own settings (connector configs,
	// topic queries) without touching the network.
	if _, err := c.Sources(); err != nil {
		p.add(err)
	}
	if _, err := c.Chain(nil); err != nil {
		p.add(err)
	}
}

// NamedSource is a configured connector instance.
type NamedSource struct {
	Type, Name string
	Source     pipeline.Source
}

// Sources builds every configured connector.
func (c *Config) Sources() ([]NamedSource, error) {
	var (
		out   []NamedSource
		errs  []error
		names = map[string]bool{}
	)
	for i := range c.Connectors {
		n := &c.Connectors[i]
		var head struct {
			Type string `yaml:"type"`
			Name string `yaml:"name"`
		}
		_ = n.Decode(&head)
		where := fmt.Sprintf("%s:%d: connectors[%d]", c.File, n.Line, i)
		if head.Type == "" || head.Name == "" {
			errs = append(errs, fmt.Errorf("%s: every connector needs a type and a name", where))
			continue
		}
		if !tokenRe.MatchString(head.Name) {
			errs = append(errs, fmt.Errorf("%s: name %q must be lowercase letters, digits, _ or -", where, head.Name))
			continue
		}
		if names[head.Name] {
			errs = append(errs, fmt.Errorf("%s: name %q is used twice", where, head.Name))
			continue
		}
		names[head.Name] = true
		f, ok := pipeline.Connector(head.Type)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown connector type %q (known: %v)", where, head.Type, pipeline.ConnectorTypes()))
			continue
		}
		spec := &pipeline.ConnectorSpec{Type: head.Type, Name: head.Name, File: c.File, Node: *n, Path: fmt.Sprintf("connectors[%d]", i)}
		src, err := f(spec, c.Topics)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, NamedSource{Type: head.Type, Name: head.Name, Source: src})
	}
	return out, errors.Join(errs...)
}

// Chain builds the enrichment chain.
func (c *Config) Chain(env *pipeline.EnricherEnv) ([]pipeline.Enricher, error) {
	names := c.Enrich.Stages
	if len(names) == 0 {
		names = pipeline.DefaultEnrichers()
	}
	var (
		out  []pipeline.Enricher
		errs []error
	)
	for opt := range c.Enrich.Options {
		if _, ok := pipeline.EnricherFactoryFor(opt); !ok {
			errs = append(errs, fmt.Errorf("%s: enrich.options.%s: unknown stage %q (known: %v)", c.File, opt, opt, pipeline.DefaultEnrichers()))
		}
	}
	for i, name := range names {
		f, ok := pipeline.EnricherFactoryFor(name)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: enrich.stages[%d]: unknown stage %q (known: %v)", c.File, i, name, pipeline.DefaultEnrichers()))
			continue
		}
		e := pipeline.EnricherEnv{Topics: c.Topics, File: c.File, Logger: discardLogger}
		if env != nil {
			e.Logger = env.Logger
		}
		if o, ok := c.Enrich.Options[name]; ok {
			e.Options = &o
		}
		st, err := f(e)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: enrich stage %s: %w", c.File, name, err))
			continue
		}
		out = append(out, pipeline.CapText(st, c.Enrich.MaxText[name]))
	}
	return out, errors.Join(errs...)
}

func prefixErrs(path string, err error) error {
	var out []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, fmt.Errorf("%s: %w", path, e))
		}
		return errors.Join(out...)
	}
	return fmt.Errorf("%s: %w", path, err)
}
