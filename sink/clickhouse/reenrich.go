package clickhouse

import (
	"context"
	"fmt"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"reflect"
	"strings"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// Reading stored mentions back, for re-enrichment (earshot reenrich).

// Key is a position in the order ReadLive reads: created_at, platform, id.
type Key struct {
	CreatedAt time.Time `json:"created_at"`
	Platform  string    `json:"platform"`
	ID        string    `json:"id"`
}

// ReadRange selects the live (not deleted) mentions created in [Since,
// Until), after After (the zero Key: from the start).
type ReadRange struct {
	Since, Until time.Time
	After        Key
}

// storedColumns are the mentionColumns ReadLive reads: all but those the
// writer stamps itself.
func storedColumns() []column {
	var out []column
	for _, c := range mentionColumns {
		switch c.name {
		case "ingested_at", enrichedAtColumn, "deleted":
			continue
		}
		out = append(out, c)
	}
	return out
}

// CountLive returns how many live mentions r selects (After ignored).
func (s *Store) CountLive(ctx context.Context, r ReadRange) (uint64, error) {
	q := "`" + s.db + "`"
	var n uint64
	err := s.conn.QueryRow(ctx, "SELECT count() FROM "+q+".mentions FINAL WHERE created_at >= ? AND created_at < ? AND "+liveFilter(q),
		r.Since.UTC(), r.Until.UTC()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count mentions in %s: %w", s.db, classify(err))
	}
	return n, nil
}

// ReadLive returns up to limit live mentions of r, as stored under FINAL
// (the newest version of each), ordered by created_at, platform, id:
// pass the last one's Key as After to read on. Spans are not stored, so
// they are empty; every other field is as written.
func (s *Store) ReadLive(ctx context.Context, r ReadRange, limit int) ([]*pipeline.Mention, error) {
	q := "`" + s.db + "`"
	query := "SELECT " + columnList(storedColumns()) + " FROM " + q + ".mentions FINAL" +
		" WHERE created_at >= ? AND created_at < ? AND " + liveFilter(q) +
		" AND (created_at > ? OR (created_at = ? AND (platform > ? OR (platform = ? AND id > ?))))" +
		fmt.Sprintf(" ORDER BY created_at, platform, id LIMIT %d", max(limit, 1))
	after := r.After.CreatedAt
	if after.Before(minDateTime) {
		after = minDateTime
	}
	rows, err := s.conn.Query(ctx, query, r.Since.UTC(), r.Until.UTC(), after.UTC(), after.UTC(),
		r.After.Platform, r.After.Platform, r.After.ID)
	if err != nil {
		return nil, fmt.Errorf("read mentions from %s: %w", s.db, classify(err))
	}
	defer rows.Close()
	var out []*pipeline.Mention
	for rows.Next() {
		m, err := scanStored(rows)
		if err != nil {
			return nil, fmt.Errorf("read mentions from %s: %w", s.db, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read mentions from %s: %w", s.db, classify(err))
	}
	return out, nil
}

// scanStored reads one row of storedColumns.
func scanStored(rows driver.Rows) (*pipeline.Mention, error) {
	var (
		m                                     pipeline.Mention
		verified, needsResp, schema, rating   uint8
		answered                              uint8
		langConf, score, sentConf             float32
		label                                 string
		errs, versions                        []string
		edited                                time.Time
		hashtags, mentions, cashtags, links   []string
		domains, emoji, trends, topics        []string
		dupCluster, lang, langDet, langDecl   string
		author                                = &m.Author
		eng                                   = &m.Engagement
		createdAt, collectedAt                time.Time
		followers                             int64
		id, platform, source, kind, url, text string
	)
	err := rows.Scan(&id, &platform, &source, &kind, &url,
		&author.ID, &author.Handle, &author.Name, &followers, &verified,
		&m.Title, &text, &lang, &langDet, &langConf,
		&createdAt, &collectedAt,
		&eng.Likes, &eng.Reposts, &eng.Replies, &eng.Quotes, &eng.Views,
		&m.ParentID, &m.ConversationID, &m.MatchedRule,
		&score, &label,
		&topics, &hashtags, &mentions, &cashtags, &links, &domains, &emoji,
		&dupCluster, &trends, &needsResp,
		&errs, &versions, &schema,
		&langDecl, &sentConf,
		&edited,
		&rating, &answered)
	if err != nil {
		return nil, classify(err)
	}
	m.ID, m.Platform, m.Source, m.Kind, m.URL, m.Text = id, platform, source, kind, url, text
	author.Followers, author.Verified = followers, verified == 1
	m.CreatedAt, m.CollectedAt = createdAt.UTC(), collectedAt.UTC()
	if !edited.After(minDateTime) {
		edited = time.Time{}
	}
	m.EditedAt = edited
	m.Schema, m.Rating, m.Answered, m.Lang = int(schema), int(rating), answered == 1, langDecl
	e := &m.Enrichment
	e.Lang, e.LangDetected, e.LangConfidence = lang, langDet, float64(langConf)
	if label != "" {
		e.Sentiment = &pipeline.Sentiment{Score: float64(score), Label: label, Confidence: float64(sentConf)}
	}
	e.Topics, e.Hashtags, e.Mentions, e.Cashtags = emptyNil(topics), emptyNil(hashtags), emptyNil(mentions), emptyNil(cashtags)
	e.Links, e.Domains, e.Emoji, e.Trends = emptyNil(links), emptyNil(domains), emptyNil(emoji), emptyNil(trends)
	e.DupCluster, e.NeedsResponse = dupCluster, needsResp == 1
	for _, v := range versions {
		stage, ver, _ := strings.Cut(v, "=")
		m.SetVersion(stage, ver)
	}
	for _, s := range errs {
		stage, msg, _ := strings.Cut(s, ": ")
		e.Errors = append(e.Errors, pipeline.StageError{Stage: stage, Error: msg})
	}
	return &m, nil
}

func emptyNil(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// WriteReenriched stores new versions of stored mentions whose enrichment
// was computed at enrichedAt (one attempt; see Write for errors and
// retries). Their collected_at is unchanged, so each replaces its stored
// version under FINAL as the row inserted last, while a newer collection
// or a tombstone still outranks it.
func (s *Store) WriteReenriched(ctx context.Context, batch []*pipeline.Mention, enrichedAt time.Time) error {
	if len(batch) == 0 {
		return nil
	}
	for i, m := range batch {
		if err := checkMention(m); err != nil {
			return fmt.Errorf("write re-enriched mention %d %q: %w: %w", i, m.ID, ErrInvalidMention, err)
		}
		if m.Deleted {
			return fmt.Errorf("write re-enriched mention %d %q: a tombstone is never re-enriched: %w", i, m.ID, ErrInvalidMention)
		}
	}
	return s.insertVersions(ctx, "mentions", batch, enrichedAt)
}

// SameStoredRow reports whether a and b would be stored as the same row
// (same values in every column but the ones the writer stamps), so a
// re-enrichment that changes nothing writes nothing.
func SameStoredRow(a, b *pipeline.Mention) bool {
	ra, rb := mentionRow(a, time.Time{}), mentionRow(b, time.Time{})
	for i := range ra {
		if ta, ok := ra[i].(time.Time); ok {
			if tb, ok := rb[i].(time.Time); !ok || !ta.Equal(tb) {
				return false
			}
			continue
		}
		if !reflect.DeepEqual(ra[i], rb[i]) {
			return false
		}
	}
	return true
}
