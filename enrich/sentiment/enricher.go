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

// Version identifies the model; it changes whenever a score for the same
// text can change (TestEmbeddedWeights ties it to the weights' digest).
const Version = "linear-" + WeightsDigest

// WeightsDigest is the first 12 hex digits of the SHA-256 of weights.bin.gz.
const WeightsDigest = "94527c5eccd8"

func init() { stageenv.Register(StageName, 30, DefaultConfig, New) }

// Languages are the languages the model was trained on.
var Languages = []string{"en", "es", "fr", "de", "it", "pt", "ar", "hi"}

// Config is the stage's options (enrich.options.sentiment).
type Config struct {
	// Languages scored (ISO 639-1). A mention whose language is another
	// one is labelled unknown with score 0; a mention of unknown language
	// ("") is scored. Default: Languages, the eight the model was trained on.
	Languages []string `yaml:"languages"`
}

// DefaultConfig returns the shipped settings.
func DefaultConfig() Config {
	return Config{Languages: append([]string(nil), Languages...)}
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
	return errors.Join(errs...)
}

// Enricher is the sentiment stage.
type Enricher struct {
	model *Model
	langs []string
}

var _ pipeline.Enricher = (*Enricher)(nil)

// New builds the stage.
func New(cfg Config) (*Enricher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := DefaultModel()
	if err != nil {
		return nil, err
	}
	return &Enricher{model: m, langs: cfg.Languages}, nil
}

// Name implements pipeline.Enricher.
func (e *Enricher) Name() string { return StageName }

// Version implements pipeline.Enricher.
func (e *Enricher) Version() string { return Version }

// Model returns the stage's model.
func (e *Enricher) Model() *Model { return e.model }

// Covers reports whether the stage scores a language code; the empty code
// (undetermined language) is scored.
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
// A mention whose language (Enrichment.Lang, the resolved language, or
// else the language the platform declared) the stage does not cover is
// labelled unknown with score 0 rather than given a confident wrong score.
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
			r := e.model.Predict(text, lang)
			*s = pipeline.Sentiment{Score: r.Score, Label: r.Label, Confidence: r.Confidence}
		}
		m.Enrichment.Sentiment = s
		m.SetVersion(StageName, Version)
	}
	return nil
}

// mentionLang is the resolved language, or the platform's declaration
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
