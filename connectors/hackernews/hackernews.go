// Package hackernews is earshot's Hacker News connector, `type: hackernews`.
//
// It reads the Hacker News Search API (Algolia): GET /search_by_date for
// every topic query, stories and comments, newer than its cursor
// (numericFilters=created_at_i>…). The cursor is the newest created_at_i
// published and the ids seen in the overlap before it, written after
// JetStream acknowledged the mentions. Published items are re-checked
// through /items/{id} for a while: an edit is re-published as a new
// version of the mention, a deletion (404) as a tombstone.
package hackernews

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/earshot-dev/earshot/connectors/htmltext"
	"github.com/earshot-dev/earshot/connectors/poll"
	"github.com/earshot-dev/earshot/pipeline"
)

func init() {
	pipeline.RegisterConnector("hackernews", New)
}

// Platform is the platform name on every mention.
const Platform = "hackernews"

// Source is a configured hackernews connector.
type Source struct {
	cfg   *settings
	hc    *http.Client
	knobs poll.Knobs
}

var _ pipeline.Source = (*Source)(nil)

type run struct {
	*poll.Runner
	src    *Source
	cfg    *settings
	client *poll.Client
	recent *poll.Recent
}

// Run reads Hacker News until ctx is done. Errors while reading are
// logged, counted and retried with backoff; it returns nil on a clean stop.
func (s *Source) Run(ctx context.Context, env *pipeline.SourceEnv) error {
	pr, err := poll.NewRunner(env, s.knobs, "hackernews", Platform)
	if err != nil {
		return err
	}
	defer s.hc.CloseIdleConnections()
	r := &run{Runner: pr, src: s, cfg: s.cfg, client: poll.NewClient(s.hc, pr, s.cfg.gap, maxResponseBytes)}
	r.client.ErrorMessage = errorMessage
	r.recent = r.LoadRecent(ctx, "recent")
	curs := make([]cursor, len(s.cfg.searches))
	for i, sr := range s.cfg.searches {
		r.LoadJSON(ctx, sr.Key, &curs[i])
	}
	// One loop polls every search in turn, then re-checks when due: the
	// requests are paced one after another anyway, and an outage stops the
	// whole round instead of every search retrying on its own.
	var nextRefresh time.Time
	r.Every(ctx, s.cfg.Interval, "poll", func(ctx context.Context) error {
		for i, sr := range s.cfg.searches {
			if err := r.poll(ctx, sr, &curs[i]); err != nil {
				return fmt.Errorf("search %q: %w", sr.Query, err)
			}
		}
		if s.cfg.Refresh > 0 && !r.Now().Before(nextRefresh) {
			if err := r.refresh(ctx); err != nil {
				return fmt.Errorf("re-check recent items: %w", err)
			}
			nextRefresh = r.Now().Add(s.cfg.RefreshInterval)
		}
		return nil
	})
	return nil
}

type cursor = poll.TimeCursor

// hit is one search result.
type hit struct {
	ObjectID    string   `json:"objectID"`
	CreatedAtI  int64    `json:"created_at_i"`
	Author      string   `json:"author"`
	Title       *string  `json:"title"`
	URL         *string  `json:"url"`
	StoryText   *string  `json:"story_text"`
	CommentText *string  `json:"comment_text"`
	Points      *int64   `json:"points"`
	NumComments *int64   `json:"num_comments"`
	ParentID    *int64   `json:"parent_id"`
	StoryID     *int64   `json:"story_id"`
	Tags        []string `json:"_tags"`
	UpdatedAt   string   `json:"updated_at"`
	oversized   bool
}

func (h *hit) isComment() bool { return slices.Contains(h.Tags, "comment") }

func (h *hit) check() error {
	switch {
	case h.ObjectID == "":
		return errors.New("no objectID")
	case h.CreatedAtI <= 0:
		return fmt.Errorf("%s has no created_at_i", h.ObjectID)
	case !slices.Contains(h.Tags, "story") && !slices.Contains(h.Tags, "comment"):
		return fmt.Errorf("%s is tagged neither story nor comment (%v)", h.ObjectID, h.Tags)
	case h.isComment() && (h.ParentID == nil || h.StoryID == nil):
		return fmt.Errorf("comment %s has no parent_id or story_id", h.ObjectID)
	}
	return nil
}

type page struct {
	hits    []hit
	nbPages int
}

func (r *run) poll(ctx context.Context, sr search, cur *cursor) error {
	var fresh []hit
	seenNow := map[string]bool{}
	newest := cur.At
	for p := 0; p < r.cfg.MaxPages; p++ {
		q := url.Values{"query": {sr.Query}, "tags": {r.cfg.tags}, "hitsPerPage": {strconv.Itoa(hitsPerPage)}, "page": {strconv.Itoa(p)}}
		if cur.At > 0 {
			q.Set("numericFilters", "created_at_i>"+strconv.FormatInt(cur.At-int64(r.cfg.overlap/time.Second)-1, 10))
		}
		pg, err := r.search(ctx, q)
		if err != nil {
			return err
		}
		for _, h := range pg.hits {
			if seenNow[h.ObjectID] {
				continue // shifted to the next page by a newer item
			}
			seenNow[h.ObjectID] = true
			newest = max(newest, h.CreatedAtI)
			if cur.Has(h.ObjectID) {
				continue
			}
			fresh = append(fresh, h)
		}
		if cur.At == 0 || p+1 >= pg.nbPages {
			break
		}
		if p == r.cfg.MaxPages-1 {
			r.Warn("gap", "more new items than max_pages reach; the oldest of them are not read", "query", sr.Query, "pages", r.cfg.MaxPages)
		}
	}
	if len(fresh) == 0 && newest == cur.At {
		return nil
	}
	slices.SortStableFunc(fresh, func(a, b hit) int { return int(a.CreatedAtI - b.CreatedAtI) })
	ms := make([]*pipeline.Mention, 0, len(fresh))
	items := make([]poll.Item, 0, len(fresh))
	for i := range fresh {
		if fresh[i].oversized {
			continue
		}
		m := r.mention(&fresh[i], sr.Rule)
		ms = append(ms, m)
		items = append(items, poll.Item{ID: fresh[i].ObjectID, Created: fresh[i].CreatedAtI, Version: version(m), Rule: sr.Rule})
	}
	if err := r.Publish(ctx, ms); err != nil {
		return nil // ctx ended
	}
	published := make(map[string]int64, len(fresh))
	for _, h := range fresh {
		published[h.ObjectID] = h.CreatedAtI
	}
	next := cur.Advance(published, newest, int64(r.cfg.overlap/time.Second))
	if err := r.SaveJSON(ctx, sr.Key, next); err != nil {
		return err
	}
	*cur = next
	if r.cfg.Refresh > 0 && len(items) > 0 {
		r.recent.Add(items, r.Now().Add(-r.cfg.Refresh), r.cfg.RefreshMax)
		r.recent.Save(ctx, r.Runner)
	}
	return nil
}

// get sends a GET to base_url+path. It returns the body of a 200 and the
// status of a 404.
func (r *run) get(ctx context.Context, path string, q url.Values) ([]byte, int, error) {
	return r.client.Get(ctx, r.cfg.BaseURL, path, q)
}

// errorMessage reads Algolia's error body ({"message": …, "status": 400}).
func errorMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	if e.Message != "" {
		return e.Message
	}
	return e.Error
}

func (r *run) search(ctx context.Context, q url.Values) (*page, error) {
	body, status, err := r.get(ctx, "/search_by_date", q)
	if err != nil {
		return nil, err
	}
	if status == http.StatusNotFound {
		return nil, poll.StatusError("GET /search_by_date", status, "")
	}
	return r.decodeSearch(body)
}

// decodeSearch reads a /search_by_date response body.
func (r *run) decodeSearch(body []byte) (*page, error) {
	var raw struct {
		Hits    []json.RawMessage `json:"hits"`
		NbPages *int              `json:"nbPages"`
	}
	if err := json.Unmarshal(body, &raw); err != nil || raw.NbPages == nil {
		if err == nil {
			err = errors.New("no nbPages")
		}
		return nil, poll.Malformed("GET /search_by_date: not a search result", err)
	}
	pg := &page{nbPages: *raw.NbPages, hits: make([]hit, 0, len(raw.Hits))}
	for i, c := range raw.Hits {
		var h hit
		if len(c) > r.cfg.MaxItemBytes {
			_ = json.Unmarshal(c, &h)
			r.Warn("oversized", "skipping an item larger than max_item_bytes", "index", i, "id", h.ObjectID,
				"bytes", len(c), "max_item_bytes", r.cfg.MaxItemBytes)
			if h.ObjectID == "" || h.CreatedAtI <= 0 {
				continue
			}
			pg.hits = append(pg.hits, hit{ObjectID: h.ObjectID, CreatedAtI: h.CreatedAtI, oversized: true})
			continue
		}
		err := json.Unmarshal(c, &h)
		if err == nil {
			err = h.check()
		}
		if err != nil {
			r.Warn("malformed", "skipping a malformed item", "index", i, "error", err)
			continue
		}
		pg.hits = append(pg.hits, h)
	}
	return pg, nil
}

func mentionID(objectID string) string { return Platform + ":" + objectID }

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func num(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// ItemURL is an item's page on news.ycombinator.com.
func ItemURL(id string) string { return "https://news.ycombinator.com/item?id=" + id }

func (r *run) mention(h *hit, rule string) *pipeline.Mention {
	m := &pipeline.Mention{
		ID:          mentionID(h.ObjectID),
		Platform:    Platform,
		Source:      "news.ycombinator.com",
		Kind:        pipeline.KindPost,
		URL:         ItemURL(h.ObjectID),
		Author:      pipeline.Author{ID: h.Author, Handle: h.Author},
		CreatedAt:   time.Unix(h.CreatedAtI, 0).UTC(),
		CollectedAt: r.Now(),
		Engagement:  pipeline.Engagement{Likes: num(h.Points), Replies: num(h.NumComments)},
		MatchedRule: rule,
	}
	if h.isComment() {
		m.Kind = pipeline.KindComment
		m.Text = htmltext.Text(str(h.CommentText))
		m.ParentID = mentionID(strconv.FormatInt(*h.ParentID, 10))
		m.ConversationID = mentionID(strconv.FormatInt(*h.StoryID, 10))
	} else {
		m.Title = htmltext.PlainText(str(h.Title))
		m.Text = htmltext.Text(str(h.StoryText))
		if m.Text == "" {
			m.Text = str(h.URL) // a link story: its link is what it says
		}
		m.ConversationID = m.ID
	}
	return m
}

// version fingerprints what an edit changes.
func version(m *pipeline.Mention) string {
	sum := sha256.Sum256([]byte(m.Title + "\x00" + m.Text))
	return hex.EncodeToString(sum[:8])
}

// item is GET /items/{id}.
type item struct {
	ID         int64   `json:"id"`
	CreatedAtI int64   `json:"created_at_i"`
	Type       string  `json:"type"`
	Author     *string `json:"author"`
	Title      *string `json:"title"`
	URL        *string `json:"url"`
	Text       *string `json:"text"`
	Points     *int64  `json:"points"`
	ParentID   *int64  `json:"parent_id"`
	StoryID    *int64  `json:"story_id"`
}

// refresh re-checks recently published items: a 404 (or an item without
// author and text, as HN leaves deleted ones) is a deletion, a changed
// text an edit.
func (r *run) refresh(ctx context.Context) error {
	for _, it := range r.recent.Snapshot(r.Now().Add(-r.cfg.Refresh), r.cfg.RefreshMax) {
		body, status, err := r.get(ctx, "/items/"+url.PathEscape(it.ID), nil)
		if err != nil {
			return err
		}
		var m *pipeline.Mention
		var gone, updated []poll.Item
		if status == http.StatusNotFound {
			m = pipeline.Tombstone(Platform, mentionID(it.ID), "news.ycombinator.com", time.Unix(it.Created, 0), r.Now())
			gone = append(gone, it)
		} else {
			var x item
			if err := json.Unmarshal(body, &x); err != nil || x.ID == 0 {
				r.Warn("malformed", "skipping a malformed item", "id", it.ID, "error", err)
				continue
			}
			if x.Author == nil && str(x.Text) == "" && str(x.Title) == "" {
				m = pipeline.Tombstone(Platform, mentionID(it.ID), "news.ycombinator.com", time.Unix(it.Created, 0), r.Now())
				gone = append(gone, it)
			} else {
				h := hit{ObjectID: it.ID, CreatedAtI: x.CreatedAtI, Author: str(x.Author), Title: x.Title, URL: x.URL,
					Points: x.Points, ParentID: x.ParentID, StoryID: x.StoryID, Tags: []string{x.Type}}
				if x.Type == "comment" {
					h.CommentText = x.Text
					if h.ParentID == nil || h.StoryID == nil {
						continue
					}
				} else {
					h.StoryText = x.Text
				}
				em := r.mention(&h, it.Rule)
				if v := version(em); v != it.Version {
					em.EditedAt = r.Now().UTC().Truncate(time.Millisecond)
					m = em
					it.Version = v
					updated = append(updated, it)
				}
			}
		}
		if m == nil {
			continue
		}
		if err := r.Publish(ctx, []*pipeline.Mention{m}); err != nil {
			return nil
		}
		r.recent.Apply(gone, updated)
		r.recent.Save(ctx, r.Runner)
	}
	return nil
}
