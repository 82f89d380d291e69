package trend

import (
	"testing"
	"time"
)

// TestEventLifecycle follows one burst from its alert to its resolution:
// the alert has a severity, the event its first and last buckets away from
// the baseline and its peak, and it resolves once the series is back; a
// negative surge during the hold does not page again.
func TestEventLifecycle(t *testing.T) {
	cfg := DefaultConfig()
	at := warm + 100
	series := synth(7, 10, 20, func(i int, o *obs) {
		switch {
		case i == at:
			o.count += 150
		case i > at && i <= at+6: // the story goes on for half an hour, angrier
			o.count += 200
			o.negative = o.count * 0.45
		}
	})
	rs := run(t, cfg, series)
	if got := alerts(rs, warm-1); len(got) != 1 || got[at] == "" {
		t.Fatalf("alerts = %v; want one, at bucket %d (a spike held for the rest of the event)", got, at)
	}
	a := rs[at]
	if a.Severity != SeverityWarning && a.Severity != SeverityCritical {
		t.Errorf("alert severity = %q; want warning or critical", a.Severity)
	}
	if a.Event == nil || !a.Event.First.Equal(series[at].t) || a.Event.Kind != a.Kind || a.Event.Alerts != 1 {
		t.Fatalf("alert's event = %+v; want one opened at %s by the %s", a.Event, series[at].t, a.Kind)
	}
	end := -1
	for i := at + 1; i < len(rs); i++ {
		if rs[i].Resolved {
			end = i
			break
		}
		if rs[i].Event == nil {
			t.Fatalf("bucket %d: the event vanished without a resolution", i)
		}
	}
	if end < 0 {
		t.Fatal("the event never resolved")
	}
	ev := rs[end].Event
	if !ev.Last.Equal(series[at+6].t) {
		t.Errorf("event last bucket = %s; want %s, the last of the burst", ev.Last, series[at+6].t)
	}
	if ev.Peak != series[at+1].count && ev.Peak < 200 {
		t.Errorf("event peak = %v at %s; want the burst's highest bucket", ev.Peak, ev.PeakAt)
	}
	if ev.PeakExpected <= 0 || ev.PeakExpected > 60 {
		t.Errorf("event peak expected = %v; want the baseline (about 20)", ev.PeakExpected)
	}
	if d := series[end].t.Sub(ev.Last); d < time.Hour || d > 6*time.Hour {
		t.Errorf("resolved %s after the last bucket away; want after an hour of calm, within hours", d)
	}
	if rs[end+1].Event != nil {
		t.Errorf("bucket after the resolution still has an event: %+v", rs[end+1].Event)
	}

	// Without the hold, the angry half hour pages again as a negative surge.
	cfg.Hold = 0
	if got := alerts(run(t, cfg, series), warm-1); len(got) < 2 {
		t.Errorf("without hold: alerts = %v; want the negative surge too", got)
	}
}

// TestEventSurvivesRestore checks that an open event is part of the
// checkpointed state: a detector restored mid-event resolves it as the
// original does.
func TestEventSurvivesRestore(t *testing.T) {
	at := warm + 100
	series := synth(8, 10, 20, func(i int, o *obs) {
		if i == at {
			o.count += 200
		}
	})
	want := run(t, DefaultConfig(), series)
	d, err := NewDetector(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range series[:at+2] {
		if _, err := d.Observe(o.t, o.count, o.negative); err != nil {
			t.Fatal(err)
		}
	}
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := NewDetector(DefaultConfig())
	if err := d2.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	for i, o := range series[at+2:] {
		r, err := d2.Observe(o.t, o.count, o.negative)
		if err != nil {
			t.Fatal(err)
		}
		if w := want[at+2+i]; r.Resolved != w.Resolved || (r.Event == nil) != (w.Event == nil) {
			t.Fatalf("bucket %d after restore: resolved %v event %v; want %v %v", at+2+i, r.Resolved, r.Event, w.Resolved, w.Event)
		}
	}
}

// TestSpikeResolvesAfterResolveAfter: a burst that dies down within
// minutes resolves once the series has been calm for ResolveAfter, not
// hours later while the ramp window still holds the burst's own mentions.
func TestSpikeResolvesAfterResolveAfter(t *testing.T) {
	cfg := DefaultConfig()
	at := warm + 100
	series := synth(11, 10, 20, func(i int, o *obs) {
		switch {
		case i == at:
			o.count += 150
		case i > at && i <= at+2:
			o.count += 40
		}
	})
	rs := run(t, cfg, series)
	if rs[at].Kind != KindSpike || !rs[at].Alert {
		t.Fatalf("bucket %d: %+v; want the burst's spike alert", at, rs[at])
	}
	for i := at + 1; i < len(rs); i++ {
		if rs[i].Resolved {
			ev := rs[i].Event
			if d := series[i].t.Sub(ev.Last); d < cfg.ResolveAfter || d > cfg.ResolveAfter+30*time.Minute {
				t.Errorf("resolved %s after the last bucket away from the baseline; want about ResolveAfter (%s)", d, cfg.ResolveAfter)
			}
			return
		}
	}
	t.Fatalf("the spike's event never resolved (%d buckets after it)", len(rs)-at)
}
