package detect

import (
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

// TestBacklogAlertsOnlyWhatIsLive: a backlog arrives in one burst (the
// demo's corpus at start, a connector catching up after an outage): four
// hours of steady traffic with a surge two hours ago, and a surge eight
// minutes ago. The old surge is learnt from but raises no alert (counted
// as muted); the recent one alerts, although it comes well within the
// cooldown of the old one: a muted bucket holds nothing back. The series
// are warm for it because the backlog fed them.
func TestBacklogAlertsOnlyWhatIsLive(t *testing.T) {
	j := pipelinetest.StartJetStream(t)
	store := &memStore{}
	rep := startReplica(t, j, "solo", store, "")
	now := time.Now().UTC().Truncate(time.Minute)
	tr := newTraffic(11)
	oldAt, liveAt := now.Add(-2*time.Hour), now.Add(-8*time.Minute)
	var backlog []*pipeline.Mention
	backlog = append(backlog, tr.steady(now.Add(-4*time.Hour), oldAt)...)
	backlog = append(backlog, tr.surge(oldAt, 150)...)
	backlog = append(backlog, tr.steady(oldAt.Add(time.Minute), liveAt)...)
	backlog = append(backlog, tr.surge(liveAt, 150)...)
	backlog = append(backlog, tr.steady(liveAt.Add(time.Minute), now.Add(-3*time.Minute))...)
	publishEnriched(t, j.JS, backlog)
	pipelinetest.WaitFor(t, 30*time.Second, "the live surge's alert stored", func() bool { return len(store.get()) > 0 })
	pipelinetest.WaitFor(t, 30*time.Second, "detect consumer drained", func() bool {
		return consumerDone(t, j, pipeline.StreamEnriched, DefaultDurable) && consumerDone(t, j, pipeline.StreamAlerts, DefaultAlertsDurable)
	})
	alerts := streamAlerts(t, j)
	for _, a := range alerts {
		t.Logf("alert %s %s topic %s platform %s bucket %v", a.Status, a.Kind, a.Topic, a.Platform, a.BucketStart)
	}
	var fired []Alert
	for _, a := range alerts {
		if a.Status != StatusResolved {
			fired = append(fired, a)
		}
	}
	if len(fired) != 1 || !fired[0].BucketStart.Equal(liveAt) || fired[0].Topic != "acme" {
		t.Fatalf("stream ALERTS holds %d alerts; want one, acme at the live surge %v", len(fired), liveAt)
	}
	for _, a := range alerts {
		if a.BucketStart.Before(now.Add(-time.Hour)) {
			t.Errorf("%s alert for bucket %v, older than live_within at detection", a.Status, a.BucketStart)
		}
	}
	if n := rep.counter("earshot_detect_alerts_muted_total", "topic", "acme"); n < 1 {
		t.Errorf("earshot_detect_alerts_muted_total{topic=acme} = %v; want the old surge counted as muted", n)
	}
	if n := rep.counter("earshot_detect_mentions_total", "outcome", "counted"); n != float64(len(backlog)) {
		t.Errorf("counted %v mentions; want all %d of the backlog (old ones feed the baselines)", n, len(backlog))
	}
}

// TestLiveWithinValidate: live_within defaults to an hour, may not be
// shorter than the grace (no bucket could alert), and negative turns the
// rule off.
func TestLiveWithinValidate(t *testing.T) {
	c := testConfig()
	c.LiveWithin = time.Second // shorter than grace 5s
	if err := c.Validate(); err == nil {
		t.Error("live_within shorter than grace: Validate() = nil; want an error")
	}
	c.LiveWithin = -1
	if err := c.Validate(); err != nil {
		t.Errorf("live_within negative (off): Validate() = %v", err)
	}
	if got := (Config{}).WithDefaults().LiveWithin; got != DefaultLiveWithin {
		t.Errorf("default live_within = %s; want %s", got, DefaultLiveWithin)
	}
}
