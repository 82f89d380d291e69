package poll

// TimeCursor is a listing's position on a platform that filters by
// creation time (fromdate, created_at_i>…): the newest creation time
// published, and the ids published at or after At-overlap, which a
// re-read of that overlap returns again and which are then skipped.
type TimeCursor struct {
	At   int64            `json:"at"`
	Seen map[string]int64 `json:"seen,omitempty"` // id -> creation time (unix seconds)
}

// Has reports whether id was published.
func (c *TimeCursor) Has(id string) bool {
	_, ok := c.Seen[id]
	return ok
}

// Advance returns the cursor after publishing fresh (id -> creation time),
// with newest the newest creation time read (published or skipped as bad),
// keeping the ids within overlap seconds of it.
func (c *TimeCursor) Advance(fresh map[string]int64, newest, overlap int64) TimeCursor {
	newest = max(newest, c.At)
	next := TimeCursor{At: newest, Seen: map[string]int64{}}
	horizon := newest - overlap
	for id, at := range c.Seen {
		if at >= horizon {
			next.Seen[id] = at
		}
	}
	for id, at := range fresh {
		if at >= horizon {
			next.Seen[id] = at
		}
	}
	return next
}
