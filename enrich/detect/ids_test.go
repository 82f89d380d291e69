package detect

import (
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// TestIDsOnlyForOpenBuckets: a mention published again is a duplicate
// (counted once) for as long as a bucket holding it is open, and late
// (counted never) once they all closed; the ids are kept no longer than
// that, so the bounded set holds only what the counted-once check needs.
func TestIDsOnlyForOpenBuckets(t *testing.T) {
	for _, res := range [][]time.Duration{{time.Minute}, {time.Minute, 5 * time.Minute}} {
		cfg := testConfig()
		cfg.Resolutions = res
		cfg.Grace = 30 * time.Second
		c := newTestCounter(t, cfg)
		tr := newTraffic(7)
		maxRes := res[len(res)-1]
		base := time.Date(2026, 11, 24, 12, 0, 7, 0, time.UTC)
		now := base.Add(2 * time.Hour)
		var (
			seen      []*pipeline.Mention
			seq       uint64
			dup, late int
		)
		for i := range 40 * 60 / 5 { // a mention every 5 s for 40 minutes
			m := tr.mention(base.Add(time.Duration(i)*5*time.Second), "acme news", nil, false)
			seq++
			if o, err := c.Count(m, seq, now); err != nil || o != Counted {
				t.Fatalf("%v: Count(%s) = %v, %v; want counted", res, m.ID, o, err)
			}
			seen = append(seen, m)
			if _, _, err := c.Close(c.Watermark(), now); err != nil {
				t.Fatal(err)
			}
			closed := c.Closed()
			for _, old := range seen {
				seq++
				o, err := c.Count(old, seq, now)
				open := closed.IsZero() || floor(old.CreatedAt, maxRes).Add(maxRes+cfg.Grace).After(closed)
				if err != nil || (open && o != Duplicate) || (!open && o != Late) {
					t.Fatalf("%v: %s (at %s) published again after the close at %s: %v, %v; want duplicate while a bucket holding it is open, else late",
						res, old.ID, old.CreatedAt.Format(time.TimeOnly), closed.Format(time.TimeOnly), o, err)
				}
				if open {
					dup++
				} else {
					late++
				}
			}
			for k := range c.ids.slots {
				// The coarsest bucket holding the slot's last instant.
				end := floor(time.Unix(0, k).Add(c.ids.slot-1), maxRes).Add(maxRes)
				if !end.Add(cfg.Grace).After(closed) {
					t.Fatalf("%v: ids of the slot at %s kept after every bucket holding it closed (close at %s)",
						res, time.Unix(0, k).UTC().Format(time.TimeOnly), closed.Format(time.TimeOnly))
				}
			}
		}
		if dup == 0 || late == 0 {
			t.Errorf("%v: %d duplicates, %d late; want both tried", res, dup, late)
		}
	}
}

// TestMaxIDs: detect.max_ids bounds the counted-once set; past it a
// mention is still counted, its id is not remembered (a copy published
// again counts again), and IDsOverflow says so once, for the runner's
// error metric and log. Within the bound a copy is a duplicate.
func TestMaxIDs(t *testing.T) {
	cfg := testConfig()
	cfg.MaxIDs = 10
	c := newTestCounter(t, cfg)
	tr := newTraffic(3)
	base := time.Date(2026, 11, 24, 12, 0, 7, 0, time.UTC)
	now := base.Add(time.Hour)
	var ms []*pipeline.Mention
	var seq uint64
	for i := range 15 {
		m := tr.mention(base.Add(time.Duration(i)*time.Second), "acme news", nil, false)
		seq++
		if o, err := c.Count(m, seq, now); err != nil || o != Counted {
			t.Fatalf("Count(%s) = %v, %v; want counted", m.ID, o, err)
		}
		if full := c.IDsOverflow(); full != (i >= cfg.MaxIDs) {
			t.Fatalf("after mention %d: IDsOverflow() = %v; want %v", i+1, full, i >= cfg.MaxIDs)
		}
		ms = append(ms, m)
	}
	for i, m := range ms {
		seq++
		o, err := c.Count(m, seq, now)
		want := Duplicate
		if i >= cfg.MaxIDs {
			want = Counted
		}
		if err != nil || o != want {
			t.Errorf("mention %d published again: %v, %v; want %v", i+1, o, err, want)
		}
	}
	if c.IDsOverflow() != true {
		t.Error("IDsOverflow() = false after ids went unremembered")
	}
	if c.IDsOverflow() {
		t.Error("IDsOverflow() = true twice; want it reset by the call")
	}

	bad := testConfig()
	bad.MaxIDs = -1
	if err := bad.WithDefaults().Validate(); err == nil || !strings.Contains(err.Error(), "max_ids") {
		t.Errorf("max_ids -1: %v; want an error naming max_ids", err)
	}
}
