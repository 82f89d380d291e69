package sentiment

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/earshot-dev/earshot/enrich/internal/stageenv"
	"github.com/earshot-dev/earshot/pipeline"
)

// StageName is the name the stage is registered and versioned under.
const StageName = "sentiment"

// Version identifies the scorer's rules and lexicon; it changes whenever a
// score for the same text can change.
const Version = "vader-earshot/1"

func init() { stageenv.Register(StageName, 30, DefaultConfig, New) }

// Config is the stage's options (enrich.options.sentiment).
type Config struct {
	// Languages the scorer covers (ISO 639-1). A mention detected as another
	// language is labelled unknown with score 0. Default: [en].
	Languages []string `yaml:"languages"`
	// PositiveThreshold and NegativeThreshold are the label cut-offs on the
	// score. Defaults: 0.05 and -0.05, as VADER's.
	PositiveThreshold float64 `yaml:"positive_threshold"`
	NegativeThreshold float64 `yaml:"negative_threshold"`
}

// DefaultConfig returns the shipped settings.
func DefaultConfig() Config {
	p := defaultParams()
	return Config{Languages: []string{"en"}, PositiveThreshold: p.posThreshold, NegativeThreshold: p.negThreshold}
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("invalid sentiment config")

// Validate reports every problem with the config at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.Languages) == 0 {
		errs = append(errs, fmt.Errorf("%w: languages is empty", ErrConfig))
	}
	for i, l := range c.Languages {
		if len(l) != 2 || strings.ToLower(l) != l {
			errs = append(errs, fmt.Errorf("%w: languages[%d] = %q is not a lower-case ISO 639-1 code", ErrConfig, i, l))
		}
	}
	if c.PositiveThreshold <= c.NegativeThreshold {
		errs = append(errs, fmt.Errorf("%w: positive_threshold %v must be above negative_threshold %v",
			ErrConfig, c.PositiveThreshold, c.NegativeThreshold))
	}
	if c.PositiveThreshold > 1 || c.NegativeThreshold < -1 {
		errs = append(errs, fmt.Errorf("%w: thresholds must lie in [-1, 1]", ErrConfig))
	}
	return errors.Join(errs...)
}

// Enricher is the sentiment stage.
type Enricher struct {
	scorer *Scorer
	langs  []string
}

var _ pipeline.Enricher = (*Enricher)(nil)

// New builds the stage.
func New(cfg Config) (*Enricher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base := Default()
	p := base.p
	p.posThreshold, p.negThreshold = cfg.PositiveThreshold, cfg.NegativeThreshold
	return &Enricher{scorer: newScorer(base.lx, p), langs: cfg.Languages}, nil
}

// Name implements pipeline.Enricher.
func (e *Enricher) Name() string { return StageName }

// Version implements pipeline.Enricher.
func (e *Enricher) Version() string { return Version }

// Scorer returns the stage's scorer (with its configured thresholds).
func (e *Enricher) Scorer() *Scorer { return e.scorer }

// Covers reports whether the scorer covers a language code; the empty code
// (unknown language) is scored.
func (e *Enricher) Covers(lang string) bool {
	if lang == "" {
		return true
	}
	for _, l := range e.langs {
		if l == lang {
			return true
		}
	}
	return false
}

// Enrich scores the text of every mention (its title when it has no text).
// A mention whose detected language (Enrichment.Lang, or else the language
// the platform declared) the scorer does not cover is labelled unknown with
// score 0 rather than given a confident wrong score.
func (e *Enricher) Enrich(ctx context.Context, batch []*pipeline.Mention) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	out := make([]pipeline.Sentiment, len(batch)) // one allocation per batch
	for i, m := range batch {
		s := &out[i]
		if lang := mentionLang(m); !e.Covers(lang) {
			*s = pipeline.Sentiment{Score: 0, Label: pipeline.SentimentUnknown}
		} else {
			text := m.Text
			if strings.TrimSpace(text) == "" {
				text = m.Title
			}
			*s = pipeline.Sentiment(e.scorer.Score(text))
		}
		m.Enrichment.Sentiment = s
		m.SetVersion(StageName, Version)
	}
	return nil
}

// mentionLang is the detected language, or the platform's declaration
// ("en", "pt-BR", "und") reduced to its ISO 639-1 part.
func mentionLang(m *pipeline.Mention) string {
	if m.Enrichment.Lang != "" {
		return m.Enrichment.Lang
	}
	l := m.Lang
	if i := strings.IndexAny(l, "-_"); i >= 0 {
		l = l[:i]
	}
	if len(l) != 2 {
		return "" // "", "und", "qme", … say nothing
	}
	return strings.ToLower(l)
}
