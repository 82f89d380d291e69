// Package discourse is earshot's Discourse connector, `type: discourse`:
// branded communities and product forums.
//
// For every configured forum it reads the newest posts across the forum
// from /posts.json, paging back with before= to its cursor (the newest post
// id published), and, with search on, /search.json?q=<query> order:latest
// for every topic query. Topic titles and first posts come from
// /t/{id}.json, cached; a reply's parent post from /posts/by_number,
// cached. Published posts are re-checked through /posts/{id}.json: a new
// version is an edit, a 404 a deletion. It sends Api-Key and Api-Username
// when configured and honours 429 with Retry-After.
package discourse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/earshot-dev/earshot/connectors/htmltext"
	"github.com/earshot-dev/earshot/connectors/poll"
	"github.com/earshot-dev/earshot/pipeline"
)

func init() {
	pipeline.RegisterConnector("discourse", New)
}

// Platform is the platform name on every mention.
const Platform = "discourse"

// Source is a configured discourse connector.
type Source struct {
	cfg   *settings
	hc    *http.Client
	knobs poll.Knobs
}

var _ pipeline.Source = (*Source)(nil)

// forumRun is the state of one forum in one Run.
type forumRun struct {
	*poll.Runner
	src    *Source
	cfg    *settings
	f      forum
	client *poll.Client
	recent *poll.Recent
	topics map[int64]topicInfo
	byNum  map[[2]int64]int64 // (topic, post number) -> post id
}

type topicInfo struct {
	title string
	first int64 // id of post number 1
}

// Run reads every forum until ctx is done.
func (s *Source) Run(ctx context.Context, env *pipeline.SourceEnv) error {
	pr, err := poll.NewRunner(env, s.knobs, "discourse", Platform)
	if err != nil {
		return err
	}
	defer s.hc.CloseIdleConnections()
	g, gctx := errgroup.WithContext(ctx)
	for _, f := range s.cfg.forums {
		g.Go(func() error {
			r := &forumRun{Runner: pr, src: s, cfg: s.cfg, f: f, client: poll.NewClient(s.hc, pr, s.cfg.gap, maxResponseBytes),
				topics: map[int64]topicInfo{}, byNum: map[[2]int64]int64{}}
			r.client.Wait429, r.client.ErrorMessage = wait429, errorMessage
			if !f.key.IsZero() {
				r.client.Header.Set("Api-Key", f.key.Reveal())
				r.client.Header.Set("Api-Username", f.username)
			}
			r.run(gctx)
			return nil
		})
	}
	return g.Wait()
}

type cursor struct {
	Last int64 `json:"last"` // the newest post id published
}

func (r *forumRun) run(ctx context.Context) {
	r.recent = r.LoadRecent(ctx, "recent:"+r.f.host)
	var posts cursor
	r.LoadJSON(ctx, "posts:"+r.f.host, &posts)
	sc := make([]cursor, len(r.cfg.searches))
	for i, s := range r.cfg.searches {
		r.LoadJSON(ctx, s.Key+"@"+r.f.host, &sc[i])
	}
	var nextRefresh time.Time
	r.Every(ctx, r.cfg.Interval, "poll "+r.f.host, func(ctx context.Context) error {
		if r.cfg.latest {
			if err := r.pollPosts(ctx, &posts); err != nil {
				return fmt.Errorf("/posts.json: %w", err)
			}
		}
		for i, s := range r.cfg.searches {
			if err := r.pollSearch(ctx, s, &sc[i]); err != nil {
				return fmt.Errorf("search %q: %w", s.Query, err)
			}
		}
		if r.cfg.Refresh > 0 && !r.Now().Before(nextRefresh) {
			if err := r.refresh(ctx); err != nil {
				return fmt.Errorf("re-check recent posts: %w", err)
			}
			nextRefresh = r.Now().Add(r.cfg.RefreshInterval)
		}
		return nil
	})
}

// post is a post as Discourse serializes it.
type post struct {
	ID                int64     `json:"id"`
	Name              string    `json:"name"`
	Username          string    `json:"username"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
	Cooked            *string   `json:"cooked"`
	PostNumber        int64     `json:"post_number"`
	ReplyToPostNumber *int64    `json:"reply_to_post_number"`
	ReplyCount        int64     `json:"reply_count"`
	Reads             int64     `json:"reads"`
	TopicID           int64     `json:"topic_id"`
	TopicTitle        string    `json:"topic_title"`
	TopicSlug         string    `json:"topic_slug"`
	Version           int       `json:"version"`
	LikeCount         *int64    `json:"like_count"`
	UserDeleted       bool      `json:"user_deleted"`
	DeletedAt         *string   `json:"deleted_at"`
	ActionsSummary    []struct {
		ID    int   `json:"id"`
		Count int64 `json:"count"`
	} `json:"actions_summary"`

	bad bool // too large or malformed: only its id was read
}

func (p *post) check() error {
	switch {
	case p.ID <= 0:
		return errors.New("no id")
	case p.CreatedAt.IsZero():
		return fmt.Errorf("post %d has no created_at", p.ID)
	case p.TopicID <= 0 || p.PostNumber <= 0:
		return fmt.Errorf("post %d has no topic_id or post_number", p.ID)
	case p.Cooked == nil:
		return fmt.Errorf("post %d has no cooked", p.ID)
	}
	return nil
}

func (p *post) likes() int64 {
	if p.LikeCount != nil {
		return *p.LikeCount
	}
	for _, a := range p.ActionsSummary {
		if a.ID == 2 { // like
			return a.Count
		}
	}
	return 0
}

func (p *post) gone() bool { return p.UserDeleted || (p.DeletedAt != nil && *p.DeletedAt != "") }

// decodePost decodes one post, counting a malformed or oversized one.
func (r *forumRun) decodePost(raw json.RawMessage, where string) (post, bool) {
	var p post
	if len(raw) > r.cfg.MaxItemBytes {
		_ = json.Unmarshal(raw, &p)
		r.Warn("oversized", "skipping a post larger than max_item_bytes", "forum", r.f.host, "where", where, "id", p.ID,
			"bytes", len(raw), "max_item_bytes", r.cfg.MaxItemBytes)
		return post{ID: p.ID, bad: true}, p.ID > 0
	}
	err := json.Unmarshal(raw, &p)
	if err == nil {
		err = p.check()
	}
	if err != nil {
		r.Warn("malformed", "skipping a malformed post", "forum", r.f.host, "where", where, "error", err)
		var head struct {
			ID int64 `json:"id"`
		}
		_ = json.Unmarshal(raw, &head)
		return post{ID: head.ID, bad: true}, head.ID > 0
	}
	return p, true
}

func (r *forumRun) pollPosts(ctx context.Context, cur *cursor) error {
	var fresh []post
	newest := cur.Last
	before := int64(0)
	for page := 0; page < r.cfg.MaxPages; page++ {
		q := url.Values{}
		if before > 0 {
			q.Set("before", strconv.FormatInt(before, 10))
		}
		body, _, err := r.get(ctx, "/posts.json", q)
		if err != nil {
			return err
		}
		var raw struct {
			LatestPosts []json.RawMessage `json:"latest_posts"`
		}
		if err := json.Unmarshal(body, &raw); err != nil || raw.LatestPosts == nil {
			if err == nil {
				err = errors.New("no latest_posts")
			}
			return poll.Malformed("GET /posts.json", err)
		}
		lowest := int64(0)
		for _, c := range raw.LatestPosts {
			p, ok := r.decodePost(c, "/posts.json")
			if !ok {
				continue
			}
			if lowest == 0 || p.ID < lowest {
				lowest = p.ID
			}
			newest = max(newest, p.ID)
			if p.ID > cur.Last && !slices.ContainsFunc(fresh, func(x post) bool { return x.ID == p.ID }) {
				fresh = append(fresh, p)
			}
		}
		if cur.Last == 0 || len(raw.LatestPosts) < pageSize || lowest == 0 || lowest <= cur.Last {
			break
		}
		if page == r.cfg.MaxPages-1 {
			r.Warn("gap", "more new posts than max_pages reach; the oldest of them are not read", "forum", r.f.host, "pages", r.cfg.MaxPages)
		}
		before = lowest
	}
	if newest == cur.Last {
		return nil
	}
	slices.SortFunc(fresh, func(a, b post) int { return int(a.ID - b.ID) })
	ms, items, err := r.mentions(ctx, fresh, "")
	if err != nil {
		return err
	}
	if err := r.Publish(ctx, ms); err != nil {
		return nil
	}
	next := cursor{Last: newest}
	if err := r.SaveJSON(ctx, "posts:"+r.f.host, next); err != nil {
		return err
	}
	*cur = next
	r.remember(ctx, items)
	return nil
}

func (r *forumRun) remember(ctx context.Context, items []poll.Item) {
	if r.cfg.Refresh > 0 && len(items) > 0 {
		r.recent.Add(items, r.Now().Add(-r.cfg.Refresh), r.cfg.RefreshMax)
		r.recent.Save(ctx, r.Runner)
	}
}

// mentions maps posts (oldest first), looking up topics and parents.
func (r *forumRun) mentions(ctx context.Context, ps []post, rule string) ([]*pipeline.Mention, []poll.Item, error) {
	for _, p := range ps {
		if !p.bad {
			r.byNum[[2]int64{p.TopicID, p.PostNumber}] = p.ID
		}
	}
	var ms []*pipeline.Mention
	var items []poll.Item
	for i := range ps {
		p := &ps[i]
		if p.bad {
			continue
		}
		if p.gone() {
			r.Env.Metrics.Skipped("removed", 1)
			continue
		}
		m, err := r.mention(ctx, p, rule)
		if err != nil {
			return nil, nil, err
		}
		ms = append(ms, m)
		items = append(items, poll.Item{ID: strconv.FormatInt(p.ID, 10), Created: p.CreatedAt.Unix(), Version: strconv.Itoa(p.Version), Rule: rule})
	}
	return ms, items, nil
}

func (r *forumRun) mentionID(id int64) string { return fmt.Sprintf("%s:%s:%d", Platform, r.f.host, id) }

func (r *forumRun) mention(ctx context.Context, p *post, rule string) (*pipeline.Mention, error) {
	m := &pipeline.Mention{
		ID:          r.mentionID(p.ID),
		Platform:    Platform,
		Source:      r.f.host,
		Kind:        pipeline.KindPost,
		URL:         fmt.Sprintf("%s/t/%s/%d/%d", r.f.baseURL, orDash(p.TopicSlug), p.TopicID, p.PostNumber),
		Author:      pipeline.Author{Handle: p.Username, Name: p.Name},
		Text:        htmltext.Text(*p.Cooked),
		CreatedAt:   p.CreatedAt.UTC(),
		CollectedAt: r.Now(),
		Engagement:  pipeline.Engagement{Likes: p.likes(), Views: p.Reads, Replies: p.ReplyCount},
		MatchedRule: rule,
	}
	if m.Author.Name == "" {
		m.Author.Name = p.Username
	}
	if p.Version > 1 && !p.UpdatedAt.IsZero() {
		m.EditedAt = p.UpdatedAt.UTC()
	}
	t, err := r.topic(ctx, p.TopicID)
	if err != nil {
		return nil, err
	}
	if p.PostNumber == 1 {
		m.Title = htmltext.PlainText(firstNonEmpty(p.TopicTitle, t.title))
		m.ConversationID = m.ID
		return m, nil
	}
	m.Kind = pipeline.KindReply
	if t.first > 0 {
		m.ConversationID = r.mentionID(t.first)
	}
	parent := int64(1)
	if p.ReplyToPostNumber != nil && *p.ReplyToPostNumber > 0 {
		parent = *p.ReplyToPostNumber
	}
	if parent == 1 {
		m.ParentID = m.ConversationID
		return m, nil
	}
	id, err := r.postByNumber(ctx, p.TopicID, parent)
	if err != nil {
		return nil, err
	}
	if id > 0 {
		m.ParentID = r.mentionID(id)
	}
	return m, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// topic returns a topic's title and first post, from /t/{id}.json once.
func (r *forumRun) topic(ctx context.Context, id int64) (topicInfo, error) {
	if t, ok := r.topics[id]; ok {
		return t, nil
	}
	body, status, err := r.get(ctx, fmt.Sprintf("/t/%d.json", id), nil)
	if err != nil {
		return topicInfo{}, err
	}
	var t topicInfo
	if status == http.StatusOK {
		var raw struct {
			Title      string `json:"title"`
			PostStream struct {
				Stream []int64 `json:"stream"`
			} `json:"post_stream"`
		}
		if err := json.Unmarshal(body, &raw); err != nil {
			return topicInfo{}, poll.Malformed(fmt.Sprintf("GET /t/%d.json", id), err)
		}
		t.title = raw.Title
		if len(raw.PostStream.Stream) > 0 {
			t.first = raw.PostStream.Stream[0]
		}
	}
	if len(r.topics) >= topicCacheSize {
		clear(r.topics)
	}
	r.topics[id] = t
	return t, nil
}

// postByNumber returns the id of a topic's post number n (0 if gone).
func (r *forumRun) postByNumber(ctx context.Context, topic, n int64) (int64, error) {
	k := [2]int64{topic, n}
	if id, ok := r.byNum[k]; ok {
		return id, nil
	}
	body, status, err := r.get(ctx, fmt.Sprintf("/posts/by_number/%d/%d.json", topic, n), nil)
	if err != nil {
		return 0, err
	}
	var id int64
	if status == http.StatusOK {
		var p struct {
			ID int64 `json:"id"`
		}
		_ = json.Unmarshal(body, &p)
		id = p.ID
	}
	if len(r.byNum) >= topicCacheSize {
		clear(r.byNum)
	}
	r.byNum[k] = id
	return id, nil
}

// pollSearch runs one topic query; new results are read in full from
// /posts/{id}.json and published with the topic as matched rule.
func (r *forumRun) pollSearch(ctx context.Context, s search, cur *cursor) error {
	body, _, err := r.get(ctx, "/search.json", url.Values{"q": {s.Query + " order:latest"}})
	if err != nil {
		return err
	}
	var raw struct {
		Posts []struct {
			ID int64 `json:"id"`
		} `json:"posts"`
	}
	if err := json.Unmarshal(body, &raw); err != nil || raw.Posts == nil {
		if err == nil {
			err = errors.New("no posts")
		}
		return poll.Malformed("GET /search.json", err)
	}
	newest := cur.Last
	var fresh []post
	for _, h := range raw.Posts {
		newest = max(newest, h.ID)
		if h.ID <= cur.Last || (cur.Last == 0 && len(fresh) >= pageSize) {
			continue
		}
		body, status, err := r.get(ctx, fmt.Sprintf("/posts/%d.json", h.ID), nil)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			continue // deleted since
		}
		if p, ok := r.decodePost(body, "/posts/{id}.json"); ok {
			fresh = append(fresh, p)
		}
	}
	if newest == cur.Last {
		return nil
	}
	slices.SortFunc(fresh, func(a, b post) int { return int(a.ID - b.ID) })
	ms, items, err := r.mentions(ctx, fresh, s.Rule)
	if err != nil {
		return err
	}
	if err := r.Publish(ctx, ms); err != nil {
		return nil
	}
	next := cursor{Last: newest}
	if err := r.SaveJSON(ctx, s.Key+"@"+r.f.host, next); err != nil {
		return err
	}
	*cur = next
	r.remember(ctx, items)
	return nil
}

// refresh re-checks recent posts: 404 or a deleted flag is a deletion, a
// new version an edit.
func (r *forumRun) refresh(ctx context.Context) error {
	for _, it := range r.recent.Snapshot(r.Now().Add(-r.cfg.Refresh), r.cfg.RefreshMax) {
		body, status, err := r.get(ctx, "/posts/"+it.ID+".json", nil)
		if err != nil {
			return err
		}
		id, _ := strconv.ParseInt(it.ID, 10, 64)
		var m *pipeline.Mention
		var gone, updated []poll.Item
		if status == http.StatusNotFound {
			m = pipeline.Tombstone(Platform, r.mentionID(id), r.f.host, time.Unix(it.Created, 0), r.Now())
			gone = append(gone, it)
		} else {
			p, ok := r.decodePost(body, "/posts/{id}.json")
			switch {
			case !ok || p.bad:
				continue
			case p.gone():
				m = pipeline.Tombstone(Platform, r.mentionID(id), r.f.host, time.Unix(it.Created, 0), r.Now())
				gone = append(gone, it)
			case strconv.Itoa(p.Version) != it.Version:
				m, err = r.mention(ctx, &p, it.Rule)
				if err != nil {
					return err
				}
				if m.EditedAt.IsZero() {
					m.EditedAt = r.Now().UTC().Truncate(time.Millisecond)
				}
				it.Version = strconv.Itoa(p.Version)
				updated = append(updated, it)
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

// get sends a GET to the forum. It returns the body of a 200 or the
// status of a 404.
func (r *forumRun) get(ctx context.Context, path string, q url.Values) ([]byte, int, error) {
	return r.client.Get(ctx, r.f.baseURL, path, q)
}

// wait429 reads a 429's wait: Retry-After, else extras.wait_seconds.
func wait429(h http.Header, body []byte) time.Duration {
	if d := poll.RetryAfter(h, time.Now(), 0); d > 0 {
		return d
	}
	var e struct {
		Extras struct {
			WaitSeconds float64 `json:"wait_seconds"`
		} `json:"extras"`
	}
	_ = json.Unmarshal(body, &e)
	return time.Duration(e.Extras.WaitSeconds * float64(time.Second))
}

// errorMessage reads Discourse's error body ({"errors": [...], "error_type"}).
func errorMessage(body []byte) string {
	var e struct {
		Errors    []string `json:"errors"`
		ErrorType string   `json:"error_type"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Errors) > 0 {
		return e.ErrorType + ": " + e.Errors[0]
	}
	return ""
}
