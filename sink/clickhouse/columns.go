package clickhouse

import (
	"fmt"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// Column-wise values of the mentions table without boxing.
//
// Write appends each column as one typed slice. mentionRow (the row path,
// used by SameStoredRow and the benchmarks' baseline) boxes every cell in
// an any, about 40 allocations per mention; columnBuilders read the same
// values straight into the typed slices. Both come from mentionValues, so
// they cannot disagree (TestColumnsMatchRows also compares them on real
// texts).

// stamps are the values a write stamps on every row of a batch.
type stamps struct {
	ingested   time.Time
	enrichedAt int64 // Unix ms
}

// mentionValue reads one column's value from a mention; exactly one
// field is set, by the column's Go type.
type mentionValue struct {
	str func(*pipeline.Mention, *stamps) string
	i64 func(*pipeline.Mention, *stamps) int64
	u8  func(*pipeline.Mention, *stamps) uint8
	f32 func(*pipeline.Mention, *stamps) float32
	tm  func(*pipeline.Mention, *stamps) time.Time
	arr func(*pipeline.Mention, *stamps) []string
}

func sentimentOf(m *pipeline.Mention) (score float32, label string, conf float32) {
	if s := m.Enrichment.Sentiment; s != nil {
		return float32(s.Score), s.Label, float32(s.Confidence)
	}
	return 0, "", 0
}

// mentionValues reads each column of mentionColumns, by name.
var mentionValues = map[string]mentionValue{
	"id":               {str: func(m *pipeline.Mention, _ *stamps) string { return m.ID }},
	"platform":         {str: func(m *pipeline.Mention, _ *stamps) string { return m.Platform }},
	"source":           {str: func(m *pipeline.Mention, _ *stamps) string { return m.Source }},
	"kind":             {str: func(m *pipeline.Mention, _ *stamps) string { return m.Kind }},
	"url":              {str: func(m *pipeline.Mention, _ *stamps) string { return m.URL }},
	"author_id":        {str: func(m *pipeline.Mention, _ *stamps) string { return m.Author.ID }},
	"author_handle":    {str: func(m *pipeline.Mention, _ *stamps) string { return m.Author.Handle }},
	"author_name":      {str: func(m *pipeline.Mention, _ *stamps) string { return m.Author.Name }},
	"author_followers": {i64: func(m *pipeline.Mention, _ *stamps) int64 { return m.Author.Followers }},
	"author_verified":  {u8: func(m *pipeline.Mention, _ *stamps) uint8 { return boolUint8(m.Author.Verified) }},
	"title":            {str: func(m *pipeline.Mention, _ *stamps) string { return m.Title }},
	"text":             {str: func(m *pipeline.Mention, _ *stamps) string { return m.Text }},
	"lang":             {str: func(m *pipeline.Mention, _ *stamps) string { return m.Enrichment.Lang }},
	"lang_detected":    {str: func(m *pipeline.Mention, _ *stamps) string { return m.Enrichment.LangDetected }},
	"lang_confidence":  {f32: func(m *pipeline.Mention, _ *stamps) float32 { return float32(m.Enrichment.LangConfidence) }},
	"created_at":       {tm: func(m *pipeline.Mention, _ *stamps) time.Time { return m.CreatedAt }},
	// collected_at is the ReplacingMergeTree version. A tombstone takes
	// the largest DateTime so it outranks every version of its post,
	// including one collected after the deletion arrived (a poll that
	// fills a gap, a redelivery): a deleted post is never resurrected. The
	// deletion's own time is in ingested_at.
	"collected_at": {tm: func(m *pipeline.Mention, _ *stamps) time.Time {
		if m.Deleted {
			return maxDateTime
		}
		return m.CollectedAt
	}},
	"ingested_at":     {tm: func(_ *pipeline.Mention, s *stamps) time.Time { return s.ingested }},
	"likes":           {i64: func(m *pipeline.Mention, _ *stamps) int64 { return m.Engagement.Likes }},
	"reposts":         {i64: func(m *pipeline.Mention, _ *stamps) int64 { return m.Engagement.Reposts }},
	"replies":         {i64: func(m *pipeline.Mention, _ *stamps) int64 { return m.Engagement.Replies }},
	"quotes":          {i64: func(m *pipeline.Mention, _ *stamps) int64 { return m.Engagement.Quotes }},
	"views":           {i64: func(m *pipeline.Mention, _ *stamps) int64 { return m.Engagement.Views }},
	"parent_id":       {str: func(m *pipeline.Mention, _ *stamps) string { return m.ParentID }},
	"conversation_id": {str: func(m *pipeline.Mention, _ *stamps) string { return m.ConversationID }},
	"matched_rule":    {str: func(m *pipeline.Mention, _ *stamps) string { return m.MatchedRule }},
	"sentiment": {f32: func(m *pipeline.Mention, _ *stamps) float32 {
		score, _, _ := sentimentOf(m)
		return score
	}},
	"sentiment_label": {str: func(m *pipeline.Mention, _ *stamps) string {
		_, label, _ := sentimentOf(m)
		return label
	}},
	"topics":         {arr: func(m *pipeline.Mention, _ *stamps) []string { return nonNil(m.Enrichment.Topics) }},
	"hashtags":       {arr: func(m *pipeline.Mention, _ *stamps) []string { return nonNil(m.Enrichment.Hashtags) }},
	"mentions":       {arr: func(m *pipeline.Mention, _ *stamps) []string { return nonNil(m.Enrichment.Mentions) }},
	"cashtags":       {arr: func(m *pipeline.Mention, _ *stamps) []string { return nonNil(m.Enrichment.Cashtags) }},
	"links":          {arr: func(m *pipeline.Mention, _ *stamps) []string { return nonNil(m.Enrichment.Links) }},
	"domains":        {arr: func(m *pipeline.Mention, _ *stamps) []string { return nonNil(m.Enrichment.Domains) }},
	"emoji":          {arr: func(m *pipeline.Mention, _ *stamps) []string { return nonNil(m.Enrichment.Emoji) }},
	"dup_cluster":    {str: func(m *pipeline.Mention, _ *stamps) string { return m.Enrichment.DupCluster }},
	"trends":         {arr: func(m *pipeline.Mention, _ *stamps) []string { return nonNil(m.Enrichment.Trends) }},
	"needs_response": {u8: func(m *pipeline.Mention, _ *stamps) uint8 { return boolUint8(m.Enrichment.NeedsResponse) }},
	"enrich_errors":  {arr: func(m *pipeline.Mention, _ *stamps) []string { return errorList(m.Enrichment.Errors) }},
	"versions":       {arr: func(m *pipeline.Mention, _ *stamps) []string { return versionList(m.Enrichment.Versions) }},
	"schema":         {u8: func(m *pipeline.Mention, _ *stamps) uint8 { return uint8(m.Schema) }},
	"lang_declared":  {str: func(m *pipeline.Mention, _ *stamps) string { return m.Lang }},
	"sentiment_confidence": {f32: func(m *pipeline.Mention, _ *stamps) float32 {
		_, _, conf := sentimentOf(m)
		return conf
	}},
	"deleted": {u8: func(m *pipeline.Mention, _ *stamps) uint8 { return boolUint8(m.Deleted) }},
	"edited_at": {tm: func(m *pipeline.Mention, _ *stamps) time.Time {
		if m.EditedAt.IsZero() {
			return minDateTime
		}
		return m.EditedAt
	}},
	"rating":      {u8: func(m *pipeline.Mention, _ *stamps) uint8 { return ratingUint8(m.Rating) }},
	"answered":    {u8: func(m *pipeline.Mention, _ *stamps) uint8 { return boolUint8(m.Answered) }},
	"enriched_at": {i64: func(_ *pipeline.Mention, s *stamps) int64 { return s.enrichedAt }},
}

// mentionReaders is mentionValues in mentionColumns order; init checks
// that every column has a reader of its type.
var mentionReaders = func() []mentionValue {
	want := map[string]func(mentionValue) bool{
		"String":        func(v mentionValue) bool { return v.str != nil },
		"Int64":         func(v mentionValue) bool { return v.i64 != nil },
		"UInt8":         func(v mentionValue) bool { return v.u8 != nil },
		"Float32":       func(v mentionValue) bool { return v.f32 != nil },
		dateTime:        func(v mentionValue) bool { return v.tm != nil },
		"Array(String)": func(v mentionValue) bool { return v.arr != nil },
	}
	out := make([]mentionValue, len(mentionColumns))
	for i, c := range mentionColumns {
		v, ok := mentionValues[c.name]
		if !ok {
			panic("clickhouse: no reader for mentions column " + c.name)
		}
		if is := want[c.typ]; is == nil || !is(v) {
			panic(fmt.Sprintf("clickhouse: the reader of mentions column %s does not give a %s", c.name, c.typ))
		}
		out[i] = v
	}
	return out
}()

// box returns the column's value for m as an any (the row path).
func (v mentionValue) box(m *pipeline.Mention, s *stamps) any {
	switch {
	case v.str != nil:
		return v.str(m, s)
	case v.i64 != nil:
		return v.i64(m, s)
	case v.u8 != nil:
		return v.u8(m, s)
	case v.f32 != nil:
		return v.f32(m, s)
	case v.tm != nil:
		return v.tm(m, s)
	default:
		return v.arr(m, s)
	}
}

// column returns the column's values for ms as one typed slice.
func (v mentionValue) column(ms []*pipeline.Mention, s *stamps) any {
	switch {
	case v.str != nil:
		return fill(ms, s, v.str)
	case v.i64 != nil:
		return fill(ms, s, v.i64)
	case v.u8 != nil:
		return fill(ms, s, v.u8)
	case v.f32 != nil:
		return fill(ms, s, v.f32)
	case v.tm != nil:
		return fill(ms, s, v.tm)
	default:
		return fill(ms, s, v.arr)
	}
}

func fill[T any](ms []*pipeline.Mention, s *stamps, f func(*pipeline.Mention, *stamps) T) []T {
	out := make([]T, len(ms))
	for i, m := range ms {
		out[i] = f(m, s)
	}
	return out
}
