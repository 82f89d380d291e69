// Package appstore is earshot's App Store reviews connector,
// `type: appstore`.
//
// It reads Apple's public customer-reviews feed in JSON,
// {base_url}/{country}/rss/customerreviews/page={n}/id={app}/sortby=mostrecent/json,
// for every configured app and storefront, and publishes each review as a
// mention of kind review with its star rating. The feed is sorted by
// update time, newest first; the cursor is the newest update published and
// the ids within the overlap before it. Published reviews are remembered:
// one that comes back changed is an edit, and one missing from a complete
// re-read of the feed was deleted.
package appstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/earshot-dev/earshot/connectors/htmltext"
	"github.com/earshot-dev/earshot/connectors/poll"
	"github.com/earshot-dev/earshot/pipeline"
)

func init() {
	pipeline.RegisterConnector("appstore", New)
}

// Platform is the platform name on every mention.
const Platform = "appstore"

// Source is a configured appstore connector.
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

// Run reads the review feeds until ctx is done.
func (s *Source) Run(ctx context.Context, env *pipeline.SourceEnv) error {
	pr, err := poll.NewRunner(env, s.knobs, "appstore", Platform)
	if err != nil {
		return err
	}
	defer s.hc.CloseIdleConnections()
	r := &run{Runner: pr, src: s, cfg: s.cfg, client: poll.NewClient(s.hc, pr, s.cfg.gap, maxResponseBytes)}
	r.recent = r.LoadRecent(ctx, "recent")
	curs := make([]poll.TimeCursor, len(s.cfg.feeds))
	for i, f := range s.cfg.feeds {
		r.LoadJSON(ctx, f.Key, &curs[i])
	}
	var nextFull time.Time
	r.Every(ctx, s.cfg.Interval, "poll", func(ctx context.Context) error {
		full := s.cfg.Refresh > 0 && !r.Now().Before(nextFull)
		for i, f := range s.cfg.feeds {
			if err := r.poll(ctx, f, &curs[i], full); err != nil {
				return fmt.Errorf("app %d in %s: %w", f.App, f.Country, err)
			}
		}
		if full {
			nextFull = r.Now().Add(s.cfg.RefreshInterval)
		}
		return nil
	})
	return nil
}

// label is the feed's {"label": "…"} value.
type label struct {
	Label string `json:"label"`
}

// entry is one review of the feed.
type entry struct {
	ID      label `json:"id"`
	Updated label `json:"updated"`
	Title   label `json:"title"`
	Content struct {
		Label      string `json:"label"`
		Attributes struct {
			Type string `json:"type"`
		} `json:"attributes"`
	} `json:"content"`
	Rating  *label `json:"im:rating"`
	Version label  `json:"im:version"`
	VoteSum label  `json:"im:voteSum"`
	Author  struct {
		Name label `json:"name"`
		URI  label `json:"uri"`
	} `json:"author"`

	updated   time.Time
	rating    int
	oversized bool // too large or malformed: only id and time were read
}

func (e *entry) parse() error {
	if e.ID.Label == "" {
		return errors.New("no id")
	}
	t, err := time.Parse(time.RFC3339, e.Updated.Label)
	if err != nil {
		return fmt.Errorf("review %s: updated %q: %w", e.ID.Label, e.Updated.Label, err)
	}
	e.updated = t
	n, err := strconv.Atoi(e.Rating.Label)
	if err != nil || n < 1 || n > 5 {
		return fmt.Errorf("review %s: im:rating %q is not 1 to 5", e.ID.Label, e.Rating.Label)
	}
	e.rating = n
	return nil
}

type page struct {
	entries []entry
	last    int // the last page, from the feed's rel=last link (0: unknown)
}

var pageNum = regexp.MustCompile(`/page=(\d+)/`)

func (r *run) poll(ctx context.Context, f feed, cur *poll.TimeCursor, full bool) error {
	overlap := int64(r.cfg.overlap / time.Second)
	group := f.group()
	var read []entry
	complete := false
	for n := 1; n <= r.cfg.MaxPages; n++ {
		pg, err := r.fetch(ctx, f, n)
		if err != nil {
			return err
		}
		read = append(read, pg.entries...)
		if len(pg.entries) == 0 || (pg.last > 0 && n >= pg.last) {
			complete = true
			break
		}
		if full {
			continue
		}
		oldest := pg.entries[len(pg.entries)-1].updated.Unix()
		if cur.At == 0 || oldest < cur.At-overlap {
			break
		}
	}
	var ms []*pipeline.Mention
	var added, updated []poll.Item
	fresh := map[string]int64{}
	seen := map[string]bool{}
	newest := cur.At
	for i := len(read) - 1; i >= 0; i-- { // oldest first
		e := &read[i]
		if seen[e.ID.Label] {
			continue
		}
		seen[e.ID.Label] = true
		at := e.updated.Unix()
		newest = max(newest, at)
		known, inRecent := r.recent.Get(group, e.ID.Label)
		switch {
		case e.oversized:
			if !inRecent && !cur.Has(e.ID.Label) && (cur.At == 0 || at >= cur.At-overlap) {
				fresh[e.ID.Label] = at
			}
		case inRecent:
			if v := version(e); v != known.Version {
				m := r.mention(e, f)
				m.CreatedAt = time.Unix(known.Created, 0).UTC()
				m.EditedAt = e.updated.UTC()
				if m.EditedAt.Before(m.CreatedAt) {
					m.EditedAt = m.CreatedAt
				}
				ms = append(ms, m)
				known.Version = v
				updated = append(updated, known)
			}
		case cur.Has(e.ID.Label):
		case cur.At == 0 || at >= cur.At-overlap:
			ms = append(ms, r.mention(e, f))
			fresh[e.ID.Label] = at
			added = append(added, poll.Item{ID: e.ID.Label, Created: at, Version: version(e), Rule: f.Rule, Group: group})
		}
	}
	// Deletions: a review published before that a complete read of the feed
	// no longer has. Only a read that reached the feed's end can tell.
	var gone []poll.Item
	if full && complete {
		for _, it := range r.recent.Snapshot(r.Now().Add(-r.cfg.Refresh), r.cfg.RefreshMax) {
			if it.Group == group && !seen[it.ID] {
				ms = append(ms, pipeline.Tombstone(Platform, mentionID(it.ID), f.source(""), time.Unix(it.Created, 0), r.Now()))
				gone = append(gone, it)
			}
		}
	}
	if len(ms) == 0 && newest == cur.At {
		return nil
	}
	if err := r.Publish(ctx, ms); err != nil {
		return nil // ctx ended
	}
	next := cur.Advance(fresh, newest, overlap)
	if err := r.SaveJSON(ctx, f.Key, next); err != nil {
		return err
	}
	*cur = next
	if len(added)+len(updated)+len(gone) > 0 {
		r.recent.Apply(gone, updated)
		r.recent.Add(added, r.Now().Add(-r.cfg.Refresh), r.cfg.RefreshMax)
		r.recent.Save(ctx, r.Runner)
	}
	return nil
}

// fetch reads one page of a feed.
func (r *run) fetch(ctx context.Context, f feed, n int) (*page, error) {
	path := fmt.Sprintf("/%s/rss/customerreviews/page=%d/id=%d/sortby=mostrecent/json", f.Country, n, f.App)
	body, status, err := r.client.Get(ctx, r.cfg.BaseURL, path, nil)
	if err != nil {
		return nil, err
	}
	if status == http.StatusNotFound {
		return nil, poll.StatusError("GET "+path, status, "")
	}
	return r.decode(path, body)
}

func (r *run) decode(path string, body []byte) (*page, error) {
	var raw struct {
		Feed *struct {
			Entry json.RawMessage `json:"entry"`
			Link  json.RawMessage `json:"link"`
		} `json:"feed"`
	}
	if err := json.Unmarshal(body, &raw); err != nil || raw.Feed == nil {
		if err == nil {
			err = errors.New("no feed")
		}
		return nil, poll.Malformed("GET "+path+": not a reviews feed", err)
	}
	pg := &page{}
	var links []struct {
		Attributes struct {
			Rel  string `json:"rel"`
			Href string `json:"href"`
		} `json:"attributes"`
	}
	_ = json.Unmarshal(raw.Feed.Link, &links)
	for _, l := range links {
		if l.Attributes.Rel == "last" {
			if m := pageNum.FindStringSubmatch(l.Attributes.Href); m != nil {
				pg.last, _ = strconv.Atoi(m[1])
			}
		}
	}
	var items []json.RawMessage
	switch e := strings.TrimSpace(string(raw.Feed.Entry)); {
	case e == "" || e == "null":
	case strings.HasPrefix(e, "{"): // a single entry is an object
		items = []json.RawMessage{raw.Feed.Entry}
	default:
		if err := json.Unmarshal(raw.Feed.Entry, &items); err != nil {
			return nil, poll.Malformed("GET "+path+": entry", err)
		}
	}
	for i, c := range items {
		var e entry
		if len(c) > r.cfg.MaxItemBytes {
			_ = json.Unmarshal(c, &e)
			r.Warn("oversized", "skipping a review larger than max_item_bytes", "path", path, "index", i, "id", e.ID.Label,
				"bytes", len(c), "max_item_bytes", r.cfg.MaxItemBytes)
			if t, err := time.Parse(time.RFC3339, e.Updated.Label); err == nil && e.ID.Label != "" {
				pg.entries = append(pg.entries, entry{ID: e.ID, updated: t, oversized: true})
			}
			continue
		}
		err := json.Unmarshal(c, &e)
		if err == nil && e.Rating == nil {
			// Older feeds begin with the app's own entry (im:name, no
			// rating): not a review.
			r.Env.Metrics.Skipped("not_a_review", 1)
			continue
		}
		if err == nil {
			err = e.parse()
		}
		if err != nil {
			r.Warn("malformed", "skipping a malformed review", "path", path, "index", i, "error", err)
			if t, terr := time.Parse(time.RFC3339, e.Updated.Label); terr == nil && e.ID.Label != "" {
				pg.entries = append(pg.entries, entry{ID: e.ID, updated: t, oversized: true})
			}
			continue
		}
		pg.entries = append(pg.entries, e)
	}
	return pg, nil
}

func mentionID(id string) string { return Platform + ":" + id }

// source is Mention.Source: "<app id>/<country>/<app version>".
func (f feed) source(version string) string {
	s := fmt.Sprintf("%d/%s", f.App, f.Country)
	if version != "" {
		s += "/" + version
	}
	return s
}

// version fingerprints what an edit changes.
func version(e *entry) string {
	sum := sha256.Sum256([]byte(e.Updated.Label + "\x00" + e.Rating.Label + "\x00" + e.Title.Label + "\x00" + e.Content.Label))
	return hex.EncodeToString(sum[:8])
}

func (r *run) mention(e *entry, f feed) *pipeline.Mention {
	author := e.Author.URI.Label
	if i := strings.LastIndex(author, "/id"); i >= 0 {
		author = author[i+3:]
	}
	votes, _ := strconv.ParseInt(e.VoteSum.Label, 10, 64)
	text := e.Content.Label
	if e.Content.Attributes.Type == "html" {
		text = htmltext.Text(text)
	} else {
		text = htmltext.PlainText(text)
	}
	return &pipeline.Mention{
		ID:          mentionID(e.ID.Label),
		Platform:    Platform,
		Source:      f.source(e.Version.Label),
		Kind:        pipeline.KindReview,
		URL:         fmt.Sprintf("https://apps.apple.com/%s/app/id%d?see-all=reviews", f.Country, f.App),
		Author:      pipeline.Author{ID: author, Handle: e.Author.Name.Label, Name: e.Author.Name.Label},
		Title:       htmltext.PlainText(e.Title.Label),
		Text:        text,
		CreatedAt:   e.updated.UTC(),
		CollectedAt: r.Now(),
		Engagement:  pipeline.Engagement{Likes: votes},
		MatchedRule: f.Rule,
		Rating:      e.rating,
	}
}
