package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.yaml.in/yaml/v3"
	"golang.org/x/sync/errgroup"

	"github.com/earshot-dev/earshot/enrich/topics"
	"github.com/earshot-dev/earshot/pipeline"
)

// enrich.reenrich_on_change: when a topic query, a stage's version or its
// options change, the process with the sink role re-enriches the last N
// days, once. What was last applied is in ReenrichBucket under
// autoAppliedKey; the run itself is an ordinary resumable run (checkpoint
// "auto.<hash of the change>"), so a process killed midway continues it
// when it starts again.

const autoAppliedKey = "auto.applied"

// enrichmentState is what the stored enrichment depends on: per stage,
// a fingerprint of its version and options; per topic, of its query.
type enrichmentState struct {
	Stages map[string]string `json:"stages"`
	Topics map[string]string `json:"topics"`
}

func fingerprint(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:8])
}

// currentEnrichment returns the state of cfg's chain and topics.
func currentEnrichment(cfg *Config, chain []pipeline.Enricher) enrichmentState {
	st := enrichmentState{Stages: map[string]string{}, Topics: map[string]string{}}
	for _, s := range chain {
		opts := ""
		if o, ok := cfg.Enrich.Options[s.Name()]; ok {
			if b, err := yaml.Marshal(&o); err == nil {
				opts = string(b)
			}
		}
		st.Stages[s.Name()] = fingerprint(s.Version(), opts)
	}
	for _, t := range cfg.Topics {
		st.Topics[t.ID] = fingerprint(t.Query)
	}
	return st
}

// changedEnrichment returns the stages to run again and, when only topics
// changed for the topics stage, the topics whose membership to recompute
// (nil: all of the stage's).
func changedEnrichment(old, cur enrichmentState) (stages, topicIDs []string) {
	for name, fp := range cur.Stages {
		if old.Stages[name] != fp {
			stages = append(stages, name)
		}
	}
	var changedTopics []string
	for id, fp := range cur.Topics {
		if old.Topics[id] != fp {
			changedTopics = append(changedTopics, id)
		}
	}
	for id := range old.Topics {
		if _, ok := cur.Topics[id]; !ok {
			changedTopics = append(changedTopics, id) // removed: its membership goes
		}
	}
	slices.Sort(changedTopics)
	if _, ok := cur.Stages[topics.Name]; ok && len(changedTopics) > 0 && !slices.Contains(stages, topics.Name) {
		stages = append(stages, topics.Name)
		topicIDs = changedTopics
	}
	return stages, topicIDs
}

// autoReenrich applies enrich.reenrich_on_change once for the current
// configuration. The first start with it set records the state without
// re-enriching (there is nothing to compare with).
func autoReenrich(ctx context.Context, cfg *Config, r *reenricher, log *slog.Logger) error {
	back, err := parseSince(cfg.Enrich.ReenrichOnChange)
	if err != nil {
		return fmt.Errorf("enrich.reenrich_on_change: %w", err)
	}
	cur := currentEnrichment(cfg, r.chain)
	curJSON, err := json.Marshal(cur)
	if err != nil {
		return err
	}
	e, err := r.kv.Get(ctx, autoAppliedKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		if _, err := r.kv.Create(ctx, autoAppliedKey, curJSON); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("reenrich_on_change: record the enrichment state: %w", err)
		}
		log.Info("reenrich_on_change: enrichment state recorded; a later change re-enriches the last " + cfg.Enrich.ReenrichOnChange)
		return nil
	}
	if err != nil {
		return fmt.Errorf("reenrich_on_change: read the applied enrichment state: %w", err)
	}
	var old enrichmentState
	if err := json.Unmarshal(e.Value(), &old); err != nil {
		return fmt.Errorf("reenrich_on_change: applied enrichment state is not valid: %w", err)
	}
	stages, topicIDs := changedEnrichment(old, cur)
	if len(stages) == 0 {
		return nil
	}
	// In chain order.
	var ordered []string
	for _, st := range r.chain {
		if slices.Contains(stages, st.Name()) {
			ordered = append(ordered, st.Name())
		}
	}
	now := r.now().UTC().Truncate(time.Second)
	p := reenrichParams{Since: now.Add(-back), Until: now, Stages: ordered, Topics: topicIDs}
	key := "auto." + fingerprint(string(e.Value()), string(curJSON))
	log.Info("reenrich_on_change: the enrichment changed; re-enriching", "stages", strings.Join(ordered, ","),
		"topics", strings.Join(topicIDs, ","), "since", p.Since, "checkpoint", key)
	cp, err := r.run(ctx, key, p, false)
	if errors.Is(err, errReenrichTaken) {
		log.Info("reenrich_on_change: another process is applying the change")
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := r.kv.Update(ctx, autoAppliedKey, curJSON, e.Revision()); err != nil {
		return fmt.Errorf("reenrich_on_change: record the applied state: %w", err)
	}
	log.Info("reenrich_on_change: done", "mentions", cp.Done, "changed", cp.Changed)
	return nil
}

// startAutoReenrich starts applying enrich.reenrich_on_change in g, in a
// process with the sink role (it has ClickHouse; chain is the enrich
// role's chain when the process has one).
func startAutoReenrich(ctx context.Context, g *errgroup.Group, cfg *Config, in *infra, chain []pipeline.Enricher) error {
	log := in.log.With("component", "reenrich")
	if chain == nil {
		var err error
		if chain, err = cfg.Chain(&pipeline.EnricherEnv{Logger: log}); err != nil {
			return err
		}
	}
	kv, err := reenrichBucket(ctx, cfg, in)
	if err != nil {
		return err
	}
	m := newReenrichMetrics(in.reg)
	r := &reenricher{store: in.store, kv: kv, chain: chain, metrics: m, log: log, rate: autoReenrichRate, now: time.Now}
	g.Go(func() error {
		if err := autoReenrich(ctx, cfg, r, log); err != nil && ctx.Err() == nil {
			m.failures.Inc()
			log.Error("reenrich_on_change failed; it is tried again at the next start", "err", err)
		}
		return nil
	})
	return nil
}

// autoReenrichRate bounds the automatic re-enrichment, so live enrichment
// and the sink keep their latency.
const autoReenrichRate = 500
