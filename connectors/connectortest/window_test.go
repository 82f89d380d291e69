package connectortest

import (
	"testing"
	"time"
)

func TestWindowRecordsViolations(t *testing.T) {
	w := NewWindow(2, time.Second)
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for i, want := range []bool{true, true, false} {
		if g := w.Take("GET /x", t0.Add(time.Duration(i)*time.Millisecond)); g.OK != want || g.Limit != 2 {
			t.Errorf("request %d: %+v; want ok %v", i, g, want)
		}
	}
	// The 2nd answer announced remaining 0: the 3rd request broke it.
	if v := w.Violations(); len(v) != 1 {
		t.Errorf("violations = %v; want the third request", v)
	}
	if g := w.Take("GET /x", t0.Add(time.Second)); !g.OK || g.Remaining != 1 {
		t.Errorf("after the reset: %+v; want a new window", g)
	}
	w.RefuseNext(1)
	g := w.Take("GET /x", t0.Add(1100*time.Millisecond))
	if g.OK || g.Remaining != 0 || !g.Reset.Equal(t0.Add(2100*time.Millisecond)) {
		t.Errorf("refused request: %+v; want 429 with the window spent for a second", g)
	}
	if w.Throttled() != 2 || len(w.Violations()) != 1 {
		t.Errorf("throttled %d, violations %v; want 2 and 1", w.Throttled(), w.Violations())
	}
}
