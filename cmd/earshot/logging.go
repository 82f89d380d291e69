package main

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"
)

var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// newLogger builds the process logger. Every warning and error line is
// counted in earshot_log_events_total{component,level}, so a log line is
// never the only trace of a problem.
func newLogger(c LogConfig, w io.Writer, counter *prometheus.CounterVec) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	if c.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	if counter != nil {
		h = &countingHandler{Handler: h, counter: counter, component: "main"}
	}
	return slog.New(h)
}

type countingHandler struct {
	slog.Handler
	counter   *prometheus.CounterVec
	component string
}

func (h *countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.counter.WithLabelValues(h.component, r.Level.String()).Inc()
	}
	return h.Handler.Handle(ctx, r)
}

func (h *countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	for _, a := range as {
		if a.Key == "component" {
			c.component = a.Value.String()
		}
	}
	c.Handler = h.Handler.WithAttrs(as)
	return &c
}

func (h *countingHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.Handler = h.Handler.WithGroup(name)
	return &c
}

var stderr io.Writer = os.Stderr
