// Package lang is earshot's language-detection stage. It sets each
// mention's Enrichment.Lang (ISO 639-1) and LangConfidence from the text,
// after dropping handles, hashtags, URLs and emoji, and leaves Lang empty
// when there is too little evidence rather than guess.
//
// The detector is earshot's own: a character n-gram model whose
// probabilities come from lingua-go's language models (see
// internal/ngramgen and README.md for why and for the measured comparison
// with lingua-go and whatlanggo).
package lang

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/earshot-dev/earshot/enrich/internal/stageenv"
	"github.com/earshot-dev/earshot/pipeline"
)

// StageName is the name the stage is registered and versioned under.
const StageName = "lang"

// Version identifies the detector and its n-gram table; it changes whenever
// the answer for the same text can change.
const Version = "ngram-lingua1.4/3"

func init() { stageenv.Register(StageName, 20, DefaultConfig, New) }

// Config is the stage's options (enrich.options.lang).
type Config struct {
	// Languages expected in the stream (ISO 639-1). Default: DefaultLanguages.
	// Other languages the detector knows are still reported, but only when
	// they win clearly.
	Languages []string `yaml:"languages"`
	// MinConfidence below which Lang is left empty. Default 0.5.
	MinConfidence float64 `yaml:"min_confidence"`
}

// DefaultConfig returns the shipped settings.
func DefaultConfig() Config {
	return Config{Languages: append([]string(nil), DefaultLanguages...), MinConfidence: DefaultMinConfidence}
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("invalid lang config")

// Validate reports every problem with the config at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.Languages) == 0 {
		errs = append(errs, fmt.Errorf("%w: languages is empty", ErrConfig))
	}
	supported := Supported()
	for i, l := range c.Languages {
		ok := false
		for _, s := range supported {
			ok = ok || s == l
		}
		if !ok {
			errs = append(errs, fmt.Errorf("%w: languages[%d] = %q is not a supported ISO 639-1 code (supported: %s)",
				ErrConfig, i, l, strings.Join(supported, ", ")))
		}
	}
	if c.MinConfidence <= 0 || c.MinConfidence > 1 {
		errs = append(errs, fmt.Errorf("%w: min_confidence %v must be in (0, 1]", ErrConfig, c.MinConfidence))
	}
	return errors.Join(errs...)
}

// Enricher is the language stage.
type Enricher struct {
	d *Detector
}

var _ pipeline.Enricher = (*Enricher)(nil)

// New builds the stage.
func New(cfg Config) (*Enricher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d, err := NewDetector(cfg.Languages, cfg.MinConfidence)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return &Enricher{d: d}, nil
}

// Name implements pipeline.Enricher.
func (e *Enricher) Name() string { return StageName }

// Version implements pipeline.Enricher.
func (e *Enricher) Version() string { return Version }

// Detector returns the stage's detector.
func (e *Enricher) Detector() *Detector { return e.d }

// Enrich detects the language of each mention's text, or of its title when
// the text tells nothing, and resolves it with the language the platform
// declared (Mention.Lang) as a prior: Enrichment.Lang is the resolved
// language, Enrichment.LangDetected the text's alone.
func (e *Enricher) Enrich(ctx context.Context, batch []*pipeline.Mention) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, m := range batch {
		r := e.d.Resolve(m.Text, m.Lang)
		if r.Detected == "" && m.Title != "" {
			if rt := e.d.Resolve(m.Title, m.Lang); rt.Detected != "" {
				r = rt
			}
		}
		m.Enrichment.Lang, m.Enrichment.LangConfidence, m.Enrichment.LangDetected = r.Lang, r.Confidence, r.Detected
		m.SetVersion(StageName, Version)
	}
	return nil
}
