// Package stageenv holds what the enrich stages' factories share: decoding a
// stage's entry under enrich.options, registering a stage built from a
// config struct, and scoping the stage's logger.
package stageenv

import (
	"fmt"
	"log/slog"

	"github.com/earshot-dev/earshot/pipeline"
)

// DecodeOptions decodes the stage's options, when the config gives any,
// strictly into dst, which otherwise keeps what it holds (the defaults).
// The error names the config file and the stage.
func DecodeOptions(env pipeline.EnricherEnv, stage string, dst any) error {
	if env.Options == nil {
		return nil
	}
	if err := pipeline.DecodeStrict(env.Options, dst); err != nil {
		return fmt.Errorf("%s: enrich options %q: %w", env.File, stage, err)
	}
	return nil
}

// Register registers the stage under name and order with a factory that
// decodes its options strictly over defaults() and builds it with build.
//
// Its decode error says "enrich option", not "enrich options" as
// DecodeOptions's does: the lang and sentiment stages that use it always
// said so, and this package only moved their code.
func Register[C any, E pipeline.Enricher](name string, order int, defaults func() C, build func(C) (E, error)) {
	pipeline.RegisterEnricher(name, order, func(env pipeline.EnricherEnv) (pipeline.Enricher, error) {
		cfg := defaults()
		if env.Options != nil {
			if err := pipeline.DecodeStrict(env.Options, &cfg); err != nil {
				return nil, fmt.Errorf("%s: enrich option %q: %w", env.File, name, err)
			}
		}
		return build(cfg)
	})
}

// Logger returns env.Logger, or a logger that discards when it is nil,
// scoped to the stage (component=enrich, stage=name).
func Logger(env pipeline.EnricherEnv, name string) *slog.Logger {
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return logger.With("component", "enrich", "stage", name)
}
