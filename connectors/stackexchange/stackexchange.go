// Package stackexchange is earshot's Stack Exchange connector,
// `type: stackexchange`.
//
// It reads the Stack Exchange API 2.3 over configured sites: questions
// from /search/advanced for every topic query, and optionally the whole
// site's newest /questions, /answers and /comments, all sorted by creation
// with fromdate at the cursor and a filter that includes the body. Every
// response is gzip-compressed. It honours the per-method backoff field,
// waits out throttle violations (error_id 502), and stops for the day when
// quota_remaining reaches 0 (kept in the cursor store across restarts).
// Published posts are re-checked by id for edits (last_edit_date) and
// deletions (gone from the answer).
package stackexchange

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/earshot-dev/earshot/connectors/htmltext"
	"github.com/earshot-dev/earshot/connectors/poll"
	"github.com/earshot-dev/earshot/connectors/quota"
	"github.com/earshot-dev/earshot/pipeline"
)

func init() {
	pipeline.RegisterConnector("stackexchange", New)
}

// Platform is the platform name on every mention.
const Platform = "stackexchange"

// Source is a configured stackexchange connector.
type Source struct {
	cfg   *settings
	hc    *http.Client
	knobs poll.Knobs
	gap   time.Duration
}

var _ pipeline.Source = (*Source)(nil)

type run struct {
	*poll.Runner
	src    *Source
	cfg    *settings
	quota  *quota.Quota // throttle violations
	pacer  *poll.Pacer
	recent *poll.Recent

	mu        sync.Mutex
	backoff   map[string]time.Time // method -> no request before
	dayUntil  time.Time            // daily quota spent until then
	remaining int
}

// quotaState is kept under quotaKey so a restart honours a spent quota.
type quotaState struct {
	Until int64 `json:"until"` // unix seconds; no request before
}

const quotaKey = "quota"

// Run reads Stack Exchange until ctx is done.
func (s *Source) Run(ctx context.Context, env *pipeline.SourceEnv) error {
	pr, err := poll.NewRunner(env, s.knobs, "stackexchange", Platform)
	if err != nil {
		return err
	}
	defer s.hc.CloseIdleConnections()
	r := &run{Runner: pr, src: s, cfg: s.cfg, quota: &quota.Quota{}, pacer: &poll.Pacer{Gap: s.gap},
		backoff: map[string]time.Time{}, remaining: -1}
	var qs quotaState
	if r.LoadJSON(ctx, quotaKey, &qs) && qs.Until > 0 {
		r.dayUntil = time.Unix(qs.Until, 0)
	}
	r.recent = r.LoadRecent(ctx, "recent")
	curs := make([]poll.TimeCursor, len(s.cfg.listings))
	for i, l := range s.cfg.listings {
		r.LoadJSON(ctx, l.Key, &curs[i])
	}
	var nextRefresh time.Time
	r.Every(ctx, s.cfg.Interval, "poll", func(ctx context.Context) error {
		for i, l := range s.cfg.listings {
			if err := r.poll(ctx, l, &curs[i]); err != nil {
				return fmt.Errorf("%s %s: %w", l.Site, l.Path, err)
			}
		}
		if s.cfg.Refresh > 0 && !r.Now().Before(nextRefresh) {
			if err := r.refresh(ctx); err != nil {
				return fmt.Errorf("re-check recent posts: %w", err)
			}
			nextRefresh = r.Now().Add(s.cfg.RefreshInterval)
		}
		return nil
	})
	return nil
}

// item is a question, answer or comment as the API returns it.
type item struct {
	QuestionID   int64    `json:"question_id"`
	AnswerID     int64    `json:"answer_id"`
	CommentID    int64    `json:"comment_id"`
	PostID       int64    `json:"post_id"`
	Title        string   `json:"title"`
	Body         *string  `json:"body"`
	Link         string   `json:"link"`
	Owner        owner    `json:"owner"`
	CreationDate int64    `json:"creation_date"`
	LastEditDate int64    `json:"last_edit_date"`
	Score        int64    `json:"score"`
	AnswerCount  int64    `json:"answer_count"`
	ViewCount    int64    `json:"view_count"`
	IsAnswered   bool     `json:"is_answered"`
	Tags         []string `json:"tags"`

	typ       string // question, answer, comment
	oversized bool   // too large or malformed: only its id and time were read
}

type owner struct {
	UserID      int64  `json:"user_id"`
	DisplayName string `json:"display_name"`
	Reputation  int64  `json:"reputation"`
	Link        string `json:"link"`
}

// id is the item's own id: question_id, answer_id or comment_id.
func (it *item) id() int64 {
	switch it.typ {
	case "answer":
		return it.AnswerID
	case "comment":
		return it.CommentID
	}
	return it.QuestionID
}

func (it *item) check() error {
	switch {
	case it.id() <= 0:
		return fmt.Errorf("%s without its id", it.typ)
	case it.CreationDate <= 0:
		return fmt.Errorf("%s %d has no creation_date", it.typ, it.id())
	case it.typ == "answer" && it.QuestionID <= 0:
		return fmt.Errorf("answer %d has no question_id", it.AnswerID)
	case it.typ == "comment" && it.PostID <= 0:
		return fmt.Errorf("comment %d has no post_id", it.CommentID)
	case it.Body == nil:
		return fmt.Errorf("%s %d has no body (the filter must include it)", it.typ, it.id())
	}
	return nil
}

// typeOf is the item type a method returns.
func typeOf(path string) string {
	switch {
	case strings.HasPrefix(path, "/answers"):
		return "answer"
	case strings.HasPrefix(path, "/comments"):
		return "comment"
	}
	return "question"
}

type wrapper struct {
	items   []item
	hasMore bool
}

func (r *run) poll(ctx context.Context, l listing, cur *poll.TimeCursor) error {
	var fresh []item
	seenNow := map[int64]bool{}
	newest := cur.At
	for p := 1; p <= r.cfg.MaxPages; p++ {
		q := url.Values{"sort": {"creation"}, "order": {"desc"}, "pagesize": {strconv.Itoa(pageSize)}, "page": {strconv.Itoa(p)}}
		if l.Query != "" {
			q.Set("q", l.Query)
		}
		if cur.At > 0 {
			q.Set("fromdate", strconv.FormatInt(cur.At-int64(r.cfg.overlap/time.Second), 10))
		}
		w, err := r.get(ctx, l.Site, l.Path, q)
		if err != nil {
			return err
		}
		for _, it := range w.items {
			if seenNow[it.id()] {
				continue
			}
			seenNow[it.id()] = true
			newest = max(newest, it.CreationDate)
			if !cur.Has(strconv.FormatInt(it.id(), 10)) {
				fresh = append(fresh, it)
			}
		}
		if cur.At == 0 || !w.hasMore {
			break
		}
		if p == r.cfg.MaxPages {
			r.Warn("gap", "more new posts than max_pages reach; the oldest of them are not read", "site", l.Site, "path", l.Path, "pages", r.cfg.MaxPages)
		}
	}
	if len(fresh) == 0 && newest == cur.At {
		return nil
	}
	slices.SortStableFunc(fresh, func(a, b item) int { return int(a.CreationDate - b.CreationDate) })
	ms := make([]*pipeline.Mention, 0, len(fresh))
	items := make([]poll.Item, 0, len(fresh))
	published := make(map[string]int64, len(fresh))
	for i := range fresh {
		it := &fresh[i]
		published[strconv.FormatInt(it.id(), 10)] = it.CreationDate
		if it.oversized {
			continue
		}
		m := r.mention(it, l.Site, l.Rule)
		ms = append(ms, m)
		items = append(items, poll.Item{ID: strconv.FormatInt(it.id(), 10), Created: it.CreationDate, Version: version(it, m),
			Rule: l.Rule, Group: l.Site + "|" + it.typ})
	}
	if err := r.Publish(ctx, ms); err != nil {
		return nil // ctx ended
	}
	next := cur.Advance(published, newest, int64(r.cfg.overlap/time.Second))
	if err := r.SaveJSON(ctx, l.Key, next); err != nil {
		return err
	}
	*cur = next
	if r.cfg.Refresh > 0 && len(items) > 0 {
		r.recent.Add(items, r.Now().Add(-r.cfg.Refresh), r.cfg.RefreshMax)
		r.recent.Save(ctx, r.Runner)
	}
	return nil
}

// method names a request's API method for its backoff: the path with ids
// replaced by {ids}.
func method(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if p != "" && (p[0] >= '0' && p[0] <= '9') {
			parts[i] = "{ids}"
		}
	}
	return strings.Join(parts, "/")
}

var availableIn = regexp.MustCompile(`available in (\d+) seconds`)

// get sends one request and decodes the common wrapper. It waits for the
// method's backoff and for throttle windows, and returns a *poll.Wait
// when the daily quota is spent.
func (r *run) get(ctx context.Context, site, path string, q url.Values) (*wrapper, error) {
	meth := method(path)
	for {
		if err := r.pacer.Take(ctx); err != nil {
			return nil, err
		}
		r.mu.Lock()
		day, until := r.dayUntil, r.backoff[meth]
		r.mu.Unlock()
		if r.Now().Before(day) {
			return nil, &poll.Wait{Until: day, Reason: "the daily request quota is spent"}
		}
		if d := until.Sub(r.Now()); d > 0 {
			r.Log.Debug("waiting for the method's backoff", "method", meth, "until", until.UTC())
			poll.Sleep(ctx, d+5*time.Millisecond)
		}
		if err := r.quota.Take(ctx); err != nil {
			return nil, err
		}
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("site", site)
		qq.Set("filter", r.cfg.filter)
		if !r.cfg.key.IsZero() {
			qq.Set("key", r.cfg.key.Reveal())
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.BaseURL+path+"?"+qq.Encode(), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Accept-Encoding", "gzip")
		req.Header.Set("User-Agent", "earshot (+https://github.com/earshot-dev/earshot)")
		resp, err := r.src.hc.Do(req)
		if err != nil {
			r.Env.Metrics.Request("error")
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // its URL holds the key
			}
			return nil, fmt.Errorf("GET %s: %w", path, err)
		}
		body, rerr := readBody(resp)
		if resp.StatusCode >= 500 {
			r.Env.Metrics.Request("error")
			return nil, poll.StatusError("GET "+path, resp.StatusCode, "")
		}
		if rerr != nil {
			r.Env.Metrics.Request("error")
			return nil, rerr
		}
		if resp.StatusCode != http.StatusOK {
			var e struct {
				ID      int    `json:"error_id"`
				Name    string `json:"error_name"`
				Message string `json:"error_message"`
			}
			if json.Unmarshal(body, &e) != nil || e.ID == 0 {
				r.Env.Metrics.Request("error")
				return nil, poll.StatusError("GET "+path, resp.StatusCode, "")
			}
			if e.ID == 502 { // throttle_violation
				r.Env.Metrics.Request("rate_limited")
				wait := time.Minute
				if m := availableIn.FindStringSubmatch(e.Message); m != nil {
					n, _ := strconv.Atoi(m[1])
					wait = time.Duration(n) * time.Second
				}
				if wait > 10*time.Minute {
					return nil, r.spent(ctx, r.Now().Add(wait))
				}
				r.quota.Block(r.Now().Add(wait))
				r.Log.Debug("throttle violation; waiting", "path", path, "wait", wait)
				continue
			}
			r.Env.Metrics.Request("error")
			err := poll.StatusError("GET "+path, resp.StatusCode, fmt.Sprintf("%s (error_id %d): %s", e.Name, e.ID, e.Message))
			if e.ID == 403 || e.ID == 401 || e.ID == 405 {
				err.Type = "auth"
			}
			return nil, err
		}
		r.Env.Metrics.Request("ok")
		return r.decode(ctx, path, meth, body)
	}
}

// spent records that the daily quota is spent until t.
func (r *run) spent(ctx context.Context, t time.Time) error {
	r.mu.Lock()
	r.dayUntil = t
	r.mu.Unlock()
	if err := r.SaveJSON(ctx, quotaKey, quotaState{Until: t.Unix()}); err != nil && ctx.Err() == nil {
		r.Warn("cursor", "saving the quota state failed", "error", err)
	}
	return &poll.Wait{Until: t, Reason: "the daily request quota is spent"}
}

// nextUTCMidnight is when the daily quota resets.
func nextUTCMidnight(now time.Time) time.Time {
	return now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
}

// readBody reads a response, gunzipping it when it says it is gzip (it
// always is; Accept-Encoding is set by hand, so net/http leaves it as is).
func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	var rd io.Reader = resp.Body
	if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		gz, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, poll.Malformed("read response", fmt.Errorf("gzip: %w", err))
		}
		defer gz.Close()
		rd = gz
	}
	body, err := io.ReadAll(io.LimitReader(rd, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if len(body) > maxResponseBytes {
		return nil, &poll.Error{Type: "oversized", Msg: fmt.Sprintf("response larger than %d bytes", maxResponseBytes)}
	}
	return body, nil
}

func (r *run) decode(ctx context.Context, path, meth string, body []byte) (*wrapper, error) {
	var raw struct {
		Items          []json.RawMessage `json:"items"`
		HasMore        bool              `json:"has_more"`
		QuotaMax       int               `json:"quota_max"`
		QuotaRemaining *int              `json:"quota_remaining"`
		Backoff        int               `json:"backoff"`
	}
	if err := json.Unmarshal(body, &raw); err != nil || raw.Items == nil {
		if err == nil {
			err = errors.New("no items")
		}
		return nil, poll.Malformed("GET "+path+": not an API answer", err)
	}
	if raw.Backoff > 0 {
		r.mu.Lock()
		r.backoff[meth] = r.Now().Add(time.Duration(raw.Backoff) * time.Second)
		r.mu.Unlock()
		r.Log.Debug("the API asked to back off", "method", meth, "seconds", raw.Backoff)
	}
	if raw.QuotaRemaining != nil {
		r.Env.Metrics.RateLimitRemaining(float64(*raw.QuotaRemaining))
		r.mu.Lock()
		r.remaining = *raw.QuotaRemaining
		r.mu.Unlock()
	}
	w := &wrapper{hasMore: raw.HasMore, items: make([]item, 0, len(raw.Items))}
	typ := typeOf(path)
	for i, c := range raw.Items {
		it := item{typ: typ}
		if len(c) > r.cfg.MaxItemBytes {
			_ = json.Unmarshal(c, &it)
			r.Warn("oversized", "skipping a post larger than max_item_bytes", "path", path, "index", i, "id", it.id(),
				"bytes", len(c), "max_item_bytes", r.cfg.MaxItemBytes)
			if it.id() > 0 && it.CreationDate > 0 {
				w.items = append(w.items, item{typ: typ, QuestionID: it.QuestionID, AnswerID: it.AnswerID, CommentID: it.CommentID,
					CreationDate: it.CreationDate, oversized: true})
			}
			continue
		}
		err := json.Unmarshal(c, &it)
		if err == nil {
			err = it.check()
		}
		if err != nil {
			r.Warn("malformed", "skipping a malformed post", "path", path, "index", i, "error", err)
			var head struct {
				QuestionID   int64 `json:"question_id"`
				AnswerID     int64 `json:"answer_id"`
				CommentID    int64 `json:"comment_id"`
				CreationDate int64 `json:"creation_date"`
			}
			if json.Unmarshal(c, &head) == nil {
				// Kept, unpublished, so a re-check does not take it for deleted.
				x := item{typ: typ, QuestionID: head.QuestionID, AnswerID: head.AnswerID, CommentID: head.CommentID,
					CreationDate: head.CreationDate, oversized: true}
				if x.id() > 0 && x.CreationDate > 0 {
					w.items = append(w.items, x)
				}
			}
			continue
		}
		w.items = append(w.items, it)
	}
	if raw.QuotaRemaining != nil && *raw.QuotaRemaining <= 0 {
		// This answer is good; the next request would be refused.
		_ = r.spent(ctx, nextUTCMidnight(r.Now()))
	}
	return w, nil
}

// Host is a site's web host: stackoverflow.com, math.stackexchange.com, …
func Host(site string) string {
	switch {
	case slices.Contains([]string{"stackoverflow", "superuser", "serverfault", "askubuntu", "stackapps"}, site):
		return site + ".com"
	case strings.HasSuffix(site, ".stackoverflow"): // ru.stackoverflow, es.stackoverflow …
		return site + ".com"
	case strings.Contains(site, "."): // mathoverflow.net
		return site
	}
	return site + ".stackexchange.com"
}

// MentionID is the id of a question or answer (one id space per site) or
// of a comment ("c" prefix).
func MentionID(site, typ string, id int64) string {
	if typ == "comment" {
		return fmt.Sprintf("%s:%s:c%d", Platform, site, id)
	}
	return fmt.Sprintf("%s:%s:%d", Platform, site, id)
}

func (r *run) mention(it *item, site, rule string) *pipeline.Mention {
	name := html.UnescapeString(it.Owner.DisplayName)
	m := &pipeline.Mention{
		ID:          MentionID(site, it.typ, it.id()),
		Platform:    Platform,
		Source:      site,
		Author:      pipeline.Author{Handle: name, Name: name},
		Text:        htmltext.Text(*it.Body),
		CreatedAt:   time.Unix(it.CreationDate, 0).UTC(),
		CollectedAt: r.Now(),
		Engagement:  pipeline.Engagement{Likes: it.Score},
		MatchedRule: rule,
	}
	if it.Owner.UserID > 0 {
		m.Author.ID = strconv.FormatInt(it.Owner.UserID, 10)
	}
	switch it.typ {
	case "question":
		m.Kind = pipeline.KindPost
		m.Title = htmltext.PlainText(html.UnescapeString(it.Title))
		if webURL(it.Link) {
			m.URL = it.Link
		} else {
			m.URL = fmt.Sprintf("https://%s/q/%d", Host(site), it.QuestionID)
		}
		m.Engagement.Replies, m.Engagement.Views = it.AnswerCount, it.ViewCount
		m.Answered = it.IsAnswered
		m.ConversationID = m.ID
	case "answer":
		m.Kind = pipeline.KindReply
		m.URL = fmt.Sprintf("https://%s/a/%d", Host(site), it.AnswerID)
		m.ParentID = MentionID(site, "question", it.QuestionID)
		m.ConversationID = m.ParentID
	case "comment":
		m.Kind = pipeline.KindComment
		m.URL = fmt.Sprintf("https://%s/posts/comments/%d", Host(site), it.CommentID)
		m.ParentID = MentionID(site, "question", it.PostID) // a question or an answer: one id space
	}
	if it.LastEditDate > it.CreationDate {
		m.EditedAt = time.Unix(it.LastEditDate, 0).UTC()
	}
	return m
}

// version is what an edit changes: last_edit_date, or for comments (which
// have none) a hash of the text.
func version(it *item, m *pipeline.Mention) string {
	if it.typ != "comment" {
		return strconv.FormatInt(it.LastEditDate, 10)
	}
	sum := sha256.Sum256([]byte(m.Text))
	return hex.EncodeToString(sum[:8])
}

// refresh re-checks recent posts by id, 100 per request: a post missing
// from the answer was deleted; a newer version was edited.
func (r *run) refresh(ctx context.Context) error {
	groups := map[string][]poll.Item{}
	var order []string
	for _, it := range r.recent.Snapshot(r.Now().Add(-r.cfg.Refresh), r.cfg.RefreshMax) {
		if _, ok := groups[it.Group]; !ok {
			order = append(order, it.Group)
		}
		groups[it.Group] = append(groups[it.Group], it)
	}
	for _, g := range order {
		site, typ, _ := strings.Cut(g, "|")
		all := groups[g]
		for start := 0; start < len(all); start += pageSize {
			chunk := all[start:min(start+pageSize, len(all))]
			ids := make([]string, len(chunk))
			for i, it := range chunk {
				ids[i] = it.ID
			}
			w, err := r.get(ctx, site, "/"+typ+"s/"+strings.Join(ids, ";"), url.Values{"pagesize": {strconv.Itoa(pageSize)}})
			if err != nil {
				return err
			}
			found := map[string]*item{}
			for i := range w.items {
				found[strconv.FormatInt(w.items[i].id(), 10)] = &w.items[i]
			}
			var ms []*pipeline.Mention
			var gone, updated []poll.Item
			for _, it := range chunk {
				x, ok := found[it.ID]
				switch {
				case !ok:
					id, _ := strconv.ParseInt(it.ID, 10, 64)
					ms = append(ms, pipeline.Tombstone(Platform, MentionID(site, typ, id), site, time.Unix(it.Created, 0), r.Now()))
					gone = append(gone, it)
				case x.oversized:
				default:
					m := r.mention(x, site, it.Rule)
					if v := version(x, m); v != it.Version {
						if m.EditedAt.IsZero() {
							m.EditedAt = r.Now().UTC().Truncate(time.Millisecond)
						}
						ms = append(ms, m)
						it.Version = v
						updated = append(updated, it)
					}
				}
			}
			if len(ms) == 0 {
				continue
			}
			if err := r.Publish(ctx, ms); err != nil {
				return nil
			}
			r.recent.Apply(gone, updated)
			r.recent.Save(ctx, r.Runner)
		}
	}
	return nil
}

// webURL reports whether s is an http(s) URL: a question's link is shown
// as a link, and must not be script (javascript:…).
func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
