package poll

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Item is a published item that is re-checked for edits and deletions.
type Item struct {
	ID      string `json:"i"`           // the platform's id (not the mention id)
	Created int64  `json:"c"`           // unix seconds
	Version string `json:"v,omitempty"` // what changes on an edit: an edit time or a text hash
	Rule    string `json:"r,omitempty"` // the mention's MatchedRule
	Group   string `json:"g,omitempty"` // connector-defined: site, forum, app/country
}

// Recent is the set of items re-checked, newest last, kept in the cursor
// store after each change so a restart keeps re-checking them.
type Recent struct {
	key    string
	mu     sync.Mutex
	items  []Item
	saveMu sync.Mutex
}

// LoadRecent reads the set stored under key (empty when there is none).
func (r *Runner) LoadRecent(ctx context.Context, key string) *Recent {
	s := &Recent{key: key}
	r.LoadJSON(ctx, key, &s.items)
	return s
}

// Add records newly published items (replacing those with the same id),
// dropping those created before horizon and all but the newest max.
func (s *Recent) Add(items []Item, horizon time.Time, max int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range items {
		if i := slices.IndexFunc(s.items, func(x Item) bool { return x.ID == it.ID && x.Group == it.Group }); i >= 0 {
			s.items[i] = it
		} else {
			s.items = append(s.items, it)
		}
	}
	s.items = prune(s.items, horizon, max)
}

func prune(items []Item, horizon time.Time, max int) []Item {
	items = slices.DeleteFunc(items, func(x Item) bool { return x.Created < horizon.Unix() })
	slices.SortStableFunc(items, func(a, b Item) int { return int(a.Created - b.Created) })
	if len(items) > max {
		items = slices.Delete(items, 0, len(items)-max)
	}
	return items
}

// Snapshot returns the items to re-check now.
func (s *Recent) Snapshot(horizon time.Time, max int) []Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = prune(s.items, horizon, max)
	return slices.Clone(s.items)
}

// Get returns the item with id in group.
func (s *Recent) Get(group, id string) (Item, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.items {
		if x.ID == id && x.Group == group {
			return x, true
		}
	}
	return Item{}, false
}

// Apply forgets deleted items and records published edits.
func (s *Recent) Apply(gone []Item, updated []Item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = slices.DeleteFunc(s.items, func(x Item) bool {
		return slices.ContainsFunc(gone, func(g Item) bool { return g.ID == x.ID && g.Group == x.Group })
	})
	for _, u := range updated {
		for i := range s.items {
			if s.items[i].ID == u.ID && s.items[i].Group == u.Group {
				s.items[i] = u
			}
		}
	}
}

// Save writes the set to the cursor store (warning on failure).
func (s *Recent) Save(ctx context.Context, r *Runner) {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	items := slices.Clone(s.items)
	s.mu.Unlock()
	if items == nil {
		items = []Item{}
	}
	if err := r.SaveJSON(ctx, s.key, items); err != nil && ctx.Err() == nil {
		r.Warn("cursor", "saving the items to re-check failed", "error", err)
	}
}
