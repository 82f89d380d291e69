// Package youtube is earshot's YouTube comments connector, `type: youtube`.
//
// It reads the YouTube Data API v3 with an API key: comment threads
// (commentThreads.list, order=time) and their replies (comments.list) on
// configured videos, on the latest uploads of configured channels, and on
// videos found per topic query when search is on (search.list, 100 units a
// call). It keeps a daily budget in quota units, in the cursor store so
// it survives restarts, and pauses until midnight Pacific when the budget
// is spent or the API answers 403 quotaExceeded.
package youtube

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
	"strings"
	"time"

	"github.com/earshot-dev/earshot/connectors/htmltext"
	"github.com/earshot-dev/earshot/connectors/poll"
	"github.com/earshot-dev/earshot/connectors/quota"
	"github.com/earshot-dev/earshot/pipeline"
)

func init() {
	pipeline.RegisterConnector("youtube", New)
}

// Platform is the platform name on every mention.
const Platform = "youtube"

// Source is a configured youtube connector.
type Source struct {
	cfg           *settings
	hc            *http.Client
	knobs         poll.Knobs
	rateLimitWait time.Duration // after 403 rateLimitExceeded
}

var _ pipeline.Source = (*Source)(nil)

type run struct {
	*poll.Runner
	src    *Source
	cfg    *settings
	quota  *quota.Quota
	budget *budget
	recent *poll.Recent

	uploads map[string]string // channel -> uploads playlist
	// The videos read besides the configured ones: each channel's latest
	// uploads and each search's newest results, as last listed (older ones
	// drop out, so the set stays bounded).
	fromChannels map[string][]string  // channel -> video ids
	fromSearch   map[int][]string     // index in cfg.searches -> video ids
	disabled     map[string]time.Time // videos without comments: not read again before then
}

// Run reads YouTube until ctx is done.
func (s *Source) Run(ctx context.Context, env *pipeline.SourceEnv) error {
	pr, err := poll.NewRunner(env, s.knobs, "youtube", Platform)
	if err != nil {
		return err
	}
	defer s.hc.CloseIdleConnections()
	r := &run{Runner: pr, src: s, cfg: s.cfg, quota: &quota.Quota{}, budget: &budget{limit: s.cfg.budget, now: pr.Now},
		uploads: map[string]string{}, fromChannels: map[string][]string{}, fromSearch: map[int][]string{}, disabled: map[string]time.Time{}}
	r.budget.load(ctx, pr)
	r.recent = r.LoadRecent(ctx, "recent")
	curs := map[string]*poll.TimeCursor{}
	var nextVideos, nextSearch, nextRefresh time.Time
	r.Every(ctx, s.cfg.Interval, "poll", func(ctx context.Context) error {
		now := r.Now()
		if len(s.cfg.channels) > 0 && !now.Before(nextVideos) {
			if err := r.listUploads(ctx); err != nil {
				return fmt.Errorf("list channel uploads: %w", err)
			}
			nextVideos = now.Add(s.cfg.videosInterval)
		}
		if len(s.cfg.searches) > 0 && !now.Before(nextSearch) {
			if err := r.searchVideos(ctx); err != nil {
				return fmt.Errorf("search videos: %w", err)
			}
			nextSearch = now.Add(s.cfg.searchInterval)
		}
		for _, v := range r.videos() {
			if now.Before(r.disabled[v]) {
				continue
			}
			cur, ok := curs[v]
			if !ok {
				cur = &poll.TimeCursor{}
				r.LoadJSON(ctx, "video:"+v, cur)
				curs[v] = cur
			}
			if err := r.pollVideo(ctx, v, cur); err != nil {
				return fmt.Errorf("video %s: %w", v, err)
			}
		}
		if s.cfg.Refresh > 0 && !now.Before(nextRefresh) {
			if err := r.refresh(ctx); err != nil {
				return fmt.Errorf("re-check recent comments: %w", err)
			}
			nextRefresh = now.Add(s.cfg.RefreshInterval)
		}
		return nil
	})
	return nil
}

// videos are the configured videos, then the channels' latest uploads,
// then the search results, each once, in a stable order.
func (r *run) videos() []string {
	out := slices.Clone(r.cfg.videos)
	add := func(vs []string) {
		for _, v := range vs {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	for _, ch := range r.cfg.channels {
		add(r.fromChannels[ch])
	}
	for i := range r.cfg.searches {
		add(r.fromSearch[i])
	}
	return out
}

// rule is the topic id of the first search that found video, or "".
func (r *run) rule(video string) string {
	if slices.Contains(r.cfg.videos, video) {
		return ""
	}
	for _, ch := range r.cfg.channels {
		if slices.Contains(r.fromChannels[ch], video) {
			return ""
		}
	}
	for i, s := range r.cfg.searches {
		if slices.Contains(r.fromSearch[i], video) {
			return s.Rule
		}
	}
	return ""
}

// apiError is the API's error body.
type apiError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Errors  []struct {
			Reason string `json:"reason"`
			Domain string `json:"domain"`
		} `json:"errors"`
	} `json:"error"`
}

func (e *apiError) reason() string {
	if len(e.Error.Errors) > 0 {
		return e.Error.Errors[0].Reason
	}
	return ""
}

// errCommentsOff is a video whose comments cannot be read.
var errCommentsOff = errors.New("comments are disabled or the video is gone")

// get spends cost units of the budget and sends one request.
func (r *run) get(ctx context.Context, path string, q url.Values, cost int) ([]byte, error) {
	for {
		if err := r.quota.Take(ctx); err != nil {
			return nil, err
		}
		if err := r.budget.spend(ctx, r.Runner, cost); err != nil {
			return nil, err
		}
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("key", r.cfg.key.Reveal())
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.BaseURL+path+"?"+qq.Encode(), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := r.src.hc.Do(req)
		if err != nil {
			r.Env.Metrics.Request("error")
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // the URL holds the key
			}
			return nil, fmt.Errorf("GET %s: %w", path, err)
		}
		body, rerr := poll.ReadBody(resp, maxResponseBytes)
		if resp.StatusCode == http.StatusOK && rerr == nil {
			r.Env.Metrics.Request("ok")
			return body, nil
		}
		if rerr != nil && resp.StatusCode == http.StatusOK {
			r.Env.Metrics.Request("error")
			return nil, rerr
		}
		var e apiError
		_ = json.Unmarshal(body, &e)
		switch reason := e.reason(); {
		case reason == "quotaExceeded" || reason == "dailyLimitExceeded":
			r.Env.Metrics.Request("rate_limited")
			return nil, r.budget.exhaust(ctx, r.Runner)
		case reason == "rateLimitExceeded" || reason == "userRateLimitExceeded" || resp.StatusCode == http.StatusTooManyRequests:
			r.Env.Metrics.Request("rate_limited")
			r.quota.Block(r.Now().Add(r.src.rateLimitWait))
			r.Log.Debug("rate limited; waiting", "path", path, "wait", r.src.rateLimitWait)
			continue
		case reason == "commentsDisabled" || reason == "videoNotFound" || resp.StatusCode == http.StatusNotFound:
			r.Env.Metrics.Request("ok")
			return nil, errCommentsOff
		default:
			r.Env.Metrics.Request("error")
			msg := e.Error.Message
			if reason != "" {
				msg = reason + ": " + msg
			}
			err := poll.StatusError("GET "+path, resp.StatusCode, msg)
			if reason == "keyInvalid" || reason == "forbidden" || reason == "accessNotConfigured" {
				err.Type = "auth"
			}
			return nil, err
		}
	}
}

// listUploads refreshes the latest uploads of every channel.
func (r *run) listUploads(ctx context.Context) error {
	var need []string
	for _, ch := range r.cfg.channels {
		if _, ok := r.uploads[ch]; !ok {
			need = append(need, ch)
		}
	}
	if len(need) > 0 {
		body, err := r.get(ctx, "/channels", url.Values{"part": {"contentDetails"}, "id": {strings.Join(need, ",")}, "maxResults": {"50"}}, costList)
		if err != nil {
			return err
		}
		var resp struct {
			Items []struct {
				ID             string `json:"id"`
				ContentDetails struct {
					RelatedPlaylists struct {
						Uploads string `json:"uploads"`
					} `json:"relatedPlaylists"`
				} `json:"contentDetails"`
			} `json:"items"`
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			return poll.Malformed("GET /channels", err)
		}
		for _, it := range resp.Items {
			r.uploads[it.ID] = it.ContentDetails.RelatedPlaylists.Uploads
		}
	}
	for _, ch := range r.cfg.channels {
		pl := r.uploads[ch]
		if pl == "" {
			r.Warn("http_4xx", "channel not found; skipping it", "channel", ch)
			continue
		}
		body, err := r.get(ctx, "/playlistItems", url.Values{"part": {"contentDetails"}, "playlistId": {pl},
			"maxResults": {strconv.Itoa(r.cfg.latestVideos)}}, costList)
		if err != nil {
			if errors.Is(err, errCommentsOff) {
				continue
			}
			return err
		}
		var resp struct {
			Items []struct {
				ContentDetails struct {
					VideoID string `json:"videoId"`
				} `json:"contentDetails"`
			} `json:"items"`
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			return poll.Malformed("GET /playlistItems", err)
		}
		var vs []string
		for _, it := range resp.Items {
			if it.ContentDetails.VideoID != "" {
				vs = append(vs, it.ContentDetails.VideoID)
			}
		}
		r.fromChannels[ch] = vs
	}
	return nil
}

// searchVideos finds the newest videos per topic query (100 units each).
func (r *run) searchVideos(ctx context.Context) error {
	for i, s := range r.cfg.searches {
		body, err := r.get(ctx, "/search", url.Values{"part": {"snippet"}, "type": {"video"}, "order": {"date"}, "q": {s.Query},
			"maxResults": {strconv.Itoa(r.cfg.searchVideos)}}, costSearch)
		if err != nil {
			return err
		}
		var resp struct {
			Items []struct {
				ID struct {
					VideoID string `json:"videoId"`
				} `json:"id"`
			} `json:"items"`
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			return poll.Malformed("GET /search", err)
		}
		var vs []string
		for _, it := range resp.Items {
			if it.ID.VideoID != "" {
				vs = append(vs, it.ID.VideoID)
			}
		}
		r.fromSearch[i] = vs
	}
	return nil
}

// comment is a comment resource.
type comment struct {
	ID      string `json:"id"`
	Snippet struct {
		VideoID           string `json:"videoId"`
		ParentID          string `json:"parentId"`
		TextOriginal      string `json:"textOriginal"`
		TextDisplay       string `json:"textDisplay"`
		AuthorDisplayName string `json:"authorDisplayName"`
		AuthorChannelID   struct {
			Value string `json:"value"`
		} `json:"authorChannelId"`
		LikeCount   int64     `json:"likeCount"`
		PublishedAt time.Time `json:"publishedAt"`
		UpdatedAt   time.Time `json:"updatedAt"`
	} `json:"snippet"`
}

func (c *comment) check() error {
	switch {
	case c.ID == "":
		return errors.New("comment without id")
	case c.Snippet.PublishedAt.IsZero():
		return fmt.Errorf("comment %s has no publishedAt", c.ID)
	}
	return nil
}

// thread is a commentThread resource.
type thread struct {
	ID      string `json:"id"`
	Snippet struct {
		VideoID         string  `json:"videoId"`
		TopLevelComment comment `json:"topLevelComment"`
		TotalReplyCount int64   `json:"totalReplyCount"`
	} `json:"snippet"`
	Replies struct {
		Comments []comment `json:"comments"`
	} `json:"replies"`

	bad bool // too large or malformed: only id and time were read
}

type threadPage struct {
	threads []thread
	next    string
}

func (r *run) decodeThreads(body []byte, what string) (*threadPage, error) {
	var raw struct {
		Items         []json.RawMessage `json:"items"`
		NextPageToken string            `json:"nextPageToken"`
	}
	if err := json.Unmarshal(body, &raw); err != nil || raw.Items == nil {
		if err == nil {
			err = errors.New("no items")
		}
		return nil, poll.Malformed(what, err)
	}
	pg := &threadPage{next: raw.NextPageToken}
	for i, c := range raw.Items {
		var th thread
		big := len(c) > r.cfg.MaxItemBytes
		err := json.Unmarshal(c, &th)
		if err == nil && !big {
			err = th.Snippet.TopLevelComment.check()
		}
		switch {
		case big:
			r.Warn("oversized", "skipping a comment thread larger than max_item_bytes", "where", what, "index", i, "id", th.ID,
				"bytes", len(c), "max_item_bytes", r.cfg.MaxItemBytes)
		case err != nil:
			r.Warn("malformed", "skipping a malformed comment thread", "where", what, "index", i, "error", err)
		default:
			// The replies a thread carries are comments too: a malformed
			// one is counted and left out, like one read by comments.list.
			if rs := th.Replies.Comments; len(rs) > 0 {
				kept := rs[:0]
				for j := range rs {
					if err := rs[j].check(); err != nil {
						r.Warn("malformed", "skipping a malformed reply", "where", what, "index", i, "reply", j, "error", err)
						continue
					}
					kept = append(kept, rs[j])
				}
				th.Replies.Comments = kept
			}
			pg.threads = append(pg.threads, th)
			continue
		}
		if th.ID != "" {
			// Kept unpublished, with its time when readable, so the cursor
			// passes it and it is not counted again at every poll.
			var head struct {
				Snippet struct {
					TopLevelComment struct {
						Snippet struct {
							PublishedAt string `json:"publishedAt"`
						} `json:"snippet"`
					} `json:"topLevelComment"`
				} `json:"snippet"`
			}
			_ = json.Unmarshal(c, &head)
			bad := thread{ID: th.ID, bad: true}
			if t, err := time.Parse(time.RFC3339, head.Snippet.TopLevelComment.Snippet.PublishedAt); err == nil {
				bad.Snippet.TopLevelComment.Snippet.PublishedAt = t
			}
			pg.threads = append(pg.threads, bad)
		}
	}
	return pg, nil
}

func (r *run) pollVideo(ctx context.Context, video string, cur *poll.TimeCursor) error {
	overlap := int64(r.cfg.overlap / time.Second)
	var ms []*pipeline.Mention
	var items []poll.Item
	fresh := map[string]int64{}
	newest := cur.At
	token := ""
	rule := r.rule(video)
	for page := 0; page < r.cfg.MaxPages; page++ {
		q := url.Values{"part": {"snippet,replies"}, "videoId": {video}, "order": {"time"}, "maxResults": {strconv.Itoa(pageSize)},
			"textFormat": {"plainText"}}
		if token != "" {
			q.Set("pageToken", token)
		}
		body, err := r.get(ctx, "/commentThreads", q, costList)
		if errors.Is(err, errCommentsOff) {
			r.disabled[video] = r.Now().Add(r.cfg.videosInterval)
			r.Warn("http_4xx", "comments are disabled or the video is gone; skipping it for videos_interval", "video", video)
			return nil
		}
		if err != nil {
			return err
		}
		pg, err := r.decodeThreads(body, "GET /commentThreads")
		if err != nil {
			return err
		}
		reached := false
		for i := range pg.threads {
			th := &pg.threads[i]
			top := &th.Snippet.TopLevelComment
			if th.bad {
				if at := top.Snippet.PublishedAt.Unix(); !top.Snippet.PublishedAt.IsZero() && at >= cur.At-overlap {
					fresh[th.ID] = at
					newest = max(newest, at)
				}
				continue
			}
			at := top.Snippet.PublishedAt.Unix()
			newest = max(newest, at)
			if cur.At > 0 && at < cur.At-overlap {
				reached = true
				break
			}
			if cur.Has(top.ID) {
				continue
			}
			fresh[top.ID] = at
			m := r.mention(top, th.Snippet.TotalReplyCount, rule)
			ms = append(ms, m)
			items = append(items, poll.Item{ID: top.ID, Created: at, Version: threadVersion(th), Rule: rule, Group: "thread"})
			if r.cfg.replies && th.Snippet.TotalReplyCount > 0 {
				rs := th.Replies.Comments
				if int64(len(rs)) < th.Snippet.TotalReplyCount {
					if rs, err = r.replies(ctx, th.ID); err != nil {
						return err
					}
				}
				for i := range rs {
					ms = append(ms, r.mention(&rs[i], 0, rule))
					items = append(items, poll.Item{ID: rs[i].ID, Created: rs[i].Snippet.PublishedAt.Unix(),
						Version: commentVersion(&rs[i]), Rule: rule, Group: "reply"})
				}
			}
		}
		token = pg.next
		if reached || token == "" || cur.At == 0 {
			break
		}
	}
	if len(ms) == 0 && newest == cur.At {
		return nil
	}
	slices.SortStableFunc(ms, func(a, b *pipeline.Mention) int { return a.CreatedAt.Compare(b.CreatedAt) })
	if err := r.Publish(ctx, ms); err != nil {
		return nil
	}
	next := cur.Advance(fresh, newest, overlap)
	if err := r.SaveJSON(ctx, "video:"+video, next); err != nil {
		return err
	}
	*cur = next
	if r.cfg.Refresh > 0 && len(items) > 0 {
		r.recent.Add(items, r.Now().Add(-r.cfg.Refresh), r.cfg.RefreshMax)
		r.recent.Save(ctx, r.Runner)
	}
	return nil
}

// threadVersion changes when the top-level comment is edited or the
// thread gets replies.
func threadVersion(th *thread) string {
	return commentVersion(&th.Snippet.TopLevelComment) + "|" + strconv.FormatInt(th.Snippet.TotalReplyCount, 10)
}

// commentVersion changes when a comment is edited: its updatedAt (second
// precision) and a hash of its text.
func commentVersion(c *comment) string {
	sum := sha256.Sum256([]byte(c.Snippet.TextOriginal + "\x00" + c.Snippet.TextDisplay))
	return c.Snippet.UpdatedAt.UTC().Format(time.RFC3339) + "/" + hex.EncodeToString(sum[:6])
}

// replies lists every reply of a thread (comments.list, 1 unit a page).
func (r *run) replies(ctx context.Context, parent string) ([]comment, error) {
	var out []comment
	token := ""
	for page := 0; page < r.cfg.MaxPages; page++ {
		q := url.Values{"part": {"snippet"}, "parentId": {parent}, "maxResults": {strconv.Itoa(pageSize)}, "textFormat": {"plainText"}}
		if token != "" {
			q.Set("pageToken", token)
		}
		cs, next, err := r.comments(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
		if token = next; token == "" {
			break
		}
	}
	return out, nil
}

func (r *run) comments(ctx context.Context, q url.Values) ([]comment, string, error) {
	body, err := r.get(ctx, "/comments", q, costList)
	if errors.Is(err, errCommentsOff) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	var raw struct {
		Items         []json.RawMessage `json:"items"`
		NextPageToken string            `json:"nextPageToken"`
	}
	if err := json.Unmarshal(body, &raw); err != nil || raw.Items == nil {
		if err == nil {
			err = errors.New("no items")
		}
		return nil, "", poll.Malformed("GET /comments", err)
	}
	var out []comment
	for i, c := range raw.Items {
		var cm comment
		err := json.Unmarshal(c, &cm)
		if err == nil {
			err = cm.check()
		}
		if len(c) > r.cfg.MaxItemBytes {
			r.Warn("oversized", "skipping a comment larger than max_item_bytes", "index", i, "bytes", len(c))
			continue
		}
		if err != nil {
			r.Warn("malformed", "skipping a malformed comment", "index", i, "error", err)
			continue
		}
		out = append(out, cm)
	}
	return out, raw.NextPageToken, nil
}

func mentionID(id string) string { return Platform + ":" + id }

// VideoMentionID is what comments on a video have as conversation: the
// video, which earshot does not publish itself.
func VideoMentionID(video string) string { return Platform + ":video:" + video }

func (r *run) mention(c *comment, replies int64, rule string) *pipeline.Mention {
	sn := &c.Snippet
	text := sn.TextOriginal
	if text == "" {
		text = htmltext.Text(sn.TextDisplay)
	}
	m := &pipeline.Mention{
		ID:             mentionID(c.ID),
		Platform:       Platform,
		Source:         "video:" + sn.VideoID,
		Kind:           pipeline.KindComment,
		URL:            fmt.Sprintf("https://www.youtube.com/watch?v=%s&lc=%s", sn.VideoID, c.ID),
		Author:         pipeline.Author{ID: sn.AuthorChannelID.Value, Handle: strings.TrimPrefix(sn.AuthorDisplayName, "@"), Name: sn.AuthorDisplayName},
		Text:           text,
		CreatedAt:      sn.PublishedAt.UTC(),
		CollectedAt:    r.Now(),
		Engagement:     pipeline.Engagement{Likes: sn.LikeCount, Replies: replies},
		ConversationID: VideoMentionID(sn.VideoID),
		ParentID:       VideoMentionID(sn.VideoID),
		MatchedRule:    rule,
	}
	if sn.ParentID != "" {
		m.Kind = pipeline.KindReply
		m.ParentID = mentionID(sn.ParentID)
	}
	if sn.UpdatedAt.After(sn.PublishedAt) {
		m.EditedAt = sn.UpdatedAt.UTC()
	}
	return m
}

// refresh re-checks recent threads (50 ids a unit): gone ones are
// deletions, changed ones edits, more replies are read; and recent
// replies, the same way.
func (r *run) refresh(ctx context.Context) error {
	var threads, replies []poll.Item
	for _, it := range r.recent.Snapshot(r.Now().Add(-r.cfg.Refresh), r.cfg.RefreshMax) {
		if it.Group == "thread" {
			threads = append(threads, it)
		} else {
			replies = append(replies, it)
		}
	}
	for start := 0; start < len(threads); start += idsPerRequest {
		chunk := threads[start:min(start+idsPerRequest, len(threads))]
		ids := make([]string, len(chunk))
		for i, it := range chunk {
			ids[i] = it.ID
		}
		body, err := r.get(ctx, "/commentThreads", url.Values{"part": {"snippet"}, "id": {strings.Join(ids, ",")},
			"maxResults": {strconv.Itoa(idsPerRequest)}, "textFormat": {"plainText"}}, costList)
		if err != nil && !errors.Is(err, errCommentsOff) {
			return err
		}
		found := map[string]*thread{}
		if err == nil {
			pg, err := r.decodeThreads(body, "GET /commentThreads?id")
			if err != nil {
				return err
			}
			for i := range pg.threads {
				found[pg.threads[i].ID] = &pg.threads[i]
			}
		}
		var ms []*pipeline.Mention
		var gone, updated, added []poll.Item
		for _, it := range chunk {
			th, ok := found[it.ID]
			switch {
			case !ok:
				ms = append(ms, pipeline.Tombstone(Platform, mentionID(it.ID), "", time.Unix(it.Created, 0), r.Now()))
				gone = append(gone, it)
			case th.bad:
			case threadVersion(th) != it.Version:
				top := &th.Snippet.TopLevelComment
				old := strings.SplitN(it.Version, "|", 2)[0]
				if commentVersion(top) != old {
					m := r.mention(top, th.Snippet.TotalReplyCount, it.Rule)
					if m.EditedAt.IsZero() {
						m.EditedAt = r.Now().UTC().Truncate(time.Millisecond)
					}
					ms = append(ms, m)
				}
				if r.cfg.replies && th.Snippet.TotalReplyCount > 0 {
					rs, err := r.replies(ctx, th.ID)
					if err != nil {
						return err
					}
					for i := range rs {
						if _, known := r.recent.Get("reply", rs[i].ID); known {
							continue
						}
						ms = append(ms, r.mention(&rs[i], 0, it.Rule))
						added = append(added, poll.Item{ID: rs[i].ID, Created: rs[i].Snippet.PublishedAt.Unix(),
							Version: commentVersion(&rs[i]), Rule: it.Rule, Group: "reply"})
					}
				}
				it.Version = threadVersion(th)
				updated = append(updated, it)
			}
		}
		if err := r.apply(ctx, ms, gone, updated, added); err != nil {
			return nil
		}
	}
	for start := 0; start < len(replies); start += idsPerRequest {
		chunk := replies[start:min(start+idsPerRequest, len(replies))]
		ids := make([]string, len(chunk))
		for i, it := range chunk {
			ids[i] = it.ID
		}
		cs, _, err := r.comments(ctx, url.Values{"part": {"snippet"}, "id": {strings.Join(ids, ",")}, "maxResults": {strconv.Itoa(idsPerRequest)},
			"textFormat": {"plainText"}})
		if err != nil {
			return err
		}
		found := map[string]*comment{}
		for i := range cs {
			found[cs[i].ID] = &cs[i]
		}
		var ms []*pipeline.Mention
		var gone, updated []poll.Item
		for _, it := range chunk {
			c, ok := found[it.ID]
			switch {
			case !ok:
				ms = append(ms, pipeline.Tombstone(Platform, mentionID(it.ID), "", time.Unix(it.Created, 0), r.Now()))
				gone = append(gone, it)
			case commentVersion(c) != it.Version:
				m := r.mention(c, 0, it.Rule)
				if m.EditedAt.IsZero() {
					m.EditedAt = r.Now().UTC().Truncate(time.Millisecond)
				}
				ms = append(ms, m)
				it.Version = commentVersion(c)
				updated = append(updated, it)
			}
		}
		if err := r.apply(ctx, ms, gone, updated, nil); err != nil {
			return nil
		}
	}
	return nil
}

// apply publishes re-check results and records them.
func (r *run) apply(ctx context.Context, ms []*pipeline.Mention, gone, updated, added []poll.Item) error {
	if len(ms) == 0 && len(updated) == 0 {
		return nil
	}
	if err := r.Publish(ctx, ms); err != nil {
		return err
	}
	r.recent.Apply(gone, updated)
	if len(added) > 0 {
		r.recent.Add(added, r.Now().Add(-r.cfg.Refresh), r.cfg.RefreshMax)
	}
	r.recent.Save(ctx, r.Runner)
	return nil
}
