package mastodon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/earshot-dev/earshot/connectors/htmltext"
	"github.com/earshot-dev/earshot/pipeline"
)

// status is a Mastodon Status entity (the fields earshot reads).
type status struct {
	ID              string     `json:"id"`  // local to the instance
	URI             string     `json:"uri"` // the ActivityPub id: the same on every instance
	URL             *string    `json:"url"`
	CreatedAt       time.Time  `json:"created_at"`
	EditedAt        *time.Time `json:"edited_at"`
	Content         string     `json:"content"`
	SpoilerText     string     `json:"spoiler_text"`
	Language        *string    `json:"language"`
	InReplyToID     *string    `json:"in_reply_to_id"`
	Reblog          *status    `json:"reblog"`
	Account         account    `json:"account"`
	RepliesCount    int64      `json:"replies_count"`
	ReblogsCount    int64      `json:"reblogs_count"`
	FavouritesCount int64      `json:"favourites_count"`
}

type account struct {
	ID             string `json:"id"`
	Username       string `json:"username"`
	Acct           string `json:"acct"` // "user" on its own instance, "user@domain" elsewhere
	DisplayName    string `json:"display_name"`
	URL            string `json:"url"`
	FollowersCount int64  `json:"followers_count"`
}

func (s *status) check() error {
	switch {
	case s.ID == "" || !isDigits(s.ID):
		return fmt.Errorf("status id %q is not a Mastodon id", s.ID)
	case s.URI == "":
		return fmt.Errorf("status %s has no uri", s.ID)
	case s.CreatedAt.IsZero():
		return fmt.Errorf("status %s has no created_at", s.ID)
	case s.Reblog != nil && s.Reblog.URI == "":
		return fmt.Errorf("status %s boosts a status without uri", s.ID)
	}
	return nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// idLess orders Mastodon ids (decimal strings of 64-bit numbers).
func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// idTime is when a status id was made: Mastodon ids carry milliseconds
// since the epoch in their upper 48 bits.
func idTime(id string) time.Time {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil || n>>16 == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(n >> 16)).UTC()
}

func mentionID(uri string) string { return Platform + ":" + uri }

// mention maps a status read from instance host under #tag.
func mention(st *status, host, tag string, now time.Time) *pipeline.Mention {
	orig := st
	kind := pipeline.KindPost
	if st.Reblog != nil {
		orig, kind = st.Reblog, pipeline.KindRepost
	} else if st.InReplyToID != nil && *st.InReplyToID != "" {
		kind = pipeline.KindReply
	}
	m := &pipeline.Mention{
		ID:          mentionID(st.URI),
		Platform:    Platform,
		Source:      host + "/tags/" + tag,
		Kind:        kind,
		Author:      author(&st.Account, host),
		Title:       htmltext.PlainText(orig.SpoilerText),
		Text:        htmltext.Text(orig.Content),
		CreatedAt:   st.CreatedAt,
		CollectedAt: now,
		Engagement:  pipeline.Engagement{Likes: st.FavouritesCount, Reposts: st.ReblogsCount, Replies: st.RepliesCount},
		MatchedRule: "#" + tag,
	}
	if orig.Language != nil {
		m.Lang = *orig.Language
	}
	switch {
	case st.URL != nil && webURL(*st.URL):
		m.URL = *st.URL
	case orig.URL != nil && webURL(*orig.URL):
		m.URL = *orig.URL
	case webURL(st.URI):
		m.URL = st.URI
	}
	if st.Reblog != nil {
		m.ParentID = mentionID(st.Reblog.URI)
	}
	if st.EditedAt != nil {
		m.EditedAt = *st.EditedAt
	}
	return m
}

// author is the account with a handle that names it on every instance:
// user@domain.
func author(a *account, host string) pipeline.Author {
	handle := a.Acct
	if handle != "" && !strings.Contains(handle, "@") {
		handle += "@" + host
	}
	id := a.URL
	if id == "" {
		id = handle
	}
	return pipeline.Author{ID: id, Handle: handle, Name: a.DisplayName, Followers: a.FollowersCount}
}

// known is what the connector remembers of a status it saw on an instance,
// to turn the instance's `delete` event (a local id) into a tombstone.
type known struct {
	ID      string    `json:"i"`
	URI     string    `json:"u,omitempty"` // empty: deleted before it was seen
	Created time.Time `json:"c"`
}

// idRing remembers the last statuses of one instance, in the cursor store
// (key "ids:<host>"), so deletions still map after a restart.
type idRing struct {
	key  string
	size int

	mu    sync.Mutex
	items []known // oldest first
	dirty bool

	saveMu sync.Mutex
}

func loadRing(ctx context.Context, cur pipeline.CursorStore, host string, size int, warn func(typ, msg string, args ...any)) *idRing {
	r := &idRing{key: "ids:" + host, size: size}
	raw, err := cur.Get(ctx, r.key)
	switch {
	case errors.Is(err, pipeline.ErrNoCursor):
	case err != nil:
		warn("cursor", "reading remembered statuses failed; deletions of older statuses will not map", "error", err)
	default:
		if err := json.Unmarshal(raw, &r.items); err != nil {
			warn("cursor", "ignoring unreadable remembered statuses", "error", err)
			r.items = nil
		}
	}
	return r
}

func (r *idRing) find(id string) (known, bool) {
	for i := len(r.items) - 1; i >= 0; i-- {
		if r.items[i].ID == id {
			return r.items[i], true
		}
	}
	return known{}, false
}

// lookup returns what is known of a local id.
func (r *idRing) lookup(id string) (known, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.find(id)
}

// remember records a status (uri non-empty) or a deletion seen before its
// status (uri empty).
func (r *idRing) remember(k known) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.items {
		if r.items[i].ID == k.ID {
			r.items[i] = k
			r.dirty = true
			return
		}
	}
	r.items = append(r.items, k)
	if len(r.items) > r.size {
		r.items = r.items[len(r.items)-r.size:]
	}
	r.dirty = true
}

func (r *idRing) save(ctx context.Context, cur pipeline.CursorStore, warn func(typ, msg string, args ...any)) {
	r.saveMu.Lock()
	defer r.saveMu.Unlock()
	r.mu.Lock()
	if !r.dirty {
		r.mu.Unlock()
		return
	}
	raw, err := json.Marshal(r.items)
	r.dirty = false
	r.mu.Unlock()
	if err == nil {
		err = cur.Put(ctx, r.key, raw)
	}
	if err != nil && ctx.Err() == nil {
		warn("cursor", "saving remembered statuses failed", "error", err)
	}
}

// webURL reports whether s is an http(s) URL: an instance may send any
// string as a status's url, and a javascript: one would run script where
// the mention's link is shown.
func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
