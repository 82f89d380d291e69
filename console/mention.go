package console

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/earshot-dev/earshot/pipeline"
)

// mentionCols are the columns a mention view and the matcher need, in
// the order scanMention reads them. A constant: no user string reaches SQL.
const mentionCols = "id, platform, kind, url, author_handle, author_name, author_followers, title, text, lang, " +
	"lang_detected, created_at, likes, reposts, replies, sentiment, sentiment_label, topics, hashtags, mentions, cashtags, domains, needs_response"

// row is one stored mention.
type row struct {
	pipeline.Mention
	needsResponse uint8
	sentiment     float32
	label         string
}

func scanMention(rows driver.Rows) (*row, error) {
	r := &row{}
	m := &r.Mention
	var likes, reposts, replies int64
	err := rows.Scan(&m.ID, &m.Platform, &m.Kind, &m.URL, &m.Author.Handle, &m.Author.Name, &m.Author.Followers,
		&m.Title, &m.Text, &m.Lang, &m.Enrichment.Lang, &m.CreatedAt, &likes, &reposts, &replies,
		&r.sentiment, &r.label, &m.Enrichment.Topics, &m.Enrichment.Hashtags, &m.Enrichment.Mentions,
		&m.Enrichment.Cashtags, &m.Enrichment.Domains, &r.needsResponse)
	if err != nil {
		return nil, fmt.Errorf("read mention: %w", err)
	}
	m.Engagement = pipeline.Engagement{Likes: likes, Reposts: reposts, Replies: replies}
	m.CreatedAt = m.CreatedAt.UTC()
	return r, nil
}

// segment is a run of a field's text, hit when a topic query matched it.
type segment struct {
	T   string `json:"t"`
	Hit bool   `json:"hit,omitempty"`
}

// mentionView is a mention as the page shows it.
type mentionView struct {
	ID            string    `json:"id"`
	Platform      string    `json:"platform"`
	Kind          string    `json:"kind"`
	URL           string    `json:"url"`
	Author        string    `json:"author"`
	AuthorName    string    `json:"author_name"`
	Followers     int64     `json:"followers"`
	Title         []segment `json:"title"`
	Text          []segment `json:"text"`
	Lang          string    `json:"lang"`
	CreatedAt     time.Time `json:"created_at"`
	Engagement    int64     `json:"engagement"`
	Sentiment     float32   `json:"sentiment"`
	Label         string    `json:"label"`
	Topics        []string  `json:"topics"`
	Matched       []string  `json:"matched,omitempty"`
	NeedsResponse bool      `json:"needs_response"`
}

// view highlights the words m's topic queries matched, using matcher (the
// configured topics, or a search query).
func (r *row) view(matcher Matcher) mentionView {
	m := &r.Mention
	lang := m.Enrichment.Lang
	if lang == "" {
		lang = m.Lang
	}
	v := mentionView{ID: m.ID, Platform: m.Platform, Kind: m.Kind, URL: safeURL(m.URL), Author: m.Author.Handle,
		AuthorName: m.Author.Name, Followers: m.Author.Followers, Lang: lang, CreatedAt: m.CreatedAt,
		Engagement: m.Engagement.Likes + m.Engagement.Reposts + m.Engagement.Replies,
		Sentiment:  r.sentiment, Label: r.label, Topics: nonNil(m.Enrichment.Topics), NeedsResponse: r.needsResponse != 0}
	var spans []pipeline.Span
	if matcher != nil {
		v.Matched, spans = matcher.Match(m)
	}
	v.Title = segments(m.Title, spans, "title")
	v.Text = segments(m.Text, spans, "text")
	return v
}

// safeURL keeps http(s) links only, so a stored javascript: URL never
// becomes a link.
func safeURL(u string) string {
	l := strings.ToLower(u)
	if strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") {
		return u
	}
	return ""
}

// segments cuts text at the spans of one field (byte offsets, possibly
// overlapping).
func segments(text string, spans []pipeline.Span, field string) []segment {
	type iv struct{ a, b int }
	var ivs []iv
	for _, sp := range spans {
		if sp.Field == field && sp.Start >= 0 && sp.End <= len(text) && sp.Start < sp.End {
			ivs = append(ivs, iv{sp.Start, sp.End})
		}
	}
	if text == "" {
		return []segment{}
	}
	slices.SortFunc(ivs, func(x, y iv) int { return x.a - y.a })
	var out []segment
	pos := 0
	for _, x := range ivs {
		if x.b <= pos {
			continue
		}
		if x.a > pos {
			out = append(out, segment{T: text[pos:x.a]})
		} else {
			x.a = pos
		}
		out = append(out, segment{T: text[x.a:x.b], Hit: true})
		pos = x.b
	}
	if pos < len(text) {
		out = append(out, segment{T: text[pos:]})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// mentionsByID loads mentions by id, in the order of ids. The platform of
// each id (platforms[i] for ids[i]), when known, turns the read into
// lookups of the table's primary key (platform, id) instead of a scan of
// every id.
func (s *Server) mentionsByID(ctx context.Context, ids []string, platforms ...string) ([]*row, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	set := make([]any, len(ids))
	for i, id := range ids {
		set[i] = id
		if len(platforms) == len(ids) {
			set[i] = ch.GroupSet{Value: []any{platforms[i], id}}
		}
	}
	where, args := "id IN ?", []any{ch.GroupSet{Value: set}}
	if len(platforms) == len(ids) {
		where = "(platform, id) IN ?"
	}
	// The newest copy of each: what FINAL keeps, without FINAL's full read
	// of every column.
	rows, err := s.store.Conn().Query(ctx, "SELECT "+mentionCols+" FROM "+s.table("mentions")+
		" WHERE "+where+" ORDER BY id, collected_at DESC LIMIT 1 BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("mentions by id: %w", err)
	}
	defer rows.Close()
	byID := map[string]*row{}
	for rows.Next() {
		r, err := scanMention(rows)
		if err != nil {
			return nil, err
		}
		byID[r.ID] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mentions by id: %w", err)
	}
	out := make([]*row, 0, len(ids))
	for _, id := range ids {
		if r, ok := byID[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// table qualifies one of earshot's own table names (constants only).
func (s *Server) table(name string) string { return "`" + s.db + "`." + name }
