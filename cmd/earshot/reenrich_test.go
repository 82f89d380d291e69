package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/enrich/topics"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
	"github.com/earshot-dev/earshot/sink/clickhouse"
	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

// reenrichFixture stores mentions enriched under the old topics in a fresh
// database, beside an embedded JetStream, and writes a config with the
// new topics.
type reenrichFixture struct {
	store    *clickhouse.Store
	js       *pipelinetest.JetStream
	cfgFile  string
	stored   map[string]*pipeline.Mention // as first written
	deleted  string
	newTopic []pipeline.Topic
}

func newReenrichFixture(t testing.TB, n int) *reenrichFixture {
	t.Helper()
	ctx := context.Background()
	chCfg := chtest.NewDatabase(t)
	store, err := clickhouse.Open(ctx, chCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f := &reenrichFixture{store: store, js: pipelinetest.StartJetStream(t), stored: map[string]*pipeline.Mention{}}
	old := []pipeline.Topic{{ID: "acme", Query: "acme"}}
	f.newTopic = []pipeline.Topic{{ID: "acme", Query: `acme OR "road runner"`}, {ID: "support", Query: "refund OR broken"}}
	stage, err := topics.New(old)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"Acme rocks", "the road runner is fast", "acme refund please", "my widget is broken",
		"nothing to see", "Road Runner and acme", "weather today", "refund now"}
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	var batch []*pipeline.Mention
	for i := range n {
		m := &pipeline.Mention{Schema: 1, ID: fmt.Sprintf("rss:%03d", i), Platform: []string{"rss", "reddit"}[i%2], Source: "feed/x",
			Kind: pipeline.KindPost, Text: texts[i%len(texts)], URL: fmt.Sprintf("https://example.com/%d", i),
			Author:      pipeline.Author{Handle: fmt.Sprintf("u%d", i%7), Followers: int64(i)},
			CreatedAt:   base.Add(time.Duration(i) * 37 * time.Minute),
			CollectedAt: base.Add(time.Duration(i)*37*time.Minute + time.Hour),
			Engagement:  pipeline.Engagement{Likes: int64(i), Replies: 2},
			Enrichment:  pipeline.Enrichment{Sentiment: &pipeline.Sentiment{Score: -0.25, Label: "negative", Confidence: 0.7}},
		}
		batch = append(batch, m)
	}
	if err := stage.Enrich(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// A topic no longer configured stays where --topic does not name it.
	batch[4].Enrichment.Topics = []string{"legacy"}
	if err := store.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	for _, m := range batch {
		f.stored[m.ID] = cloneMention(m)
	}
	// One mention is deleted: it must stay deleted.
	f.deleted = batch[1].ID
	if err := store.Write(ctx, []*pipeline.Mention{pipeline.Tombstone(batch[1].Platform, batch[1].ID, "feed/x", batch[1].CreatedAt, base.AddDate(0, 1, 0))}); err != nil {
		t.Fatal(err)
	}
	doc := map[string]any{
		"data_dir":   t.TempDir(),
		"http":       map[string]any{"listen": "off"},
		"clickhouse": chConfigMap(chCfg),
		"nats":       map[string]any{"url": f.js.URL()},
		"topics":     []map[string]string{{"id": "acme", "query": f.newTopic[0].Query}, {"id": "support", "query": f.newTopic[1].Query}},
	}
	raw, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	f.cfgFile = filepath.Join(t.TempDir(), "earshot.yaml")
	if err := os.WriteFile(f.cfgFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// config loads the fixture's config file.
func (f *reenrichFixture) config(t testing.TB) *Config {
	t.Helper()
	cfg, err := LoadConfig(f.cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// reenricher returns a reenricher with cfg's chain and the checkpoint
// bucket on the fixture's JetStream.
func (f *reenrichFixture) reenricher(t testing.TB, cfg *Config) *reenricher {
	t.Helper()
	chain, err := cfg.Chain(nil)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := pipeline.EnsureKeyValue(context.Background(), f.js.JS, reenrichBucketConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return &reenricher{store: f.store, kv: kv, chain: chain, metrics: newReenrichMetrics(prometheus.NewRegistry()),
		log: pipelinetest.Logger(t), now: time.Now}
}

func (f *reenrichFixture) count(t *testing.T, where string) uint64 {
	t.Helper()
	var n uint64
	q := "SELECT count() FROM `" + f.store.Database() + "`.mentions WHERE " + where
	if err := f.store.Conn().QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestReenrichAfterTopicChangeResumesAndUpdatesOnlyAffectedRows is the
// issue's end-to-end test: after a topic change, a re-enrichment killed
// midway is run again with the same command and continues from its
// checkpoint in NATS KV; at the end every stored mention has exactly one
// row under FINAL, with the new topics' membership, unchanged collection
// fields and untouched other enrichment; exactly the affected rows got a
// new version (all with the first run's stamp, so nothing was redone); the
// deleted mention stays deleted; a second run changes nothing.
func TestReenrichAfterTopicChangeResumesAndUpdatesOnlyAffectedRows(t *testing.T) {
	const n = 120
	f := newReenrichFixture(t, n)
	ctx := context.Background()
	want, err := topics.NewMatcher(f.newTopic)
	if err != nil {
		t.Fatal(err)
	}
	affected := 0
	expect := map[string][]string{}
	for id, m := range f.stored {
		got, _ := want.Match(m)
		e := mergeTopics(m.Enrichment.Topics, got, []string{"acme", "support"})
		expect[id] = e
		if id != f.deleted && !slices.Equal(e, m.Enrichment.Topics) {
			affected++
		}
	}
	if affected < 20 || affected > n-20 {
		t.Fatalf("fixture: %d of %d mentions affected; want a mix", affected, n)
	}
	args := []string{"--since", "2026-11-19T00:00:00Z", "--until", "2026-12-01", "--topic", "acme,support"}

	// The first run is killed after 3 batches of 10.
	r := f.reenricher(t, f.config(t))
	r.batch = 10
	r.afterBatch = func(cp reenrichCheckpoint) error {
		if cp.Done >= 30 {
			return errReenrichStopped
		}
		return nil
	}
	p := reenrichParams{Since: time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		Topics: []string{"acme", "support"}, Stages: []string{"topics"}}
	key := reenrichKey("run", args[1], args[3], args[5], "")
	first, err := r.run(ctx, key, p, false)
	if !errors.Is(err, errReenrichStopped) || first.Done != 30 || first.Finished || first.Total != n-1 {
		t.Fatalf("killed run = %+v, %v; want stopped after 30 of %d", first, err, n-1)
	}
	// (Raw row counts are not compared: background merges fold versions.)
	if got := f.count(t, fmt.Sprintf("enriched_at = %d", first.Stamp.UnixMilli())); got != first.Changed || first.Changed == 0 {
		t.Fatalf("rows re-enriched by the killed run = %d; want the %d it changed", got, first.Changed)
	}

	// The same command again continues.
	var out, errOut bytes.Buffer
	if code := Main(ctx, append([]string{"reenrich", "--config", f.cfgFile}, args...), nil, &out, &errOut); code != 0 {
		t.Fatalf("earshot reenrich = exit %d\nstdout %s\nstderr %s", code, out.String(), errOut.String())
	}
	t.Logf("earshot reenrich %s:\n%s%s", strings.Join(args, " "), out.String(), errOut.String())
	wantOut := fmt.Sprintf("re-enriched %d mentions created 2026-11-19T00:00:00Z … 2026-12-01T00:00:00Z with topics: %d changed, %d unchanged\n",
		n-1, affected, n-1-affected)
	if out.String() != wantOut {
		t.Errorf("earshot reenrich printed %q; want %q", out.String(), wantOut)
	}
	if !strings.Contains(errOut.String(), fmt.Sprintf("reenrich: %d of %d rows (100%%), %d changed", n-1, n-1, affected)) {
		t.Errorf("progress on stderr = %q; want the final line with rows done and changed", errOut.String())
	}
	cp, err := r.loadCheckpoint(ctx, key)
	if err != nil || cp == nil || !cp.Finished || !cp.Stamp.Equal(first.Stamp) {
		t.Fatalf("checkpoint after the second run = %+v, %v; want finished, with the first run's stamp %v", cp, err, first.Stamp)
	}

	// Exactly one row per id under FINAL; exactly the affected rows written
	// again, all with the run's stamp.
	db := "`" + f.store.Database() + "`"
	if got := f.count(t, fmt.Sprintf("enriched_at = %d", first.Stamp.UnixMilli())); got != uint64(affected) {
		t.Errorf("rows with the run's enriched_at = %d; want the %d affected", got, affected)
	}
	var rows, ids uint64
	if err := f.store.Conn().QueryRow(ctx, "SELECT count(), uniqExact(id) FROM "+db+".mentions FINAL").Scan(&rows, &ids); err != nil || rows != n || ids != n {
		t.Errorf("FINAL = %d rows of %d ids, %v; want %d of %d", rows, ids, err, n, n)
	}
	if got := f.count(t, "deleted = 1 AND id = '"+f.deleted+"'"); got != 1 {
		t.Errorf("tombstone rows = %d; want 1", got)
	}
	var live uint64
	if err := f.store.Conn().QueryRow(ctx, "SELECT count() FROM "+db+".mentions_dedup WHERE id = ?", f.deleted).Scan(&live); err != nil || live != 0 {
		t.Errorf("deleted mention in mentions_dedup: %d, %v; want 0", live, err)
	}
	stored, err := f.store.ReadLive(ctx, clickhouse.ReadRange{Since: p.Since, Until: p.Until}, 1000)
	if err != nil || len(stored) != n-1 {
		t.Fatalf("ReadLive = %d, %v; want %d", len(stored), err, n-1)
	}
	for _, m := range stored {
		orig := f.stored[m.ID]
		if !slices.Equal(m.Enrichment.Topics, expect[m.ID]) {
			t.Errorf("%s %q topics = %q; want %q", m.ID, m.Text, m.Enrichment.Topics, expect[m.ID])
		}
		// Everything but the topics is as collected and enriched before.
		m.Enrichment.Topics = orig.Enrichment.Topics
		if !clickhouse.SameStoredRow(m, orig) {
			t.Errorf("%s after reenrich = %+v; want collection fields and other enrichment unchanged: %+v", m.ID, m, orig)
		}
	}
	if got := testutil.ToFloat64(r.metrics.rows.WithLabelValues("changed")); got != float64(first.Changed) {
		t.Errorf("earshot_reenrich_rows_total{outcome=changed} of the killed run = %v; want %d", got, first.Changed)
	}

	// Run again from the start: nothing left to change.
	out.Reset()
	errOut.Reset()
	if code := Main(ctx, append([]string{"reenrich", "--config", f.cfgFile, "--rate", "0"}, args...), nil, &out, &errOut); code != 0 {
		t.Fatalf("second earshot reenrich = exit %d: %s", code, errOut.String())
	}
	if want := fmt.Sprintf("%d changed, %d unchanged", 0, n-1); !strings.Contains(out.String(), want) {
		t.Errorf("second run printed %q; want %q", out.String(), want)
	}
	if got := f.count(t, fmt.Sprintf("enriched_at > %d", first.Stamp.UnixMilli())); got != 0 {
		t.Errorf("rows written by a second run = %d; want 0", got)
	}
	if strings.Contains(out.String(), "note:") {
		t.Errorf("second run printed a note with no sink backlog: %q", out.String())
	}

	// Nothing went through the ENRICHED stream, which the detector counts.
	st, err := f.js.JS.Stream(ctx, pipeline.StreamEnriched)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Errorf("ENRICHED stream after re-enrichment holds %d messages; want 0: the detector must not count history again", info.State.Msgs)
	}

	// With enriched mentions waiting for the sink, the run says so.
	if _, err := (&pipeline.SinkRunner{JS: f.js.JS}).EnsureConsumer(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := f.stored["rss:000"].Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.js.JS.Publish(ctx, pipeline.SubjectEnrichedPrefix+"rss", b); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := Main(ctx, append([]string{"reenrich", "--config", f.cfgFile, "--restart"}, args...), nil, &out, &errOut); code != 0 {
		t.Fatalf("third earshot reenrich = exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "note: the sink had 1 enriched mentions not yet stored") {
		t.Errorf("run with a sink backlog printed %q; want the note about the backlog", out.String())
	}
}

// A mention re-enriched by the whole configured chain it was enriched by
// is unchanged (stored and computed enrichment agree), so a re-enrichment
// with nothing changed writes nothing.
func TestReenrichWholeChainUnchangedWritesNothing(t *testing.T) {
	f := newReenrichFixture(t, 40)
	ctx := context.Background()
	cfg := f.config(t)
	var live []*pipeline.Mention
	for _, m := range f.stored {
		if m.ID != f.deleted {
			live = append(live, cloneMention(m))
		}
	}
	slices.SortFunc(live, func(a, b *pipeline.Mention) int { return a.CreatedAt.Compare(b.CreatedAt) })
	// Stored as the live pipeline with the new config would have.
	fresh, err := cfg.Chain(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pipeline.RunChain(ctx, fresh, live, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Write(ctx, live); err != nil {
		t.Fatal(err)
	}
	r := f.reenricher(t, cfg)
	chain := r.chain
	p := reenrichParams{Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	for _, st := range chain {
		p.Stages = append(p.Stages, st.Name())
	}
	cp, err := r.run(ctx, "test.whole", p, false)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Done != uint64(len(live)) || cp.Changed != 0 {
		t.Errorf("reenrich with the chain the rows were enriched by: %d done, %d changed; want %d, 0 (stages %v)", cp.Done, cp.Changed, len(live), p.Stages)
	}
}

// enrich.reenrich_on_change: the first start records the enrichment state;
// a start with the same configuration does nothing; a changed topic query
// and a new topic re-enrich the last days' mentions once (only the topics
// stage, only those topics), and the next start does nothing again.
func TestReenrichOnChangeRunsOnceAfterATopicChange(t *testing.T) {
	f := newReenrichFixture(t, 60)
	ctx := context.Background()
	newCfg, err := LoadConfig(f.cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	newCfg.Enrich.ReenrichOnChange = "30d"
	oldCfg := *newCfg
	oldCfg.Topics = []pipeline.Topic{{ID: "acme", Query: "acme"}}
	kv, err := pipeline.EnsureKeyValue(ctx, f.js.JS, reenrichBucketConfig(newCfg))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	start := func(cfg *Config) *reenricher {
		t.Helper()
		chain, err := cfg.Chain(nil)
		if err != nil {
			t.Fatal(err)
		}
		r := &reenricher{store: f.store, kv: kv, chain: chain, metrics: newReenrichMetrics(prometheus.NewRegistry()),
			log: pipelinetest.Logger(t), now: func() time.Time { return now }}
		if err := autoReenrich(ctx, cfg, r, r.log); err != nil {
			t.Fatal(err)
		}
		return r
	}
	rewritten := func() uint64 { return f.count(t, fmt.Sprintf("enriched_at = %d", now.UnixMilli())) }
	start(&oldCfg)
	start(&oldCfg)
	if got := rewritten(); got != 0 {
		t.Fatalf("rows re-enriched with the configuration unchanged = %d; want 0", got)
	}
	r := start(newCfg)
	changed := testutil.ToFloat64(r.metrics.rows.WithLabelValues("changed"))
	unchanged := testutil.ToFloat64(r.metrics.rows.WithLabelValues("unchanged"))
	if got := rewritten(); got == 0 || float64(got) != changed || changed+unchanged != 59 {
		t.Errorf("after the topic change: %d rows rewritten, metrics %v changed + %v unchanged; want some, all of the 59 live mentions read", got, changed, unchanged)
	}
	want, _ := topics.NewMatcher(f.newTopic)
	stored, err := f.store.ReadLive(ctx, clickhouse.ReadRange{Since: now.AddDate(0, 0, -30), Until: now}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range stored {
		got, _ := want.Match(m)
		if e := mergeTopics(f.stored[m.ID].Enrichment.Topics, got, []string{"acme", "support"}); !slices.Equal(m.Enrichment.Topics, e) {
			t.Errorf("%s %q topics = %q; want %q", m.ID, m.Text, m.Enrichment.Topics, e)
		}
	}
	r = start(newCfg)
	if got := testutil.ToFloat64(r.metrics.rows.WithLabelValues("unchanged")) + testutil.ToFloat64(r.metrics.rows.WithLabelValues("changed")); got != 0 {
		t.Errorf("a start after the change was applied read %v mentions; want 0", got)
	}
}

func TestChangedEnrichment(t *testing.T) {
	old := enrichmentState{Stages: map[string]string{"topics": "a", "sentiment": "b", "dedup": "c"}, Topics: map[string]string{"x": "1", "y": "2", "gone": "3"}}
	for _, c := range []struct {
		name           string
		cur            enrichmentState
		stages, topics []string
	}{
		{"same", old, nil, nil},
		{"topic query", enrichmentState{Stages: old.Stages, Topics: map[string]string{"x": "9", "y": "2", "gone": "3"}}, []string{"topics"}, []string{"x"}},
		{"topic added and removed", enrichmentState{Stages: old.Stages, Topics: map[string]string{"x": "1", "y": "2", "new": "4"}}, []string{"topics"}, []string{"gone", "new"}},
		{"stage version", enrichmentState{Stages: map[string]string{"topics": "a", "sentiment": "B", "dedup": "c"}, Topics: old.Topics}, []string{"sentiment"}, nil},
		{"topics stage version", enrichmentState{Stages: map[string]string{"topics": "A", "sentiment": "b", "dedup": "c"}, Topics: map[string]string{"x": "9"}}, []string{"topics"}, nil},
	} {
		stages, topicIDs := changedEnrichment(old, c.cur)
		slices.Sort(stages)
		if !slices.Equal(stages, c.stages) || !slices.Equal(topicIDs, c.topics) {
			t.Errorf("%s: changedEnrichment() = %q, %q; want %q, %q", c.name, stages, topicIDs, c.stages, c.topics)
		}
	}
}

// Two processes on one run (two replicas applying reenrich_on_change, a
// command started twice): the checkpoint is compare-and-set, so the one
// whose checkpoint moved on under it stops with errReenrichTaken, and the
// other finishes the run.
func TestReenrichSecondProcessOnARunStops(t *testing.T) {
	f := newReenrichFixture(t, 40)
	ctx := context.Background()
	cfg := f.config(t)
	p := reenrichParams{Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		Stages: []string{"topics"}}
	newR := func() *reenricher {
		r := f.reenricher(t, cfg)
		r.batch = 10
		return r
	}
	var second *reenrichCheckpoint
	var secondErr error
	r1 := newR()
	r1.afterBatch = func(cp reenrichCheckpoint) error {
		if second == nil {
			second, secondErr = newR().run(ctx, "test.twice", p, false)
		}
		return nil
	}
	_, err := r1.run(ctx, "test.twice", p, false)
	if !errors.Is(err, errReenrichTaken) {
		t.Errorf("first process = %v; want errReenrichTaken once the other advanced the checkpoint", err)
	}
	if secondErr != nil || second == nil || !second.Finished || second.Done != 39 {
		t.Errorf("second process = %+v, %v; want the run finished, 39 mentions", second, secondErr)
	}
}
