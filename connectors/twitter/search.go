package twitter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// v2 endpoints.
const (
	epSearchRecent = "/2/tweets/search/recent"
	epCountsRecent = "/2/tweets/counts/recent"
	epStream       = "/2/tweets/search/stream"
	epStreamRules  = "/2/tweets/search/stream/rules"
)

// searchCursor is a query's position, kept in env.Cursors under
// "search:<label>". SinceID advances only after every page of a poll was
// published; a poll interrupted (crash, budget spent) resumes at Page with
// the same SinceID/StartTime, and Newest becomes SinceID when it completes.
type searchCursor struct {
	Query     string `json:"query"`
	SinceID   string `json:"since_id,omitempty"`
	StartTime string `json:"start_time,omitempty"` // first poll, before any since_id
	Page      string `json:"page,omitempty"`       // v2 next_token, or v1.1 max_id
	Newest    string `json:"newest,omitempty"`
}

func cursorKey(prefix string, q query) string { return prefix + q.Label }

func (r *run) loadCursor(ctx context.Context, key string, q query) (searchCursor, error) {
	var c searchCursor
	raw, err := r.env.Cursors.Get(ctx, key)
	if errors.Is(err, pipeline.ErrNoCursor) {
		return searchCursor{Query: q.Value}, nil
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		r.warn("cursor", "ignoring an unreadable search cursor", "key", key, "error", err)
		return searchCursor{Query: q.Value}, nil
	}
	if c.Query != q.Value {
		// The query changed: the since_id still says how far we read, but a
		// half-done pagination belongs to the old query.
		c = searchCursor{Query: q.Value, SinceID: c.SinceID}
	}
	return c, nil
}

func (r *run) saveCursor(ctx context.Context, key string, c searchCursor) error {
	raw, _ := json.Marshal(c)
	return r.env.Cursors.Put(ctx, key, raw)
}

// idLess compares numeric post ids given as strings.
func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// maxResults is the page size: 100, or what is left of the budget (X takes
// 10 to 100 for recent search, so a nearly spent budget may overshoot by 9).
func (r *run) maxResults(lo int) int {
	rem := r.budget.remaining()
	if rem < 0 || rem >= 100 {
		return 100
	}
	return max(int(rem), lo)
}

// startTime is the backfill window's start for a first poll, within the 7
// days recent search reaches.
func (r *run) startTime() string {
	now := r.src.now()
	st := now.Add(-r.cfg.Backfill)
	if oldest := now.Add(-maxBackfill + time.Minute); st.Before(oldest) {
		st = oldest
	}
	return st.UTC().Format(time.RFC3339)
}

// v2Search polls recent search for every query each interval.
func (r *run) v2Search(ctx context.Context) error {
	return r.pollLoop(ctx, "search", func(ctx context.Context, q query) error { return r.pollSearch(ctx, q) })
}

// pollLoop runs poll for every query, then waits the interval. After a
// credentials error it skips the other queries and waits longer each time.
func (r *run) pollLoop(ctx context.Context, what string, poll func(context.Context, query) error) error {
	authBo := r.src.backoffs.http
	for {
		authFailed := false
		for _, q := range r.cfg.queries {
			err := poll(ctx, q)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				r.logAPIError(what+" failed", err, "query", q.Label)
				if errType(err) == "auth" {
					authFailed = true
					break
				}
			}
		}
		wait := r.cfg.Interval
		if authFailed {
			wait = max(wait, authBo.next())
		} else {
			authBo.reset()
		}
		if sleepCtx(ctx, wait) != nil {
			return nil
		}
	}
}

// pollSearch reads every new post of q, page by page, publishing each page
// before saving the cursor.
func (r *run) pollSearch(ctx context.Context, q query) error {
	key := cursorKey("search:", q)
	cur, err := r.loadCursor(ctx, key, q)
	if err != nil {
		return err
	}
	if cur.Page == "" {
		cur.Newest, cur.StartTime = "", ""
		if cur.SinceID == "" {
			cur.StartTime = r.startTime()
		}
	}
	retries := 0 // recoveries from a refused cursor
	for {
		if err := r.budget.wait(ctx); err != nil {
			return err
		}
		p := url.Values{}
		p.Set("query", q.Value)
		p.Set("max_results", strconv.Itoa(r.maxResults(10)))
		if cur.SinceID != "" {
			p.Set("since_id", cur.SinceID)
		} else {
			p.Set("start_time", cur.StartTime)
		}
		if cur.Page != "" {
			p.Set("next_token", cur.Page)
		}
		var page v2Page
		err := r.api.getJSON(ctx, epSearchRecent, v2FieldParams(p), &page)
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == http.StatusBadRequest && retries < 2 {
			retries++
			switch {
			case cur.SinceID != "" && mentionsParam(ae, "since_id"):
				// since_id older than the 7 days recent search reaches.
				r.warn("cursor", "search cursor is older than recent search reaches; reading the last 7 days", "query", q.Label, "error", err)
				cur = searchCursor{Query: q.Value, StartTime: r.now7d()}
				continue
			case cur.Page != "":
				// An expired or foreign next_token: read the poll again from
				// its start; the stream drops the duplicates by id.
				r.warn("cursor", "search page token refused; restarting the poll", "query", q.Label, "error", err)
				cur.Page, cur.Newest = "", ""
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("search %q: %w", q.Label, err)
		}
		if len(page.Errors) > 0 {
			r.log.Debug("search returned partial errors", "query", q.Label, "first", page.Errors[0].Detail)
		}
		if err := r.budget.add(ctx, len(page.Data)); err != nil {
			r.warn("cursor", "saving the read budget failed", "error", err)
		}
		mp := newMapper(&page.Includes)
		now := time.Now()
		ms := make([]*pipeline.Mention, 0, len(page.Data))
		for i := range page.Data {
			t := &page.Data[i]
			if t.ID == "" {
				r.warn("parse", "search returned a post without an id", "query", q.Label)
				continue
			}
			ms = append(ms, mp.mention(t, r.source(q.Value), q.Matched, now))
			if cur.Newest == "" || idLess(cur.Newest, t.ID) {
				cur.Newest = t.ID
			}
		}
		if err := r.publish(ctx, ms); err != nil {
			return err
		}
		if page.Meta.NewestID != "" && (cur.Newest == "" || idLess(cur.Newest, page.Meta.NewestID)) {
			cur.Newest = page.Meta.NewestID
		}
		if page.Meta.NextToken == "" {
			if cur.Newest == "" {
				return nil // nothing new; the cursor stays
			}
			done := searchCursor{Query: q.Value, SinceID: cur.Newest}
			if err := r.saveCursor(ctx, key, done); err != nil {
				return fmt.Errorf("search %q: save cursor: %w", q.Label, err)
			}
			return nil
		}
		cur.Page = page.Meta.NextToken
		if err := r.saveCursor(ctx, key, cur); err != nil {
			return fmt.Errorf("search %q: save cursor: %w", q.Label, err)
		}
	}
}

func (r *run) now7d() string {
	return r.src.now().Add(-maxBackfill + time.Minute).UTC().Format(time.RFC3339)
}

// mentionsParam reports whether a 400 names the parameter.
func mentionsParam(e *APIError, param string) bool {
	return strings.Contains(e.Message, param) || strings.Contains(e.Detail, param)
}

// countsLoop polls GET /2/tweets/counts/recent per query each interval.
func (r *run) countsLoop(ctx context.Context) error {
	return r.pollLoop(ctx, "counts", r.pollCounts)
}

func (r *run) pollCounts(ctx context.Context, q query) error {
	p := url.Values{}
	p.Set("query", q.Value)
	p.Set("granularity", "hour")
	now := r.src.now()
	p.Set("start_time", now.Add(-countsWindow).UTC().Format(time.RFC3339))
	var resp struct {
		Data []struct {
			Start      string `json:"start"`
			End        string `json:"end"`
			TweetCount int64  `json:"tweet_count"`
		} `json:"data"`
		Meta struct {
			TotalTweetCount int64 `json:"total_tweet_count"`
		} `json:"meta"`
	}
	if err := r.api.getJSON(ctx, epCountsRecent, p, &resp); err != nil {
		return fmt.Errorf("counts %q: %w", q.Label, err)
	}
	total := resp.Meta.TotalTweetCount
	if total == 0 {
		for _, b := range resp.Data {
			total += b.TweetCount
		}
	}
	r.src.mx.recentPosts.WithLabelValues(r.env.Name, q.Label).Set(float64(total))
	r.src.mu.Lock()
	r.src.counts[q.Label] = Count{Query: q.Label, XQuery: q.Value, Posts: total, Window: countsWindow, At: now}
	r.src.mu.Unlock()
	return nil
}
