package reddit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// thing is one child of a Listing: a post (t3) or a comment (t1).
type thing struct {
	Kind      string    `json:"kind"`
	Data      thingData `json:"data"`
	oversized bool      // larger than max_item_bytes: only its name and time were read
}

type thingData struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"` // fullname: t3_abc, t1_def
	Subreddit      string          `json:"subreddit"`
	Title          string          `json:"title"`
	Selftext       string          `json:"selftext"`
	Body           string          `json:"body"`
	Author         string          `json:"author"`
	AuthorFullname string          `json:"author_fullname"`
	Permalink      string          `json:"permalink"`
	LinkID         string          `json:"link_id"`
	ParentID       string          `json:"parent_id"`
	CreatedUTC     float64         `json:"created_utc"`
	Score          int64           `json:"score"`
	NumComments    int64           `json:"num_comments"`
	Edited         json.RawMessage `json:"edited"` // false, or the edit time in epoch seconds
	RemovedBy      *string         `json:"removed_by_category"`
}

// listingPage is a decoded Listing.
type listingPage struct {
	things []thing
	after  string
}

// decodeListing decodes {"kind": "Listing", "data": {"children": [...],
// "after": …}}. A child that is not a well-formed t3 or t1 is counted as
// malformed and skipped; one larger than max_item_bytes is counted as
// oversized, and only its name and time are kept (for the cursor).
func (r *run) decodeListing(path string, body []byte) (*listingPage, error) {
	var raw struct {
		Kind string `json:"kind"`
		Data struct {
			After    *string           `json:"after"`
			Children []json.RawMessage `json:"children"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &raw); err != nil || raw.Kind != "Listing" {
		if err == nil {
			err = fmt.Errorf("kind %q, not Listing", raw.Kind)
		}
		return nil, &httpError{typ: "malformed", msg: fmt.Sprintf("GET %s: not a Listing: %v", path, err)}
	}
	page := &listingPage{things: make([]thing, 0, len(raw.Data.Children))}
	if raw.Data.After != nil {
		page.after = *raw.Data.After
	}
	for i, c := range raw.Data.Children {
		var th thing
		if len(c) > r.cfg.MaxItemBytes {
			var head struct {
				Data struct {
					Name       string  `json:"name"`
					CreatedUTC float64 `json:"created_utc"`
				} `json:"data"`
			}
			_ = json.Unmarshal(c, &head)
			r.warn("oversized", "skipping an item larger than max_item_bytes", "path", path, "index", i,
				"name", head.Data.Name, "bytes", len(c), "max_item_bytes", r.cfg.MaxItemBytes)
			if head.Data.Name == "" {
				continue
			}
			th.Data.Name, th.Data.CreatedUTC, th.oversized = head.Data.Name, head.Data.CreatedUTC, true
			page.things = append(page.things, th)
			continue
		}
		err := json.Unmarshal(c, &th)
		if err == nil {
			err = th.check()
		}
		if err != nil {
			r.warn("malformed", "skipping a malformed item", "path", path, "index", i, "error", err)
			continue
		}
		page.things = append(page.things, th)
	}
	return page, nil
}

func (t *thing) check() error {
	d := &t.Data
	switch {
	case t.Kind != "t3" && t.Kind != "t1":
		return fmt.Errorf("kind %q is neither t3 (post) nor t1 (comment)", t.Kind)
	case d.Name == "" || !strings.HasPrefix(d.Name, t.Kind+"_"):
		return fmt.Errorf("%s has fullname %q", t.Kind, d.Name)
	case d.CreatedUTC <= 0:
		return fmt.Errorf("%s has no created_utc", d.Name)
	case t.Kind == "t1" && d.ParentID == "":
		return fmt.Errorf("comment %s has no parent_id", d.Name)
	}
	return nil
}

// text is the post's self text or the comment's body.
func (t *thing) text() string {
	if t.Kind == "t1" {
		return t.Data.Body
	}
	return t.Data.Selftext
}

// removed reports a body Reddit replaced because it was removed by
// moderators or deleted by its author.
func (t *thing) removed() bool {
	switch t.text() {
	case "[removed]", "[deleted]":
		return true
	}
	return t.Data.RemovedBy != nil && *t.Data.RemovedBy != ""
}

// edited is when the item was last edited (zero if never).
func (t *thing) edited() time.Time {
	e := bytes.TrimSpace(t.Data.Edited)
	if len(e) == 0 || bytes.Equal(e, []byte("false")) || bytes.Equal(e, []byte("null")) {
		return time.Time{}
	}
	var sec float64
	if json.Unmarshal(e, &sec) != nil || sec <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(sec), 0).UTC()
}

// editedUnix is edited in unix seconds, 0 if never edited.
func (t *thing) editedUnix() int64 {
	if e := t.edited(); !e.IsZero() {
		return e.Unix()
	}
	return 0
}

func mentionID(fullname string) string { return Platform + ":" + fullname }

// source is Mention.Source: the subreddit, "r/<name>".
func source(t *thing) string { return "r/" + t.Data.Subreddit }

// mention maps a post or comment; rule is the topic id a search matched.
func (r *run) mention(t *thing, rule string) *pipeline.Mention {
	d := &t.Data
	author := d.Author
	if author == "[deleted]" {
		author = ""
	}
	m := &pipeline.Mention{
		ID:          mentionID(d.Name),
		Platform:    Platform,
		Source:      source(t),
		Kind:        pipeline.KindPost,
		Author:      pipeline.Author{ID: d.AuthorFullname, Handle: author, Name: author},
		Text:        t.text(),
		CreatedAt:   time.Unix(int64(d.CreatedUTC), 0).UTC(),
		CollectedAt: r.src.now(),
		Engagement:  pipeline.Engagement{Likes: d.Score, Replies: d.NumComments},
		MatchedRule: rule,
		EditedAt:    t.edited(),
	}
	if d.Permalink != "" {
		m.URL = "https://www.reddit.com" + d.Permalink
	}
	if t.Kind == "t1" {
		m.Kind = pipeline.KindComment
		m.ParentID = mentionID(d.ParentID)
		if d.LinkID != "" {
			m.ConversationID = mentionID(d.LinkID)
		}
	} else {
		m.Title = d.Title
	}
	return m
}

// recentItem is a published item re-checked for edits and deletions.
type recentItem struct {
	Name    string `json:"n"`
	Created int64  `json:"c"`
	Edited  int64  `json:"e,omitempty"` // unix seconds of the last published edit; <= 0 never
	Rule    string `json:"r,omitempty"`
}

// recentSet is the items re-checked, kept in the cursor store (key
// "recent") after each change, so a restart keeps re-checking them.
type recentSet struct {
	mu     sync.Mutex
	items  []recentItem // newest last
	saveMu sync.Mutex
}

const recentKey = "recent"

func loadRecent(ctx context.Context, cur pipeline.CursorStore, warn func(typ, msg string, args ...any)) *recentSet {
	s := &recentSet{}
	raw, err := cur.Get(ctx, recentKey)
	switch {
	case errors.Is(err, pipeline.ErrNoCursor):
	case err != nil:
		warn("cursor", "reading the items to re-check failed; starting with none", "error", err)
	default:
		if err := json.Unmarshal(raw, &s.items); err != nil {
			warn("cursor", "ignoring unreadable items to re-check", "error", err)
			s.items = nil
		}
	}
	return s
}

// add records newly published items, dropping those created before
// horizon and all but the newest max.
func (s *recentSet) add(items []recentItem, horizon time.Time, max int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range items {
		if !slices.ContainsFunc(s.items, func(x recentItem) bool { return x.Name == it.Name }) {
			s.items = append(s.items, it)
		}
	}
	s.items = prune(s.items, horizon, max)
}

func prune(items []recentItem, horizon time.Time, max int) []recentItem {
	items = slices.DeleteFunc(items, func(x recentItem) bool { return x.Created < horizon.Unix() })
	slices.SortStableFunc(items, func(a, b recentItem) int { return int(a.Created - b.Created) })
	if len(items) > max {
		items = slices.Delete(items, 0, len(items)-max)
	}
	return items
}

// snapshot returns the items to re-check now.
func (s *recentSet) snapshot(horizon time.Time, max int) []recentItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = prune(s.items, horizon, max)
	return slices.Clone(s.items)
}

// apply forgets deleted items and records published edits.
func (s *recentSet) apply(gone []string, updated []recentItem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = slices.DeleteFunc(s.items, func(x recentItem) bool { return slices.Contains(gone, x.Name) })
	for _, u := range updated {
		for i := range s.items {
			if s.items[i].Name == u.Name {
				s.items[i] = u
			}
		}
	}
}

func (s *recentSet) save(ctx context.Context, cur pipeline.CursorStore, warn func(typ, msg string, args ...any)) {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	raw, err := json.Marshal(s.items)
	s.mu.Unlock()
	if err == nil {
		err = cur.Put(ctx, recentKey, raw)
	}
	if err != nil && ctx.Err() == nil {
		warn("cursor", "saving the items to re-check failed", "error", err)
	}
}
