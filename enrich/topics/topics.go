// Package topics is the enrichment stage that tags each mention with the
// configured topics whose analyst query matches it, and records the matched
// spans. Queries are written in the language of package query (AND, OR,
// NOT, NEAR/n, "phrases", wildcards, fields, #tags, @handles); they are
// compiled once into a Matcher that prefilters rules by the words they
// require, so thousands of topics cost a few microseconds per mention.
//
// The README in this directory is the analyst-facing reference.
package topics

import (
	"context"
	"fmt"

	"github.com/earshot-dev/earshot/pipeline"
)

// Name is the stage name; Version changes whenever the same topics could
// match differently.
const (
	Name    = "topics"
	Version = "1"
)

// Order is the stage's default position in the enrich chain.
const Order = 40

func init() {
	pipeline.RegisterEnricher(Name, Order, newStage)
}

// Options are the stage's settings under enrich.options.topics. There are
// none yet; unknown keys are rejected.
type Options struct{}

// Stage tags mentions with topics.
type Stage struct {
	m *Matcher
}

var _ pipeline.Enricher = (*Stage)(nil)

func newStage(env pipeline.EnricherEnv) (pipeline.Enricher, error) {
	if env.Options != nil {
		var o Options
		if err := pipeline.DecodeStrict(env.Options, &o); err != nil {
			return nil, fmt.Errorf("%s: enrich options %s: %w", env.File, Name, err)
		}
	}
	return New(env.Topics)
}

// New compiles the topics into a stage.
func New(topics []pipeline.Topic) (*Stage, error) {
	m, err := NewMatcher(topics)
	if err != nil {
		return nil, fmt.Errorf("compile topics: %w", err)
	}
	return &Stage{m: m}, nil
}

// Matcher returns the stage's compiled topics.
func (s *Stage) Matcher() *Matcher { return s.m }

// Name implements pipeline.Enricher.
func (s *Stage) Name() string { return Name }

// Version implements pipeline.Enricher.
func (s *Stage) Version() string { return Version }

// Enrich sets Enrichment.Topics and the topics' Spans on every mention,
// replacing what an earlier run of this stage set, so a redelivered mention
// ends up the same. Spans of other stages (an empty or unknown topic) are
// kept.
func (s *Stage) Enrich(ctx context.Context, batch []*pipeline.Mention) error {
	for i, m := range batch {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("topics: %w", err)
			}
		}
		ids, spans := s.m.Match(m)
		m.Enrichment.Topics = ids
		m.Enrichment.Spans = append(s.foreignSpans(m.Enrichment.Spans), spans...)
		if len(m.Enrichment.Spans) == 0 {
			m.Enrichment.Spans = nil
		}
		m.SetVersion(Name, Version)
	}
	return nil
}

// foreignSpans returns the spans not set by this stage's topics.
func (s *Stage) foreignSpans(spans []pipeline.Span) []pipeline.Span {
	out := spans[:0]
	for _, sp := range spans {
		if !s.m.has(sp.Topic) {
			out = append(out, sp)
		}
	}
	return out
}
