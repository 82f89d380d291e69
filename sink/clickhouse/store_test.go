package clickhouse_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

// openStore opens a migrated store on a fresh database.
func openStore(t testing.TB) *clickhouse.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := clickhouse.Open(ctx, chtest.NewDatabase(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return st
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func queryUint(t testing.TB, st *clickhouse.Store, q string) uint64 {
	t.Helper()
	q = strings.ReplaceAll(q, "$db", "`"+st.Database()+"`")
	var n uint64
	if err := st.Conn().QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// sampleMentions returns n distinct mentions exercising every column.
func sampleMentions(n int, base time.Time) []*pipeline.Mention {
	out := make([]*pipeline.Mention, n)
	for i := range out {
		m := &pipeline.Mention{
			Schema:      1,
			ID:          fmt.Sprintf("twitter:%d", 1790000000000+i),
			Platform:    "twitter",
			Source:      "x/search/acme",
			Kind:        pipeline.KindPost,
			URL:         fmt.Sprintf("https://x.com/u/status/%d", i),
			Author:      pipeline.Author{ID: fmt.Sprint(i), Handle: "user" + fmt.Sprint(i%7), Name: "Zoë 用户 ✓", Followers: int64(i * 1000), Verified: i%2 == 0},
			Text:        fmt.Sprintf("Acme's new phone 📱 is great #%d — ça marche! مرحبا", i),
			Lang:        "en",
			CreatedAt:   base.Add(time.Duration(i) * 20 * time.Second),
			CollectedAt: base.Add(time.Hour),
			Engagement:  pipeline.Engagement{Likes: int64(i), Reposts: 2, Replies: 3, Quotes: 4, Views: math.MaxInt64},
			MatchedRule: "acme",
			Enrichment: pipeline.Enrichment{
				Sentiment:      &pipeline.Sentiment{Score: 0.5, Label: pipeline.SentimentPositive, Confidence: 0.625},
				Lang:           "en",
				LangConfidence: 0.75,
				LangDetected:   "fr",
				Topics:         []string{"acme", "phones"},
				Hashtags:       []string{fmt.Sprint(i)},
				Mentions:       []string{"acme"},
				Cashtags:       []string{"ACME"},
				Links:          []string{"https://acme.example/p?q=1&r=ü"},
				Domains:        []string{"acme.example"},
				Emoji:          []string{"📱"},
				DupCluster:     "c1",
				Trends:         []string{"launch"},
				NeedsResponse:  i%3 == 0,
				Versions:       map[string]string{"sentiment": "vader-1", "lang": "2"},
				Errors:         []pipeline.StageError{{Stage: "entities", Error: "timeout: 1s"}},
			},
		}
		if i%4 == 1 { // a mention with every optional field empty
			m.URL, m.Author, m.Text, m.Lang, m.MatchedRule = "", pipeline.Author{}, "", "", ""
			m.Engagement = pipeline.Engagement{}
			m.Enrichment = pipeline.Enrichment{}
		}
		if i%4 == 2 {
			m.Kind, m.ParentID, m.ConversationID = pipeline.KindReply, "twitter:1", "twitter:1"
			m.Title = "bytes kept as is: \xff\xfe, tab\t, newline\n, quote ' \" \\"
			m.Enrichment.Sentiment = &pipeline.Sentiment{Score: -0.25, Label: pipeline.SentimentNegative}
			m.Enrichment.Topics = []string{"acme"}
		}
		out[i] = m
	}
	return out
}

// stored is what a mention looks like after a round trip: timestamps in
// UTC at second precision, empty collections as nil.
func stored(m *pipeline.Mention) *pipeline.Mention {
	c := *m
	c.CreatedAt = c.CreatedAt.UTC().Truncate(time.Second)
	c.CollectedAt = c.CollectedAt.UTC().Truncate(time.Second)
	e := &c.Enrichment
	for _, s := range []*[]string{&e.Topics, &e.Hashtags, &e.Mentions, &e.Cashtags, &e.Links, &e.Domains, &e.Emoji, &e.Trends} {
		if len(*s) == 0 {
			*s = nil
		}
	}
	if len(e.Versions) == 0 {
		e.Versions = nil
	}
	if len(e.Errors) == 0 {
		e.Errors = nil
	}
	e.Spans = nil // not stored
	return &c
}

// readMentions reads mentions_dedup back into Mentions, by id.
func readMentions(t testing.TB, st *clickhouse.Store) map[string]*pipeline.Mention {
	t.Helper()
	rows, err := st.Conn().Query(context.Background(), "SELECT id, platform, source, kind, url, author_id, author_handle, author_name, "+
		"author_followers, author_verified, title, text, lang_declared, lang, lang_detected, lang_confidence, created_at, collected_at, "+
		"likes, reposts, replies, quotes, views, parent_id, conversation_id, matched_rule, sentiment, sentiment_label, "+
		"topics, hashtags, mentions, cashtags, links, domains, emoji, dup_cluster, trends, needs_response, enrich_errors, versions, schema, "+
		"sentiment_confidence "+
		"FROM `"+st.Database()+"`.mentions_dedup")
	if err != nil {
		t.Fatalf("query mentions_dedup: %v", err)
	}
	defer rows.Close()
	out := map[string]*pipeline.Mention{}
	for rows.Next() {
		var m pipeline.Mention
		e := &m.Enrichment
		var verified, needs, schema uint8
		var langConf, score, sentConf float32
		var label string
		var errs, versions []string
		err := rows.Scan(&m.ID, &m.Platform, &m.Source, &m.Kind, &m.URL, &m.Author.ID, &m.Author.Handle, &m.Author.Name,
			&m.Author.Followers, &verified, &m.Title, &m.Text, &m.Lang, &e.Lang, &e.LangDetected, &langConf, &m.CreatedAt, &m.CollectedAt,
			&m.Engagement.Likes, &m.Engagement.Reposts, &m.Engagement.Replies, &m.Engagement.Quotes, &m.Engagement.Views,
			&m.ParentID, &m.ConversationID, &m.MatchedRule, &score, &label,
			&e.Topics, &e.Hashtags, &e.Mentions, &e.Cashtags, &e.Links, &e.Domains, &e.Emoji, &e.DupCluster, &e.Trends,
			&needs, &errs, &versions, &schema, &sentConf)
		if err != nil {
			t.Fatalf("scan mentions_dedup: %v", err)
		}
		m.Author.Verified, e.NeedsResponse, m.Schema = verified == 1, needs == 1, int(schema)
		e.LangConfidence = float64(langConf)
		if label != "" {
			e.Sentiment = &pipeline.Sentiment{Score: float64(score), Label: label, Confidence: float64(sentConf)}
		}
		for _, s := range []*[]string{&e.Topics, &e.Hashtags, &e.Mentions, &e.Cashtags, &e.Links, &e.Domains, &e.Emoji, &e.Trends} {
			if len(*s) == 0 {
				*s = nil
			}
		}
		for _, s := range errs {
			stage, msg, _ := strings.Cut(s, ": ")
			e.Errors = append(e.Errors, pipeline.StageError{Stage: stage, Error: msg})
		}
		for _, s := range versions {
			stage, v, _ := strings.Cut(s, "=")
			m.SetVersion(stage, v)
		}
		m.CreatedAt, m.CollectedAt = m.CreatedAt.UTC(), m.CollectedAt.UTC()
		if _, dup := out[m.ID]; dup {
			t.Fatalf("mentions_dedup returned %q twice", m.ID)
		}
		out[m.ID] = &m
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read mentions_dedup: %v", err)
	}
	return out
}

func TestMigrateIsIdempotent(t *testing.T) {
	ctx := testCtx(t)
	st, err := clickhouse.Open(ctx, chtest.NewDatabase(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer st.Close()
	if v, err := st.SchemaVersionApplied(ctx); err == nil {
		t.Fatalf("SchemaVersionApplied before Migrate = %d; want an error (no database)", v)
	}
	for i := range 3 {
		if err := st.Migrate(ctx); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	v, err := st.SchemaVersionApplied(ctx)
	if err != nil || v != clickhouse.SchemaVersion() {
		t.Fatalf("SchemaVersionApplied() = %d, %v; want %d", v, err, clickhouse.SchemaVersion())
	}
	if n := queryUint(t, st, "SELECT count() FROM $db.schema_migrations FINAL"); n != uint64(clickhouse.MigrationCount()) {
		t.Errorf("schema_migrations rows = %d; want %d (one per version, even after 3 runs)", n, clickhouse.MigrationCount())
	}
	want := []string{"alerts", "alerts_dedup", "mentions", "mentions_dedup", "mentions_per_minute", "responses", "schema_migrations", "topic_mentions", "topic_passes", "topic_rollup"}
	rows, err := st.Conn().Query(ctx, "SELECT name FROM system.tables WHERE database = ? ORDER BY name", st.Database())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		got = append(got, name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("tables = %q; want %q", got, want)
	}
}

// TestMigrateAddsAlertLifecycle upgrades an alerts table made before
// version 4 and checks that the lifecycle
// columns are added and readable through alerts_dedup, old rows kept.
func TestMigrateAddsAlertLifecycle(t *testing.T) {
	ctx := testCtx(t)
	cfg := chtest.NewDatabase(t)
	st, err := clickhouse.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer st.Close()
	db := "`" + cfg.Database + "`"
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	// Back to the schema before version 4: no lifecycle columns, a view of
	// the old columns, version 4 not recorded, one alert stored.
	stmts := []string{"DROP TABLE " + db + ".alerts_dedup"}
	for _, c := range []string{"status", "severity", "event_id", "first_bucket", "last_bucket", "peak", "peak_at"} {
		stmts = append(stmts, "ALTER TABLE "+db+".alerts DROP COLUMN `"+c+"`")
	}
	stmts = append(stmts,
		"CREATE VIEW "+db+".alerts_dedup AS SELECT * FROM "+db+".alerts FINAL",
		"DROP TABLE "+db+".schema_migrations",
		"CREATE TABLE "+db+".schema_migrations (version UInt32, name String, applied_at DateTime('UTC')) ENGINE = ReplacingMergeTree(applied_at) ORDER BY version",
		fmt.Sprintf("INSERT INTO %s.schema_migrations (version, name, applied_at) SELECT toUInt32(number), 'before', now() "+
			"FROM (SELECT number FROM system.numbers LIMIT %d) WHERE number >= 1 AND number != 4", db, clickhouse.SchemaVersion()+1),
		"INSERT INTO "+db+".alerts (id, topic, platform, kind, started_at, detected_at, ingested_at, window_seconds, observed, baseline, score, negative_share, explanation, sample_ids) "+
			"SELECT 'old', 'acme', '', 'spike', now(), now(), now(), 300, 50, 5, 0.9, 0.1, '{}', emptyArrayString()")
	for _, q := range stmts {
		if err := st.Conn().Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("Migrate over an alerts table from before version 4: %v", err)
	}
	first := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	a := clickhouse.Alert{ID: "r1", Topic: "acme", Kind: clickhouse.AlertSpike, StartedAt: first, DetectedAt: first.Add(2 * time.Hour),
		Window: 5 * time.Minute, Status: clickhouse.AlertResolved, Severity: "critical", EventID: "e1",
		FirstBucket: first, LastBucket: first.Add(time.Hour), Peak: 420, PeakAt: first.Add(10 * time.Minute)}
	if err := st.WriteAlert(ctx, a); err != nil {
		t.Fatalf("WriteAlert after the upgrade: %v", err)
	}
	rows, err := st.Conn().Query(ctx, "SELECT id, status, severity, event_id, first_bucket, last_bucket, peak, peak_at FROM "+db+".alerts_dedup ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id, status, sev, ev string
		var fb, lb, pa time.Time
		var peak float64
		if err := rows.Scan(&id, &status, &sev, &ev, &fb, &lb, &peak, &pa); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %s %s %s %s %g %s", id, status, sev, ev, fb.UTC().Format(time.RFC3339), lb.UTC().Format(time.RFC3339), peak, pa.UTC().Format(time.RFC3339)))
	}
	want := []string{
		"old    1970-01-01T00:00:00Z 1970-01-01T00:00:00Z 0 1970-01-01T00:00:00Z",
		"r1 resolved critical e1 2026-05-01T10:00:00Z 2026-05-01T11:00:00Z 420 2026-05-01T10:10:00Z",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("alerts_dedup after the upgrade = %q; want %q", got, want)
	}
}

func TestMigrateRejectsForeignTable(t *testing.T) {
	ctx := testCtx(t)
	cfg := chtest.NewDatabase(t)
	st, err := clickhouse.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer st.Close()
	for _, q := range []string{
		"CREATE DATABASE `" + cfg.Database + "`",
		"CREATE TABLE `" + cfg.Database + "`.mentions (id String, created_at DateTime, text UInt64) ENGINE = MergeTree ORDER BY id",
	} {
		if err := st.Conn().Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	err = st.Migrate(ctx)
	if err == nil || !strings.Contains(err.Error(), "platform is missing") || !strings.Contains(err.Error(), "text is UInt64, want String") {
		t.Fatalf("Migrate over a foreign mentions table = %v; want missing/mistyped columns named", err)
	}
	if clickhouse.Retryable(err) {
		t.Errorf("Retryable(%v) = true; want false", err)
	}
}

func TestWriteRedeliveryAndRoundTrip(t *testing.T) {
	ctx := testCtx(t)
	st := openStore(t)
	base := time.Date(2026, 3, 31, 23, 59, 0, 123456789, time.FixedZone("CEST", 2*3600))
	ms := sampleMentions(40, base)
	ms = append(ms, &pipeline.Mention{Schema: 1, ID: "rss:epoch", Platform: "rss", CreatedAt: time.Unix(0, 0), CollectedAt: time.Unix(0, 0)})
	ms = append(ms, &pipeline.Mention{Schema: 1, ID: "rss:last", Platform: "rss", CreatedAt: time.Unix(math.MaxUint32, 0), CollectedAt: time.Unix(math.MaxUint32, 0)})
	for i := range 3 { // first delivery, then two redeliveries
		if err := st.Write(ctx, ms); err != nil {
			t.Fatalf("Write #%d: %v", i+1, err)
		}
	}
	n := uint64(len(ms))
	if got := queryUint(t, st, "SELECT count() FROM $db.mentions FINAL"); got != n {
		t.Errorf("count() FINAL = %d; want %d", got, n)
	}
	if got := queryUint(t, st, "SELECT uniqExact(id) FROM $db.mentions"); got != n {
		t.Errorf("uniqExact(id) = %d; want %d", got, n)
	}
	if got := queryUint(t, st, "SELECT count() FROM $db.mentions_dedup"); got != n {
		t.Errorf("count() mentions_dedup = %d; want %d", got, n)
	}
	// per minute, topic '' for mentions without topics: 40 sample mentions
	// (10 without topics, 10 with one, 20 with two) + 2 without.
	if got := queryUint(t, st, "SELECT sum(mentions) FROM $db.mentions_per_minute"); got != 10+10+20*2+2 {
		t.Errorf("sum(mentions) per minute = %d; want %d", got, 10+10+20*2+2)
	}
	if got := queryUint(t, st, "SELECT sum(mentions) FROM $db.mentions_per_minute WHERE topic = 'acme' AND sentiment_label = 'negative'"); got != 10 {
		t.Errorf("negative acme mentions per minute = %d; want 10", got)
	}
	got := readMentions(t, st)
	if len(got) != len(ms) {
		t.Fatalf("read %d mentions; want %d", len(got), len(ms))
	}
	for _, m := range ms {
		want := stored(m)
		if g := got[m.ID]; !reflect.DeepEqual(g, want) {
			t.Errorf("round trip of %q:\n got %+v\nwant %+v", m.ID, g, want)
		}
	}
}

func TestWriteNewerCollectionWins(t *testing.T) {
	ctx := testCtx(t)
	st := openStore(t)
	base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	old := sampleMentions(1, base)[0]
	fresh := *old
	fresh.CollectedAt = old.CollectedAt.Add(time.Minute)
	fresh.Engagement.Likes = 999
	// fresh first, then the old snapshot is redelivered late: fresh must stay.
	for _, m := range []*pipeline.Mention{old, &fresh, old} {
		if err := st.Write(ctx, []*pipeline.Mention{m}); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if got := readMentions(t, st)[old.ID]; got == nil || got.Engagement.Likes != 999 {
		t.Fatalf("after old, fresh, old: likes = %+v; want 999 (the latest collection)", got)
	}
	if got := queryUint(t, st, "SELECT count() FROM $db.mentions FINAL"); got != 1 {
		t.Errorf("count() FINAL = %d; want 1", got)
	}
}

func TestWriteInvalidMentions(t *testing.T) {
	base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		mutate func(m *pipeline.Mention) *pipeline.Mention
		want   string
	}{
		{"nil", func(*pipeline.Mention) *pipeline.Mention { return nil }, "nil mention"},
		{"no id", func(m *pipeline.Mention) *pipeline.Mention { m.ID = ""; return m }, "empty id"},
		{"no platform", func(m *pipeline.Mention) *pipeline.Mention { m.Platform = ""; return m }, "empty platform"},
		{"before 1970", func(m *pipeline.Mention) *pipeline.Mention {
			m.CreatedAt = time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)
			return m
		}, "created_at 1969-12-31T00:00:00Z outside"},
		{"zero time", func(m *pipeline.Mention) *pipeline.Mention { m.CollectedAt = time.Time{}; return m }, "collected_at 0001-01-01T00:00:00Z outside"},
		{"after 2106", func(m *pipeline.Mention) *pipeline.Mention { m.CreatedAt = time.Unix(math.MaxUint32+1, 0); return m }, "created_at 2106-02-07T06:28:16Z outside"},
		{"NaN sentiment", func(m *pipeline.Mention) *pipeline.Mention {
			m.Enrichment.Sentiment = &pipeline.Sentiment{Score: math.NaN(), Label: "positive"}
			return m
		}, "sentiment score NaN is not finite"},
		{"schema 300", func(m *pipeline.Mention) *pipeline.Mention { m.Schema = 300; return m }, "schema 300 out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			st := openStore(t)
			ms := sampleMentions(3, base)
			bad := tt.mutate(ms[1])
			ms[1] = bad
			err := st.Write(ctx, ms)
			var inv *clickhouse.InvalidError
			if !errors.As(err, &inv) || !errors.Is(err, clickhouse.ErrInvalidMention) {
				t.Fatalf("Write(%s) = %v; want an *InvalidError", tt.name, err)
			}
			if clickhouse.Retryable(err) {
				t.Errorf("Retryable(%v) = true; want false", err)
			}
			if len(inv.Invalid) != 1 || inv.Invalid[0].Index != 1 || !strings.Contains(inv.Invalid[0].Err.Error(), tt.want) {
				t.Errorf("Write(%s).Invalid = %+v; want index 1 with %q", tt.name, inv.Invalid, tt.want)
			}
			// The valid mentions were written, the invalid one was not.
			if got := queryUint(t, st, "SELECT count() FROM $db.mentions FINAL"); got != 2 {
				t.Errorf("count() FINAL after Write(%s) = %d; want 2", tt.name, got)
			}
		})
	}
}

func TestWriteAllInvalidSendsNothing(t *testing.T) {
	ctx := testCtx(t)
	st := openStore(t)
	err := st.Write(ctx, []*pipeline.Mention{nil, {ID: "x"}})
	var inv *clickhouse.InvalidError
	if !errors.As(err, &inv) || len(inv.Invalid) != 2 {
		t.Fatalf("Write(all invalid) = %v; want 2 invalid", err)
	}
	if err := st.Write(ctx, nil); err != nil {
		t.Errorf("Write(nil) = %v; want nil", err)
	}
	if got := queryUint(t, st, "SELECT count() FROM $db.mentions"); got != 0 {
		t.Errorf("count() = %d; want 0", got)
	}
}

func TestWriteHugeValues(t *testing.T) {
	ctx := testCtx(t)
	st := openStore(t)
	m := sampleMentions(1, time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))[0]
	m.Text = strings.Repeat("ünïcødé 📱 ", 1<<20/16) // ~1 MiB, above pipeline.MaxTextBytes: the sink stores what it gets
	m.Enrichment.Topics = make([]string, 10000)
	for i := range m.Enrichment.Topics {
		m.Enrichment.Topics[i] = fmt.Sprintf("topic-%d", i)
	}
	m.Enrichment.Versions = map[string]string{}
	for i := range 100 {
		m.Enrichment.Versions[fmt.Sprintf("stage%03d", i)] = strings.Repeat("v", i)
	}
	if err := st.Write(ctx, []*pipeline.Mention{m}); err != nil {
		t.Fatalf("Write(huge): %v", err)
	}
	got := readMentions(t, st)[m.ID]
	if got == nil || got.Text != m.Text || !slices.Equal(got.Enrichment.Topics, m.Enrichment.Topics) ||
		!maps.Equal(got.Enrichment.Versions, m.Enrichment.Versions) {
		t.Fatalf("huge mention did not round-trip (text %d bytes)", len(m.Text))
	}
}

func TestAlertRoundTrip(t *testing.T) {
	ctx := testCtx(t)
	st := openStore(t)
	a := clickhouse.Alert{
		ID: "spike:acme:twitter:1", Topic: "acme", Platform: "twitter", Kind: clickhouse.AlertSpike,
		StartedAt:  time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC),
		DetectedAt: time.Date(2026, 5, 1, 10, 5, 30, 0, time.UTC),
		Window:     5 * time.Minute, Observed: 120, Baseline: 10.5, Score: 8.25, NegativeShare: 0.6,
		Explanation: []byte(`{"rule":"z>4","note":"ça"}`),
		SampleIDs:   []string{"twitter:1", "twitter:2"},
	}
	if err := st.WriteAlert(ctx, a); err != nil {
		t.Fatalf("WriteAlert: %v", err)
	}
	a.Observed, a.Score = 150, 9.5 // the detector rewrites the alert as it grows
	for range 2 {
		if err := st.WriteAlert(ctx, a); err != nil {
			t.Fatalf("WriteAlert again: %v", err)
		}
	}
	// A second write can land in the same second as the first; ingested_at
	// ties keep the last insert, which is the one wanted.
	rows, err := st.Conn().Query(ctx, "SELECT id, topic, platform, kind, started_at, detected_at, window_seconds, observed, "+
		"baseline, score, negative_share, explanation, sample_ids FROM `"+st.Database()+"`.alerts_dedup")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []clickhouse.Alert
	for rows.Next() {
		var g clickhouse.Alert
		var win uint32
		var expl string
		if err := rows.Scan(&g.ID, &g.Topic, &g.Platform, &g.Kind, &g.StartedAt, &g.DetectedAt, &win, &g.Observed,
			&g.Baseline, &g.Score, &g.NegativeShare, &expl, &g.SampleIDs); err != nil {
			t.Fatal(err)
		}
		g.Window, g.Explanation = time.Duration(win)*time.Second, []byte(expl)
		g.StartedAt, g.DetectedAt = g.StartedAt.UTC(), g.DetectedAt.UTC()
		got = append(got, g)
	}
	if len(got) != 1 || !reflect.DeepEqual(got[0], a) {
		t.Fatalf("alerts_dedup = %+v; want [%+v]", got, a)
	}

	bad := a
	bad.Kind, bad.Explanation, bad.Score = "boom", []byte("{"), math.Inf(1)
	err = st.WriteAlert(ctx, bad)
	if !errors.Is(err, clickhouse.ErrInvalidAlert) || !strings.Contains(err.Error(), `kind "boom"`) ||
		!strings.Contains(err.Error(), "explanation is not valid JSON") || !strings.Contains(err.Error(), "score +Inf") {
		t.Errorf("WriteAlert(invalid) = %v; want ErrInvalidAlert naming kind, explanation and score", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := testCtx(t)
	cfg := chtest.NewDatabase(t)
	t.Setenv("EARSHOT_TEST_WRONG_PASSWORD", "wrong")
	wrong := cfg
	wrong.Password = pipeline.SecretRef{Env: "EARSHOT_TEST_WRONG_PASSWORD"}
	_, err := clickhouse.Open(ctx, wrong)
	if err == nil || clickhouse.Retryable(err) || !errors.Is(err, clickhouse.ErrRejected) {
		t.Errorf("Open(wrong password) = %v; want a non-retryable ErrRejected", err)
	}

	closed := cfg
	closed.Addr = "127.0.0.1:1"
	closed.DialTimeout = 2 * time.Second
	_, err = clickhouse.Open(ctx, closed)
	if err == nil || !clickhouse.Retryable(err) {
		t.Errorf("Open(closed port) = %v; want a retryable ErrUnavailable", err)
	}

	unset := cfg
	unset.Password = pipeline.SecretRef{Env: "EARSHOT_TEST_UNSET_VARIABLE"}
	_, err = clickhouse.Open(ctx, unset)
	if err == nil || !strings.Contains(err.Error(), "EARSHOT_TEST_UNSET_VARIABLE is not set") {
		t.Errorf("Open(unset password variable) = %v; want it named", err)
	}

	_, err = clickhouse.Open(ctx, clickhouse.Config{})
	if err == nil || !strings.Contains(err.Error(), "StartLocal") {
		t.Errorf("Open(empty addr) = %v; want a pointer to StartLocal", err)
	}
}
