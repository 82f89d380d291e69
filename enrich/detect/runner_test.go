package detect

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

func TestLease(t *testing.T) {
	j := pipelinetest.StartJetStream(t)
	ctx := context.Background()
	kv, err := OpenBucket(ctx, j.JS, "lease_test", 1)
	if err != nil {
		t.Fatal(err)
	}
	const ttl = 600 * time.Millisecond
	a, b := NewLease(kv, "a", ttl), NewLease(kv, "b", ttl)
	if ok, err := a.TryAcquire(ctx); !ok || err != nil {
		t.Fatalf("a.TryAcquire() = %v, %v; want the free lease", ok, err)
	}
	// While a renews, b never gets it, however long it tries.
	deadline := time.Now().Add(3 * ttl)
	for time.Now().Before(deadline) {
		if ok, err := b.TryAcquire(ctx); ok || err != nil {
			t.Fatalf("b.TryAcquire() = %v, %v while a renews; want false", ok, err)
		}
		if err := a.Renew(ctx); err != nil {
			t.Fatalf("a.Renew() = %v", err)
		}
		time.Sleep(ttl / 6) // pacing the renewals, as the runner's ticker does
	}
	if !a.Valid() {
		t.Fatal("a.Valid() = false right after a renewal")
	}
	// a stops renewing (a crash): b takes over after a TTL; a learns it lost.
	pipelinetest.WaitFor(t, 5*time.Second, "b to take the lease over", func() bool {
		ok, err := b.TryAcquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	})
	if a.Valid() {
		t.Error("a.Valid() = true after b took the lease over; want false (it stopped renewing a TTL ago)")
	}
	if err := a.Renew(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("a.Renew() after takeover = %v; want ErrLeaseLost", err)
	}
	// A release hands over at once.
	if err := b.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := a.TryAcquire(ctx); !ok || err != nil {
		t.Errorf("a.TryAcquire() after b released = %v, %v; want true at once", ok, err)
	}
}

func TestCheckpointsFenced(t *testing.T) {
	j := pipelinetest.StartJetStream(t)
	ctx := context.Background()
	kv, err := OpenBucket(ctx, j.JS, "fence_test", 1)
	if err != nil {
		t.Fatal(err)
	}
	old, succ := newCheckpoints(kv), newCheckpoints(kv)
	cp := Checkpoint{State: []byte(`{"v":1}`), Series: map[string][]byte{"series.60.acme._all": []byte(`{}`)}}
	if err := old.save(ctx, cp); err != nil {
		t.Fatal(err)
	}
	if _, _, err := succ.load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := succ.save(ctx, cp); err != nil {
		t.Fatalf("successor save() = %v", err)
	}
	// The former leader wakes up and writes: refused.
	if err := old.save(ctx, cp); !errors.Is(err, ErrFenced) {
		t.Errorf("former leader save() = %v; want ErrFenced", err)
	}
	state, series, err := (newCheckpoints(kv)).load(ctx)
	if err != nil || string(state) != `{"v":1}` || len(series) != 1 {
		t.Errorf("load() = %s, %d series, %v", state, len(series), err)
	}
}

// memStore is an AlertStore in memory, deduplicating by id.
type memStore struct {
	mu     sync.Mutex
	alerts map[string]Alert
	writes int
}

func (s *memStore) WriteAlert(_ context.Context, a Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.alerts == nil {
		s.alerts = map[string]Alert{}
	}
	s.alerts[a.ID] = a
	s.writes++
	return nil
}

func (s *memStore) get() []Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Alert
	for _, a := range s.alerts {
		out = append(out, a)
	}
	return out
}

// publishEnriched publishes mentions to stream ENRICHED as the enrich role
// does.
func publishEnriched(t testing.TB, js jetstream.JetStream, ms []*pipeline.Mention) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var futures []jetstream.PubAckFuture
	for _, m := range ms {
		data, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		msg := &nats.Msg{Subject: pipeline.SubjectEnrichedPrefix + m.Platform, Data: data, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, m.ID)
		f, err := js.PublishMsgAsync(msg)
		for errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			// A loaded machine stores slower than this loop publishes:
			// wait for the outstanding acks and try again.
			select {
			case <-js.PublishAsyncComplete():
			case <-ctx.Done():
				t.Fatalf("publish %s: %v", m.ID, ctx.Err())
			}
			f, err = js.PublishMsgAsync(msg)
		}
		if err != nil {
			t.Fatal(err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			t.Fatal(err)
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
}

// streamAlerts returns the alerts stored in stream ALERTS.
func streamAlerts(t *testing.T, j *pipelinetest.JetStream) []Alert {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := j.JS.Stream(ctx, pipeline.StreamAlerts)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []Alert
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		raw, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		var a Alert
		if err := json.Unmarshal(raw.Data, &a); err != nil {
			t.Fatalf("alert %d: %v", seq, err)
		}
		if raw.Subject != pipeline.SubjectAlertsPrefix+a.Kind {
			t.Errorf("alert on subject %q; want alerts.%s", raw.Subject, a.Kind)
		}
		out = append(out, a)
	}
	return out
}

// replica is one running detect process.
type replica struct {
	r      *Runner
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
}

func startReplica(t *testing.T, j *pipelinetest.JetStream, name string, store AlertStore, crashAt string) *replica {
	t.Helper()
	reg := prometheus.NewRegistry()
	r := &Runner{JS: j.JS, Config: testConfig(), Topics: testTopics, Store: store,
		Metrics: pipeline.NewMetrics(reg), Logger: pipelinetest.Logger(t).With("replica", name), Holder: name, crashAt: crashAt}
	ctx, cancel := context.WithCancel(context.Background())
	rep := &replica{r: r, reg: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { rep.done <- r.Run(ctx) }()
	t.Cleanup(func() { rep.stop(t) })
	return rep
}

// stop ends the replica (a soft stop: it releases the lease) and waits.
func (rep *replica) stop(t *testing.T) {
	rep.cancel()
	if err := <-rep.done; err != nil {
		t.Errorf("Run() = %v", err)
	}
	rep.done <- nil // later stops return at once
}

// exited reports whether Run returned (a crash point was reached).
func (rep *replica) exited() bool {
	select {
	case err := <-rep.done:
		rep.done <- err
		return true
	default:
		return false
	}
}

func (rep *replica) counter(name string, labels ...string) float64 {
	mfs, err := rep.reg.Gather()
	if err != nil {
		panic(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

// lostLead reports whether the replica lost its leadership while running
// (a lease not renewed in time on a loaded machine, a fenced checkpoint).
func lostLead(rep *replica) bool {
	return rep.counter("earshot_stage_errors_total", "stage", stage, "type", "leadership") > 0
}

// consumerDone reports whether the consumer has acknowledged every message
// of its stream (see pipelinetest.CaughtUp: NumPending can read 0 before
// the consumer saw a burst just published).
func consumerDone(t testing.TB, j *pipelinetest.JetStream, stream, durable string) bool {
	t.Helper()
	return j.CaughtUp(t, stream, durable)
}

// scenario is steady history for acme and zenith-free traffic, a surge,
// and a little steady traffic after it, all in the past.
func scenario(seed uint64) (history, surge []*pipeline.Mention, surgeAt time.Time) {
	now := time.Now().UTC().Truncate(time.Minute)
	tr := newTraffic(seed)
	surgeAt = now.Add(-8 * time.Minute)
	history = tr.steady(now.Add(-2*time.Hour), surgeAt)
	surge = append(tr.surge(surgeAt, 150), tr.steady(surgeAt.Add(time.Minute), now.Add(-3*time.Minute))...)
	return history, surge, surgeAt
}

// TestRunnerAlertsOnce: one replica counts steady history without alerting,
// then a surge raises exactly one alert, on NATS, in the store and in the
// metrics, with the gauges set.
func TestRunnerAlertsOnce(t *testing.T) {
	j := pipelinetest.StartJetStream(t)
	store := &memStore{}
	rep := startReplica(t, j, "solo", store, "")
	history, surge, surgeAt := scenario(1)
	publishEnriched(t, j.JS, history)
	pipelinetest.WaitFor(t, 30*time.Second, "history counted", func() bool {
		return rep.counter("earshot_detect_mentions_total", "outcome", "counted") == float64(len(history))
	})
	if n := len(streamAlerts(t, j)); n != 0 {
		t.Fatalf("steady history raised %d alerts; want none", n)
	}
	publishEnriched(t, j.JS, surge)
	pipelinetest.WaitFor(t, 30*time.Second, "the surge's alert stored", func() bool { return len(store.get()) > 0 })
	pipelinetest.WaitFor(t, 30*time.Second, "detect consumer drained", func() bool {
		return consumerDone(t, j, pipeline.StreamEnriched, DefaultDurable) && consumerDone(t, j, pipeline.StreamAlerts, DefaultAlertsDurable)
	})
	alerts := streamAlerts(t, j)
	if len(alerts) != 1 {
		t.Fatalf("stream ALERTS holds %d alerts; want 1", len(alerts))
	}
	a := alerts[0]
	if a.Topic != "acme" || !a.BucketStart.Equal(surgeAt) || !hasMover(a.Explanation, "hashtag", "acmefire") {
		t.Errorf("alert = %s at %v, movers %+v; want acme at %v explained by hashtag acmefire", a.Topic, a.BucketStart, a.Explanation.Top, surgeAt)
	}
	if got := store.get(); len(got) != 1 || got[0].ID != a.ID {
		t.Errorf("store holds %d alerts; want the published one", len(got))
	}
	if n := rep.counter("earshot_alerts_total"); n != 1 {
		t.Errorf("earshot_alerts_total = %v; want 1", n)
	}
	if n := rep.counter("earshot_alerts_total", "kind", a.Kind, "topic", "acme", "platform", All); n != 1 {
		t.Errorf("earshot_alerts_total{kind=%q,topic=acme} = %v; want 1", a.Kind, n)
	}
	if n := rep.counter("earshot_detect_leader"); n != 1 {
		t.Errorf("earshot_detect_leader = %v; want 1", n)
	}
	if n := rep.counter("earshot_topic_baseline_rate", "topic", "acme", "resolution", "1m"); n < 3 || n > 10 {
		t.Errorf("earshot_topic_baseline_rate{topic=acme} = %v; want the steady 4-8 per minute", n)
	}
	if n := testutil.CollectAndCount(rep.r.m.Rate); n != 4 {
		t.Errorf("earshot_topic_mentions_rate has %d series; want 4 (acme, zenith, rss, _all)", n)
	}
	if n := rep.counter("earshot_stage_last_processed_timestamp_seconds", "stage", "detect"); n == 0 {
		t.Error("earshot_stage_last_processed_timestamp_seconds{stage=detect} is unset")
	}
}

// TestRunnerCrashRedelivery: a leader that crashes after its checkpoint
// but before acknowledging leaves the batch to be redelivered; its
// successor recognises every redelivered mention and counts each mention
// exactly once.
func TestRunnerCrashRedelivery(t *testing.T) {
	j := pipelinetest.StartJetStream(t)
	history, _, _ := scenario(2)
	publishEnriched(t, j.JS, history)
	first := startReplica(t, j, "first", nil, "before-ack")
	pipelinetest.WaitFor(t, 30*time.Second, "the first replica to crash", first.exited)
	counted1 := first.counter("earshot_detect_mentions_total", "outcome", "counted")
	if counted1 == 0 {
		t.Fatal("the first replica counted nothing before its crash point")
	}
	second := startReplica(t, j, "second", nil, "")
	pipelinetest.WaitFor(t, 30*time.Second, "the successor to drain the stream", func() bool {
		return consumerDone(t, j, pipeline.StreamEnriched, DefaultDurable)
	})
	counted2 := second.counter("earshot_detect_mentions_total", "outcome", "counted")
	redelivered := second.counter("earshot_detect_mentions_total", "outcome", "redelivered")
	if counted1+counted2 != float64(len(history)) {
		t.Errorf("counted %v before the crash + %v after = %v; want each of the %d mentions once", counted1, counted2, counted1+counted2, len(history))
	}
	if redelivered < counted1 {
		t.Errorf("redelivered = %v; want the %v unacknowledged mentions recognised", redelivered, counted1)
	}
}

// TestRunnerReplicas: two replicas share the work; one counts, and when it
// crashes mid-stream the other takes over from the checkpoint: warm (the
// surge alerts without a new warm-up), with no false alarm, one alert.
func TestRunnerReplicas(t *testing.T) {
	j := pipelinetest.StartJetStream(t)
	store := &memStore{}
	history, surge, _ := scenario(3)
	a := startReplica(t, j, "a", store, "before-publish")
	pipelinetest.WaitFor(t, 10*time.Second, "a to lead", func() bool { return a.counter("earshot_detect_leader") == 1 })
	b := startReplica(t, j, "b", store, "")
	publishEnriched(t, j.JS, history)
	pipelinetest.WaitFor(t, 30*time.Second, "history counted", func() bool {
		return consumerDone(t, j, pipeline.StreamEnriched, DefaultDurable)
	})
	if b.counter("earshot_detect_leader") != 0 || b.counter("earshot_detect_mentions_total") != 0 {
		t.Fatal("the standby counted while the leader was alive")
	}
	// The leader crashes as it is about to publish the surge's alert; the
	// standby takes over after the lease TTL, restores the checkpoint and
	// publishes it.
	publishEnriched(t, j.JS, surge)
	pipelinetest.WaitFor(t, 30*time.Second, "a to crash", a.exited)
	pipelinetest.WaitFor(t, 30*time.Second, "the alert stored", func() bool { return len(store.get()) > 0 })
	pipelinetest.WaitFor(t, 30*time.Second, "consumers drained", func() bool {
		return consumerDone(t, j, pipeline.StreamEnriched, DefaultDurable) && consumerDone(t, j, pipeline.StreamAlerts, DefaultAlertsDurable)
	})
	if n := len(streamAlerts(t, j)); n != 1 {
		t.Errorf("stream ALERTS holds %d alerts; want 1", n)
	}
	if n := a.counter("earshot_alerts_total") + b.counter("earshot_alerts_total"); n != 1 {
		t.Errorf("earshot_alerts_total over both replicas = %v; want 1", n)
	}
	// What a counted after its last checkpoint died with it and b counted
	// it again; nothing was counted twice into the state: the alert's
	// bucket holds 150, not more.
	ca := a.counter("earshot_detect_mentions_total", "outcome", "counted")
	cb := b.counter("earshot_detect_mentions_total", "outcome", "counted")
	if ca < float64(len(history)) || cb > float64(len(surge)) || ca+cb < float64(len(history)+len(surge)) {
		t.Errorf("a counted %v, b %v; want a the %d of the history at least, b at most the %d after it, together all",
			ca, cb, len(history), len(surge))
	}
	got := store.get()
	if len(got) != 1 || got[0].Observed != 150 {
		t.Fatalf("stored alerts = %+v; want one alert on a bucket of 150", got)
	}
	// b rebuilt the samples a had from the stream: the explanation is whole.
	if !hasMover(got[0].Explanation, "hashtag", "acmefire") {
		t.Errorf("explanation after takeover = %+v; want hashtag acmefire", got[0].Explanation)
	}
	// The reader b replayed with is gone: the only reader left on ENRICHED
	// is the durable consumer, which acknowledges.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := j.JS.Stream(ctx, pipeline.StreamEnriched)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range st.ConsumerNames(ctx).Name() {
		names = append(names, n)
	}
	if len(names) != 1 || names[0] != DefaultDurable {
		t.Errorf("consumers on ENRICHED after the takeover = %v; want only %q (the replay reader removed)", names, DefaultDurable)
	}
}

// TestRunnerRestartWarm: after a soft stop and a restart the detector
// resumes from its checkpoint: steady traffic raises nothing, and a surge
// right after the restart alerts (a detector starting cold would still be
// warming up).
func TestRunnerRestartWarm(t *testing.T) {
	j := pipelinetest.StartJetStream(t)
	history, surge, _ := scenario(4)
	first := startReplica(t, j, "first", nil, "")
	publishEnriched(t, j.JS, history)
	pipelinetest.WaitFor(t, 30*time.Second, "history counted", func() bool {
		return consumerDone(t, j, pipeline.StreamEnriched, DefaultDurable)
	})
	first.stop(t)
	// Every history mention was acknowledged, so checkpointed before: the
	// first replica counted each once (the metric counts a mention again
	// only when a leadership lost on a loaded machine dropped the count
	// with the batch it had not checkpointed).
	if n := first.counter("earshot_detect_mentions_total", "outcome", "counted"); n < float64(len(history)) ||
		n > float64(len(history)) && !lostLead(first) {
		t.Fatalf("the first replica counted %v before its stop; want the %d of the history", n, len(history))
	}
	second := startReplica(t, j, "second", nil, "")
	publishEnriched(t, j.JS, surge)
	pipelinetest.WaitFor(t, 30*time.Second, "the surge's alert", func() bool { return len(streamAlerts(t, j)) > 0 })
	pipelinetest.WaitFor(t, 30*time.Second, "drained", func() bool {
		return consumerDone(t, j, pipeline.StreamEnriched, DefaultDurable)
	})
	if n := len(streamAlerts(t, j)); n != 1 {
		t.Errorf("stream ALERTS holds %d alerts; want 1", n)
	}
	if n := second.counter("earshot_detect_mentions_total", "outcome", "counted"); n < float64(len(surge)) ||
		n > float64(len(surge)) && !lostLead(second) {
		t.Errorf("the restarted replica counted %v; want the %d new mentions only", n, len(surge))
	}
}
