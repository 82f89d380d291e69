package pipeline

import (
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Topic is an operator-configured thing to listen for. Its id is a bounded
// label value in metrics and is stored on each matching mention.
type Topic struct {
	ID    string `yaml:"id"`
	Query string `yaml:"query"` // analyst query language (keywords, AND/OR/NOT, "phrases", …)
	// XQuery is the query sent to X's API for this topic; empty means it is
	// derived from Query by the twitter connector.
	XQuery string `yaml:"x_query"`
	// Handles are the brand's own account handles on platforms; a question
	// or complaint addressed to them needs a response.
	Handles []string `yaml:"handles"`
}

// ConnectorSpec is one entry of the config's connectors list, before the
// connector type decodes its own settings.
type ConnectorSpec struct {
	Type string
	Name string
	File string    // config file, for error messages
	Node yaml.Node // the whole mapping, type and name included
	Path string    // key path in the config file, e.g. connectors[2]; prefixes key paths in errors
}

// Where names the spec in error messages: `deploy/earshot.yaml:12: connector "hn" (rss)`.
func (s *ConnectorSpec) Where() string {
	return fmt.Sprintf("%s:%d: connector %q (%s)", s.File, s.Node.Line, s.Name, s.Type)
}

// Decode decodes the connector's settings into v, rejecting unknown keys.
// The common keys type and name are not passed on.
func (s *ConnectorSpec) Decode(v any) error {
	return DecodeAll(&s.Node, v, s.Path, "type", "name")
}

// DecodeStrict decodes a YAML mapping node into v, rejecting unknown keys
// with their line numbers. The keys in skip are ignored. It reports every
// problem at once (see DecodeAll).
func DecodeStrict(node *yaml.Node, v any, skip ...string) error {
	return DecodeAll(node, v, "", skip...)
}

var nodeType = reflect.TypeOf(yaml.Node{})

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// ConnectorFactory builds a Source from its config entry. It validates the
// settings without touching the network and reports every problem at once.
type ConnectorFactory func(spec *ConnectorSpec, topics []Topic) (Source, error)

// EnricherEnv is what an enrichment stage gets at construction.
type EnricherEnv struct {
	Topics  []Topic
	Options *yaml.Node // the stage's entry under enrich.options, or nil
	File    string
	Logger  *slog.Logger
}

// EnricherFactory builds an enrichment stage.
type EnricherFactory func(env EnricherEnv) (Enricher, error)

type registration struct {
	factory any
	order   int // default position in the chain, for enrichers
}

var (
	regMu      sync.RWMutex
	connectors = map[string]ConnectorFactory{}
	enrichers  = map[string]registration{}
)

// RegisterConnector registers a connector type; call it from init().
func RegisterConnector(typ string, f ConnectorFactory) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := connectors[typ]; dup {
		panic("pipeline: connector type registered twice: " + typ)
	}
	connectors[typ] = f
}

// RegisterEnricher registers an enrichment stage; call it from init().
// order is its default position in the chain (lower runs first): entities 10,
// lang 20, sentiment 30, topics 40, dedup 50, needs-response 60, trend 70.
func RegisterEnricher(name string, order int, f EnricherFactory) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := enrichers[name]; dup {
		panic("pipeline: enricher registered twice: " + name)
	}
	enrichers[name] = registration{factory: f, order: order}
}

// Connector returns the factory for a connector type.
func Connector(typ string) (ConnectorFactory, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	f, ok := connectors[typ]
	return f, ok
}

// ConnectorTypes lists the registered connector types, sorted.
func ConnectorTypes() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(connectors))
	for k := range connectors {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// EnricherFactoryFor returns the factory of a named stage.
func EnricherFactoryFor(name string) (EnricherFactory, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	r, ok := enrichers[name]
	if !ok {
		return nil, false
	}
	return r.factory.(EnricherFactory), true
}

// DefaultEnrichers lists the registered stages in their default chain order.
func DefaultEnrichers() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(enrichers))
	for k := range enrichers {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		oi, oj := enrichers[out[i]].order, enrichers[out[j]].order
		if oi != oj {
			return oi < oj
		}
		return out[i] < out[j]
	})
	return out
}
