package clickhouse

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/earshot-dev/earshot/pipeline"
)

// DateTime (unsigned 32-bit seconds) holds 1970-01-01 … 2106-02-07.
var (
	minDateTime = time.Unix(0, 0).UTC()
	maxDateTime = time.Unix(math.MaxUint32, 0).UTC()
)

// InvalidError lists the mentions of a batch that Write refused before
// sending, by index in the batch. The other mentions were written: a runner
// acks those and dead-letters these. It wraps ErrInvalidMention.
type InvalidError struct {
	Invalid []Invalid
}

// Invalid is one refused mention.
type Invalid struct {
	Index int    // in the batch passed to Write
	ID    string // may be empty
	Err   error
}

func (e *InvalidError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d invalid mentions not written:", len(e.Invalid))
	for i, inv := range e.Invalid {
		if i == 5 {
			fmt.Fprintf(&b, " … and %d more", len(e.Invalid)-5)
			break
		}
		fmt.Fprintf(&b, " [%d] %q: %v;", inv.Index, inv.ID, inv.Err)
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Unwrap makes errors.Is(err, ErrInvalidMention) hold.
func (e *InvalidError) Unwrap() error { return ErrInvalidMention }

// Rejections lists the refused mentions for the sink runner, which
// dead-letters them and acknowledges the rest (pipeline.PartialWrite).
func (e *InvalidError) Rejections() []pipeline.Rejection {
	out := make([]pipeline.Rejection, len(e.Invalid))
	for i, inv := range e.Invalid {
		out[i] = pipeline.Rejection{Index: inv.Index, Reason: inv.Err.Error()}
	}
	return out
}

var _ pipeline.PartialWrite = (*InvalidError)(nil)

// Write stores the batch in one INSERT: PrepareBatch, Append per mention,
// Send. It makes one attempt; the caller retries with backoff when
// Retryable(err). A Send that failed may still have been committed by the
// server, so a retry may insert rows twice: the table deduplicates by id and
// every query reads through FINAL, so no result changes.
//
// Mentions that cannot be stored (nil, no id or platform, a timestamp
// outside DateTime's range, a non-finite sentiment, …) are not sent; the
// others are, and Write then returns an *InvalidError naming the refused
// ones (errors.Is(err, ErrInvalidMention)).
func (s *Store) Write(ctx context.Context, batch []*pipeline.Mention) error {
	if len(batch) == 0 {
		return nil
	}
	var invalid []Invalid
	valid := batch
	for i, m := range batch {
		if err := checkMention(m); err != nil {
			if invalid == nil {
				valid = make([]*pipeline.Mention, 0, len(batch))
				valid = append(valid, batch[:i]...)
			}
			id := ""
			if m != nil {
				id = m.ID
			}
			invalid = append(invalid, Invalid{Index: i, ID: id, Err: err})
			continue
		}
		if invalid != nil {
			valid = append(valid, m)
		}
	}
	if len(valid) > 0 {
		if err := s.insertMentions(ctx, valid); err != nil {
			return err
		}
	}
	if invalid != nil {
		return &InvalidError{Invalid: invalid}
	}
	return nil
}

func (s *Store) insertMentions(ctx context.Context, ms []*pipeline.Mention) error {
	return s.insertMentionsInto(ctx, "mentions", ms)
}

// insertMentionsInto writes to table: mentions (on a cluster, the
// Distributed table, which routes each row to the shard owning its id).
func (s *Store) insertMentionsInto(ctx context.Context, table string, ms []*pipeline.Mention) error {
	return s.insertVersions(ctx, table, ms, time.Time{})
}

// insertVersions writes ms to table with enriched_at = enrichedAt, or the
// write's own time when enrichedAt is zero.
func (s *Store) insertVersions(ctx context.Context, table string, ms []*pipeline.Mention, enrichedAt time.Time) error {
	key := batchHash(ms)
	ingested := s.retries.stamp(key, s.now()) // the same on a retry: see retry.go
	b, err := s.conn.PrepareBatch(s.insertContext(ctx, key), "INSERT INTO `"+s.db+"`.`"+table+"` ("+columnList(mentionColumns)+")")
	if err != nil {
		return fmt.Errorf("write %d mentions to %s.mentions: prepare: %w", len(ms), s.db, classify(err))
	}
	defer b.Close()
	// Column-wise: each column gets one typed slice and one Append, read
	// straight from the mentions (columns.go), instead of one boxed value
	// per cell through the row path.
	st := stamps{ingested: ingested, enrichedAt: ingested.UnixMilli()}
	if !enrichedAt.IsZero() {
		st.enrichedAt = enrichedAt.UnixMilli()
	}
	for j, r := range mentionReaders {
		if err := b.Column(j).Append(r.column(ms, &st)); err != nil {
			return fmt.Errorf("write %d mentions to %s.mentions: append column %s: %w", len(ms), s.db,
				mentionColumns[j].name, fmt.Errorf("%w: %w", ErrRejected, err))
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("write %d mentions to %s.mentions: send (may have been committed): %w", len(ms), s.db, classify(err))
	}
	return nil
}

// insertContext adds the insert settings: on a cluster, Distributed
// inserts are synchronous (acknowledged only once every shard stored its
// rows, so an acknowledged batch is on a replica, not in a node's queue);
// on servers that have it, the batch's deduplication token (retry.go).
func (s *Store) insertContext(ctx context.Context, key uint64) context.Context {
	set := ch.Settings{}
	if s.cluster != "" {
		set["insert_distributed_sync"] = 1
	}
	if s.dedupToken && key != 0 {
		set["insert_deduplication_token"] = dedupToken(key)
	}
	if len(set) == 0 {
		return ctx
	}
	return ch.Context(ctx, ch.WithSettings(set))
}

// mentionRow returns the values of one row, in mentionColumns order
// (boxed: the row path; Write appends typed columns).
func mentionRow(m *pipeline.Mention, ingested time.Time) []any {
	st := stamps{ingested: ingested, enrichedAt: ingested.UnixMilli()}
	row := make([]any, len(mentionReaders))
	for j, r := range mentionReaders {
		row[j] = r.box(m, &st)
	}
	return row
}

func (s *Store) mentionsInsert() string {
	return "INSERT INTO `" + s.db + "`.mentions (" + columnList(mentionColumns) + ")"
}

// checkMention reports why m cannot be stored, if it cannot.
func checkMention(m *pipeline.Mention) error {
	if m == nil {
		return errors.New("nil mention")
	}
	var probs []string
	if m.ID == "" {
		probs = append(probs, "empty id")
	}
	if m.Platform == "" {
		probs = append(probs, "empty platform")
	}
	if m.Schema < 0 || m.Schema > math.MaxUint8 {
		probs = append(probs, fmt.Sprintf("schema %d out of range", m.Schema))
	}
	for _, t := range []struct {
		name string
		v    time.Time
	}{{"created_at", m.CreatedAt}, {"collected_at", m.CollectedAt}, {"edited_at", m.EditedAt}} {
		if t.name == "edited_at" && t.v.IsZero() {
			continue // never edited
		}
		if t.v.Before(minDateTime) || t.v.After(maxDateTime) {
			probs = append(probs, fmt.Sprintf("%s %s outside %s…%s", t.name,
				t.v.UTC().Format(time.RFC3339), minDateTime.Format(time.DateOnly), maxDateTime.Format(time.DateOnly)))
		}
	}
	if m.Rating < 0 || m.Rating > 5 {
		probs = append(probs, fmt.Sprintf("rating %d outside 0 (none) to 5", m.Rating))
	}
	if s := m.Enrichment.Sentiment; s != nil && (math.IsNaN(s.Score) || math.IsInf(s.Score, 0)) {
		probs = append(probs, fmt.Sprintf("sentiment score %v is not finite", s.Score))
	}
	if s := m.Enrichment.Sentiment; s != nil && (math.IsNaN(s.Confidence) || math.IsInf(s.Confidence, 0)) {
		probs = append(probs, fmt.Sprintf("sentiment confidence %v is not finite", s.Confidence))
	}
	if c := m.Enrichment.LangConfidence; math.IsNaN(c) || math.IsInf(c, 0) {
		probs = append(probs, fmt.Sprintf("lang confidence %v is not finite", c))
	}
	if len(probs) > 0 {
		return errors.New(strings.Join(probs, ", "))
	}
	return nil
}

// ratingUint8 stores a 1-5 rating; anything else is 0 (not rated).
func ratingUint8(r int) uint8 {
	if r < 1 || r > 5 {
		return 0
	}
	return uint8(r)
}

func boolUint8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// nonNil returns an empty slice for nil (the driver stores both as []).
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// versionList renders the stage versions as sorted "stage=version" strings.
func versionList(v map[string]string) []string {
	out := make([]string, 0, len(v))
	for stage, ver := range v {
		out = append(out, stage+"="+ver)
	}
	slices.Sort(out)
	return out
}

func errorList(errs []pipeline.StageError) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Stage + ": " + e.Error
	}
	return out
}

// Alert kinds.
const (
	AlertSpike         = "spike"
	AlertDrop          = "drop"
	AlertRamp          = "ramp"
	AlertNegativeSurge = "negative_surge"
)

// Alert is one row of the alerts table, written by the spike detector.
type Alert struct {
	ID            string // stable for one alert: a rewrite replaces it
	Topic         string
	Platform      string // "" for all platforms
	Kind          string // AlertSpike, AlertDrop, AlertRamp, AlertNegativeSurge
	StartedAt     time.Time
	DetectedAt    time.Time
	Window        time.Duration // whole seconds
	Observed      float64
	Baseline      float64
	Score         float64
	NegativeShare float64
	Explanation   json.RawMessage // a JSON value; empty stores {}
	SampleIDs     []string
	// The alert's lifecycle (schema version 4).
	Status      string // AlertFiring (default when empty) or AlertResolved
	Severity    string // warning, critical
	EventID     string // id of the alert that opened the event
	FirstBucket time.Time
	LastBucket  time.Time
	Peak        float64
	PeakAt      time.Time
}

// Alert statuses.
const (
	AlertFiring   = "firing"
	AlertResolved = "resolved"
)

func (a *Alert) check() error {
	var probs []string
	if a.ID == "" {
		probs = append(probs, "empty id")
	}
	if a.Topic == "" {
		probs = append(probs, "empty topic")
	}
	switch a.Kind {
	case AlertSpike, AlertDrop, AlertRamp, AlertNegativeSurge:
	default:
		probs = append(probs, fmt.Sprintf("kind %q is not one of spike, drop, ramp, negative_surge", a.Kind))
	}
	switch a.Status {
	case "", AlertFiring, AlertResolved:
	default:
		probs = append(probs, fmt.Sprintf("status %q is not firing or resolved", a.Status))
	}
	for _, t := range []struct {
		name string
		v    time.Time
	}{{"started_at", a.StartedAt}, {"detected_at", a.DetectedAt}} {
		if t.v.Before(minDateTime) || t.v.After(maxDateTime) {
			probs = append(probs, fmt.Sprintf("%s %s outside %s…%s", t.name,
				t.v.UTC().Format(time.RFC3339), minDateTime.Format(time.DateOnly), maxDateTime.Format(time.DateOnly)))
		}
	}
	if a.Window < 0 || a.Window > math.MaxUint32*time.Second || a.Window%time.Second != 0 {
		probs = append(probs, fmt.Sprintf("window %v is not a whole number of seconds in range", a.Window))
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"observed", a.Observed}, {"baseline", a.Baseline}, {"score", a.Score}, {"negative_share", a.NegativeShare}, {"peak", a.Peak}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			probs = append(probs, fmt.Sprintf("%s %v is not finite", f.name, f.v))
		}
	}
	if len(a.Explanation) > 0 && !json.Valid(a.Explanation) {
		probs = append(probs, "explanation is not valid JSON")
	}
	if len(probs) > 0 {
		return fmt.Errorf("alert %q: %s: %w", a.ID, strings.Join(probs, ", "), ErrInvalidAlert)
	}
	return nil
}

// WriteAlert stores one alert, one attempt (see Write for errors and
// retries). Writing the same alert id again replaces it in alerts_dedup.
func (s *Store) WriteAlert(ctx context.Context, a Alert) error {
	if err := a.check(); err != nil {
		return fmt.Errorf("write alert to %s.alerts: %w", s.db, err)
	}
	b, err := s.conn.PrepareBatch(s.insertContext(ctx, 0), "INSERT INTO `"+s.db+"`.alerts ("+columnList(alertColumns)+")")
	if err != nil {
		return fmt.Errorf("write alert %q to %s.alerts: prepare: %w", a.ID, s.db, classify(err))
	}
	defer b.Close()
	expl := string(a.Explanation)
	if expl == "" {
		expl = "{}"
	}
	err = b.Append(a.ID, a.Topic, a.Platform, a.Kind,
		a.StartedAt, a.DetectedAt, s.now().UTC().Truncate(time.Second), uint32(a.Window/time.Second),
		a.Observed, a.Baseline, a.Score, a.NegativeShare, expl, nonNil(a.SampleIDs),
		cmp.Or(a.Status, AlertFiring), a.Severity, a.EventID, dateOrZero(a.FirstBucket), dateOrZero(a.LastBucket), a.Peak, dateOrZero(a.PeakAt))
	if err != nil {
		return fmt.Errorf("write alert %q to %s.alerts: append: %w", a.ID, s.db, fmt.Errorf("%w: %w", ErrRejected, err))
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("write alert %q to %s.alerts: send (may have been committed): %w", a.ID, s.db, classify(err))
	}
	return nil
}

// dateOrZero stores an unset or out-of-range lifecycle time as the epoch
// (what the column holds for alerts written before version 4).
func dateOrZero(t time.Time) time.Time {
	if t.Before(minDateTime) || t.After(maxDateTime) {
		return time.Unix(0, 0).UTC()
	}
	return t.UTC()
}
