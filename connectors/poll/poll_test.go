package poll

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

func TestTimeCursorAdvance(t *testing.T) {
	c := TimeCursor{At: 100, Seen: map[string]int64{"old": 40, "edge": 90, "top": 100}}
	next := c.Advance(map[string]int64{"a": 105, "b": 80}, 110, 15)
	if next.At != 110 {
		t.Errorf("At = %d; want 110", next.At)
	}
	for id, want := range map[string]bool{"old": false, "edge": false, "top": true, "a": true, "b": false} {
		if got := next.Has(id); got != want {
			t.Errorf("Has(%q) = %v; want %v (kept: created within 15 s of 110)", id, got, want)
		}
	}
	// Reading nothing newer keeps At.
	if n := next.Advance(nil, 50, 15); n.At != 110 || !n.Has("a") {
		t.Errorf("Advance(nothing) = %+v; want At 110 and the ids kept", n)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		v    string
		want time.Duration
	}{
		{"7", 7 * time.Second},
		{"1.5", 1500 * time.Millisecond},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{"", time.Minute},
		{"soon", time.Minute},
	} {
		h := http.Header{}
		if tt.v != "" {
			h.Set("Retry-After", tt.v)
		}
		if got := RetryAfter(h, now, time.Minute); got != tt.want {
			t.Errorf("RetryAfter(%q) = %v; want %v", tt.v, got, tt.want)
		}
	}
}

func TestTopicQueriesAndPerPeriod(t *testing.T) {
	var errs []error
	qs := TopicQueries([]pipeline.Topic{{ID: "a", Query: "x OR y"}, {ID: "b", Query: "z"}}, map[string][]string{"b": {" w ", ""}, "c": {"q"}}, &errs)
	if len(qs) != 3 || qs[0] != (TopicQuery{"x", "a"}) || qs[1] != (TopicQuery{"y", "a"}) || qs[2] != (TopicQuery{"w", "b"}) {
		t.Errorf("TopicQueries = %+v", qs)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `"c" is not a topic id`) {
		t.Errorf("errors = %v; want the unknown topic c", errs)
	}
	errs = nil
	if g := PerPeriod("rpm", 0, 20, time.Minute, &errs); g != 3*time.Second || len(errs) != 0 {
		t.Errorf("PerPeriod(default 20/min) = %v, %v", g, errs)
	}
	if g := PerPeriod("rpm", -1, 20, time.Minute, &errs); g != 3*time.Second || len(errs) != 1 {
		t.Errorf("PerPeriod(-1) = %v, %v; want the default and an error", g, errs)
	}
}

func TestRecentAddPruneApply(t *testing.T) {
	s := &Recent{}
	now := time.Unix(1000, 0)
	s.Add([]Item{{ID: "1", Created: 900}, {ID: "2", Created: 950}, {ID: "3", Created: 990, Group: "g"}, {ID: "3", Created: 990}}, now.Add(-200*time.Second), 3)
	if got := s.Snapshot(now.Add(-60*time.Second), 10); len(got) != 3 || got[0].ID != "2" {
		t.Errorf("Snapshot(horizon 940) = %+v; want item 2 and both items 3 (item 1 dropped by max 3)", got)
	}
	s.Apply([]Item{{ID: "3", Group: "g"}}, []Item{{ID: "3", Created: 990, Version: "v2"}})
	if it, ok := s.Get("", "3"); !ok || it.Version != "v2" {
		t.Errorf("Get(3) = %+v, %v; want the updated version", it, ok)
	}
	if _, ok := s.Get("g", "3"); ok {
		t.Errorf("item 3 of group g is still there after it was deleted")
	}
}
