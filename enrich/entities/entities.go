// Package entities is the enrichment stage that extracts hashtags, handles,
// cashtags, canonical links, their domains and emoji from each mention.
//
// It runs first in the chain (order 10) so later stages can use its fields:
// dedup clusters by canonical link, respond looks for brand handles among
// Mentions. Extract is the same extraction for one text, for tools such as
// `earshot score`.
//
// The title and the text are scanned. The mention's own URL is added to
// Links (first) only for articles, where it is the story itself; for posts,
// replies and comments it is the post's permalink, and counting it would
// make every tweet "link to" x.com. Values a connector already put in the
// enrichment fields (say, links expanded from t.co by the platform's API)
// are kept, first, and the scanned ones are added after them, so running
// the stage twice changes nothing.
package entities

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/earshot-dev/earshot/enrich/internal/stageenv"
	"github.com/earshot-dev/earshot/pipeline"
)

// Name is the stage name; Version changes whenever the extraction rules do.
const (
	Name    = "entities"
	Version = "1"
)

func init() {
	pipeline.RegisterEnricher(Name, 10, func(env pipeline.EnricherEnv) (pipeline.Enricher, error) {
		return New(env)
	})
}

// Stage is the entities enrichment stage. It is safe for concurrent use.
type Stage struct {
	logger *slog.Logger
}

var _ pipeline.Enricher = (*Stage)(nil)

// New builds the stage. It takes no options; any given are an error.
func New(env pipeline.EnricherEnv) (*Stage, error) {
	if err := stageenv.DecodeOptions(env, Name, &struct{}{}); err != nil {
		return nil, err
	}
	return &Stage{logger: stageenv.Logger(env, Name)}, nil
}

// Name returns "entities".
func (s *Stage) Name() string { return Name }

// Version returns the extraction rules' version.
func (s *Stage) Version() string { return Version }

// Enrich fills the entity fields of every mention of the batch. Extraction
// cannot fail on a valid string, so no mention is marked with an error; the
// batch fails only when ctx is done.
func (s *Stage) Enrich(ctx context.Context, batch []*pipeline.Mention) error {
	for _, m := range batch {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w", Name, err)
		}
		Apply(m)
	}
	return nil
}

// Apply enriches one mention in place.
func Apply(m *pipeline.Mention) {
	en := &m.Enrichment
	e := Entities{
		Hashtags: en.Hashtags,
		Mentions: en.Mentions,
		Cashtags: en.Cashtags,
		Emoji:    en.Emoji,
	}
	// Links given by the connector are canonicalised; their domains are
	// recomputed, and domains given without a link are kept.
	if m.Kind == pipeline.KindArticle && m.URL != "" {
		if u, host, ok := canonical(m.URL); ok {
			e.addLink(u, host)
		}
	}
	for _, l := range en.Links {
		if u, host, ok := canonical(l); ok {
			e.addLink(u, host)
		}
	}
	for _, d := range en.Domains {
		e.Domains = addUnique(e.Domains, d)
	}
	e.scan(m.Title)
	e.scan(m.Text)
	en.Hashtags = e.Hashtags
	en.Mentions = e.Mentions
	en.Cashtags = e.Cashtags
	en.Links = e.Links
	en.Domains = e.Domains
	en.Emoji = e.Emoji
	m.SetVersion(Name, Version)
}
