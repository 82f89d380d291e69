package main

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultProgress is how often run and demo log what they did (log.progress).
const DefaultProgress = time.Minute

// progressCounts is a snapshot of the process's own counters, read from its
// Prometheus registry: what was collected, enriched, stored and alerted,
// and the failure counters by their labels.
type progressCounts struct {
	collected, enriched, stored, alerted float64
	failing                              map[string]float64 // "connector demo-news (rss) fetch" → count
}

// gatherProgress reads the counters from reg.
func gatherProgress(reg prometheus.Gatherer) (progressCounts, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return progressCounts{}, err
	}
	c := progressCounts{failing: map[string]float64{}}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			v := m.GetCounter().GetValue()
			l := make(map[string]string, len(m.GetLabel()))
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			switch mf.GetName() {
			case "earshot_connector_mentions_total":
				c.collected += v
			case "earshot_stage_sent_total":
				switch l["stage"] {
				case "enrich":
					c.enriched += v
				case "sink":
					c.stored += v
				}
			case "earshot_alerts_total":
				c.alerted += v
			case "earshot_connector_errors_total":
				c.failing[fmt.Sprintf("connector %s (%s) %s", l["connector"], l["platform"], l["type"])] += v
			case "earshot_stage_errors_total":
				c.failing[fmt.Sprintf("%s %s", l["stage"], l["type"])] += v
			case "earshot_stage_dead_lettered_total":
				c.failing[fmt.Sprintf("%s dead-lettered (%s)", l["stage"], l["reason"])] += v
			}
		}
	}
	return c, nil
}

// logProgress logs, each interval, one info line with the counts since the
// previous line and what failed in that time.
func logProgress(ctx context.Context, reg prometheus.Gatherer, log *slog.Logger, interval time.Duration) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	logProgressOn(ctx, reg, log, interval, t.C)
}

// logProgressOn logs one progress line per tick, counting since the line
// before (or since it started, for the first).
func logProgressOn(ctx context.Context, reg prometheus.Gatherer, log *slog.Logger, interval time.Duration, ticks <-chan time.Time) {
	prev, _ := gatherProgress(reg)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
		}
		cur, err := gatherProgress(reg)
		if err != nil {
			continue
		}
		log.Info("progress", progressAttrs(prev, cur, interval)...)
		prev = cur
	}
}

// progressAttrs are the attributes of one progress line: deltas from prev to cur.
func progressAttrs(prev, cur progressCounts, interval time.Duration) []any {
	var failing []string
	for k, v := range cur.failing {
		if d := v - prev.failing[k]; d > 0 {
			failing = append(failing, fmt.Sprintf("%s: %.0f", k, d))
		}
	}
	sort.Strings(failing)
	f := "nothing"
	if len(failing) > 0 {
		f = strings.Join(failing, ", ")
	}
	return []any{
		"component", "main",
		"since", interval.String(),
		"collected", int64(cur.collected - prev.collected),
		"enriched", int64(cur.enriched - prev.enriched),
		"stored", int64(cur.stored - prev.stored),
		"alerted", int64(cur.alerted - prev.alerted),
		"failing", f,
	}
}
