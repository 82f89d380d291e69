package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

// smallStreams holds about two hundred test mentions per stream.
var smallStreams = pipeline.StreamsConfig{MaxBytes: 64 << 10}

func fillerMentions(prefix string, from, n int) []*pipeline.Mention {
	ms := make([]*pipeline.Mention, n)
	for i := range ms {
		ms[i] = &pipeline.Mention{ID: fmt.Sprintf("%s:%d", prefix, from+i), Platform: "test",
			Text: fmt.Sprintf("mention %d of a stream at its limits: acme support never answered my ticket #acme", from+i)}
	}
	return ms
}

// fillStream publishes one mention at a time until the stream refuses one,
// and returns how many it stored and the refusal.
func fillStream(t *testing.T, pub pipeline.Publisher, prefix string) (int, error) {
	t.Helper()
	for i := 0; i < 10000; i++ {
		if err := pub.Publish(context.Background(), fillerMentions(prefix, i, 1)); err != nil {
			return i, err
		}
	}
	t.Fatalf("stream took 10000 mentions under max_bytes %d; want it full", smallStreams.MaxBytes)
	return 0, nil
}

func durable(t *testing.T, js jetstream.JetStream, cfg jetstream.ConsumerConfig) jetstream.Consumer {
	t.Helper()
	if cfg.AckPolicy == jetstream.AckExplicitPolicy && cfg.MaxAckPending == 0 {
		cfg.MaxAckPending = 10000
	}
	c, err := pipeline.EnsureConsumer(context.Background(), js, pipeline.StreamMentions, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// take fetches up to n messages, acknowledges them when ack is set, and
// returns their mention ids.
func take(t *testing.T, c jetstream.Consumer, n int, ack bool) []string {
	t.Helper()
	var ids []string
	for len(ids) < n {
		batch, err := c.Fetch(min(n-len(ids), 100), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			m, err := pipeline.Unmarshal(msg.Data())
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, m.ID)
			if ack {
				if err := msg.DoubleAck(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
		}
		if got == 0 {
			break
		}
	}
	return ids
}

func streamState(t *testing.T, js jetstream.JetStream, name string) jetstream.StreamState {
	t.Helper()
	st, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State
}

// The bug this fixes, and the fix: under DiscardNew a stream at max_bytes
// refuses mentions, and acknowledged ones kept it full until max_age. Now
// the connector is pushed back while the consumer is behind, space frees as
// the consumer acknowledges, and every mention arrives exactly once.
func TestFullStreamPushesBackThenFreesWhatWasAcknowledged(t *testing.T) {
	js := pipelinetest.StartJetStreamWith(t, t.TempDir(), -1, smallStreams)
	ctx := context.Background()
	cons := durable(t, js.JS, jetstream.ConsumerConfig{Durable: "enrich", AckPolicy: jetstream.AckExplicitPolicy,
		FilterSubject: pipeline.SubjectRawPrefix + ">", DeliverPolicy: jetstream.DeliverAllPolicy})
	metrics := pipeline.NewMetrics(prometheus.NewRegistry())
	pub := pipeline.NewRawPublisher(js.JS, metrics.Connector("test", "filler"))

	// The stream fills; the consumer has read nothing, so nothing frees.
	n, err := fillStream(t, pub, "first")
	if !errors.Is(err, pipeline.ErrStreamFull) {
		t.Fatalf("Publish on a full stream = %v; want ErrStreamFull", err)
	}
	if !strings.Contains(err.Error(), "consumer enrich has") {
		t.Errorf("Publish on a full stream = %q; want it to name the consumer that holds the stream", err)
	}
	t.Logf("MENTIONS full after %d mentions (max_bytes %d): %v", n, smallStreams.MaxBytes, err)
	if n < 50 {
		t.Fatalf("stream full after %d mentions; want the test mentions to fill it in the hundreds", n)
	}
	received := map[string]int{}
	for _, id := range take(t, cons, n, true) {
		received[id]++
	}
	if len(received) != n {
		t.Fatalf("consumer read %d distinct mentions; want %d", len(received), n)
	}

	// The bug: acknowledged messages still hold the space, a plain publish
	// is refused.
	// The same message the stream refused, without the reclaim.
	refused := fillerMentions("first", n, 1)[0]
	if err := refused.Normalize(time.Now()); err != nil {
		t.Fatal(err)
	}
	data, _ := refused.Marshal()
	msg := &nats.Msg{Subject: pipeline.SubjectRawPrefix + refused.Platform, Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, refused.MsgID())
	if _, err := js.JS.PublishMsg(ctx, msg); err == nil {
		t.Fatal("a plain publish to a full stream whose messages were all acknowledged succeeded; want it refused (LimitsPolicy keeps them)")
	}

	// A connector goes on publishing 1,000 more in batches of 25. It fills
	// the stream again, is pushed back, and the consumer starts reading only
	// once it was: every retry has to wait for acknowledgements.
	const more = 1000
	c := startConnector(ctx, pub, "more", more)
	select {
	case <-c.pushedBack:
	case err := <-c.published:
		t.Fatalf("1,000 mentions published into a %d-byte stream without a push-back (err %v); want the connector pushed back", smallStreams.MaxBytes, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the connector was never pushed back")
	}
	published, retries, fullRetries := c.published, &c.retries, &c.fullRetries
	done := false
	deadline := time.Now().Add(60 * time.Second)
	for len(received) < n+more && time.Now().Before(deadline) {
		for _, id := range take(t, cons, 20, true) {
			received[id]++
		}
		if !done {
			select {
			case err := <-published:
				if err != nil {
					t.Fatal(err)
				}
				done = true
			default:
			}
		}
	}
	if !done {
		if err := <-published; err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range take(t, cons, 10, true) { // nothing more may come
		received[id]++
	}
	t.Logf("connector retries %d (%d on a full stream); consumer received %d distinct mentions", retries.Load(), fullRetries.Load(), len(received))
	checkOnce(t, received, "more", more, n+more)
	pushback := testutil.ToFloat64(metrics.StreamPushBack.WithLabelValues(pipeline.StreamMentions))
	reclaimed := testutil.ToFloat64(metrics.StreamReclaimed.WithLabelValues(pipeline.StreamMentions))
	t.Logf("earshot_stream_pushback_total %v, earshot_stream_reclaimed_messages_total %v", pushback, reclaimed)
	if pushback < float64(fullRetries.Load()+1) || reclaimed < float64(n) {
		t.Errorf("pushback counter %v, reclaimed counter %v; want at least %d refusals and %d messages freed", pushback, reclaimed, fullRetries.Load()+1, n)
	}
	if s := streamState(t, js.JS, pipeline.StreamMentions); s.Bytes > uint64(smallStreams.MaxBytes) {
		t.Errorf("stream holds %d bytes; want at most max_bytes %d", s.Bytes, smallStreams.MaxBytes)
	}
}

// connector publishes prefix:0 … prefix:n-1 in the background in batches
// of 25, as a connector does, counting its retries.
type connector struct {
	retries, fullRetries atomic.Int64
	pushedBack           chan struct{} // closed at the first retry on a full stream
	published            chan error    // the end: nil once every mention was acknowledged
}

func startConnector(ctx context.Context, pub pipeline.Publisher, prefix string, n int) *connector {
	c := &connector{pushedBack: make(chan struct{}), published: make(chan error, 1)}
	var once sync.Once
	go func() {
		for i := 0; i < n; i += 25 {
			err := pipeline.PublishUntilAcked(ctx, pub, fillerMentions(prefix, i, min(25, n-i)),
				pipeline.Backoff{Min: 5 * time.Millisecond, Max: 100 * time.Millisecond},
				func(err error, _ time.Duration) {
					c.retries.Add(1)
					if errors.Is(err, pipeline.ErrStreamFull) {
						c.fullRetries.Add(1)
						once.Do(func() { close(c.pushedBack) })
					}
				})
			if err != nil {
				c.published <- err
				return
			}
		}
		c.published <- nil
	}()
	return c
}

// checkOnce checks that received holds prefix:0 … prefix:more-1, every id
// once, and total ids in all.
func checkOnce(t *testing.T, received map[string]int, prefix string, more, total int) {
	t.Helper()
	for i := 0; i < more; i++ {
		if id := fmt.Sprintf("%s:%d", prefix, i); received[id] != 1 {
			t.Errorf("mention %s received %d times; want exactly once", id, received[id])
		}
	}
	for id, k := range received {
		if k != 1 {
			t.Errorf("mention %s received %d times; want once", id, k)
		}
	}
	if len(received) != total {
		t.Errorf("consumer received %d distinct mentions; want %d", len(received), total)
	}
}

// purgingPublisher frees a full stream by purging it whole, unread
// messages too: what DiscardOld, or a fix that ignored the consumers, does.
type purgingPublisher struct {
	pipeline.Publisher
	js     jetstream.JetStream
	purged int
}

func (p *purgingPublisher) Publish(ctx context.Context, ms []*pipeline.Mention) error {
	err := p.Publisher.Publish(ctx, ms)
	if !errors.Is(err, pipeline.ErrStreamFull) {
		return err
	}
	st, serr := p.js.Stream(ctx, pipeline.StreamMentions)
	if serr != nil {
		return serr
	}
	if serr := st.Purge(ctx); serr != nil {
		return serr
	}
	p.purged++
	return p.Publisher.Publish(ctx, ms)
}

// The negative control: the same publishing and counting as above with a
// publisher that frees a full stream without asking its consumers. The
// counts must then show mentions lost; if they did not, the test above
// could not detect a loss either.
func TestFullStreamNegativeControlPurgingUnreadLoses(t *testing.T) {
	js := pipelinetest.StartJetStreamWith(t, t.TempDir(), -1, smallStreams)
	ctx := context.Background()
	cons := durable(t, js.JS, jetstream.ConsumerConfig{Durable: "enrich", AckPolicy: jetstream.AckExplicitPolicy,
		FilterSubject: pipeline.SubjectRawPrefix + ">", DeliverPolicy: jetstream.DeliverAllPolicy})
	pub := &purgingPublisher{Publisher: pipeline.NewRawPublisher(js.JS, nil), js: js.JS}
	const more = 1000
	for i := 0; i < more; i += 25 {
		if err := pipeline.PublishUntilAcked(ctx, pub, fillerMentions("more", i, 25),
			pipeline.Backoff{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond}, nil); err != nil {
			t.Fatal(err)
		}
	}
	received := map[string]int{}
	for _, id := range take(t, cons, more, true) {
		received[id]++
	}
	lost := more - len(received)
	t.Logf("purging whole: %d published and acknowledged, %d purges, %d received, %d lost", more, pub.purged, len(received), lost)
	if lost <= 0 {
		t.Errorf("a publisher purging unread mentions lost none of %d (received %d); want the counts to show the loss", more, len(received))
	}
}

// Who holds a full stream back: a durable consumer that acknowledges, until
// it did; not an ordered reader, not a consumer that opted out, not an idle
// consumer whose filter matches nothing. A stream nobody acknowledges is
// never freed.
func TestReclaimFreesOnlyWhatEveryHoldingConsumerAcknowledged(t *testing.T) {
	js := pipelinetest.StartJetStreamWith(t, t.TempDir(), -1, smallStreams)
	ctx := context.Background()
	pub := pipeline.NewRawPublisher(js.JS, nil)

	n, err := fillStream(t, pub, "held")
	if !errors.Is(err, pipeline.ErrStreamFull) || !strings.Contains(err.Error(), "no consumer acknowledges") {
		t.Fatalf("Publish on a full stream with no consumer = %v; want ErrStreamFull saying no consumer acknowledges it", err)
	}
	// An ordered reader reads everything; it holds nothing back, and frees nothing.
	oc, err := js.JS.OrderedConsumer(ctx, pipeline.StreamMentions, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if got := take(t, oc, n, false); len(got) != n {
		t.Fatalf("ordered reader read %d; want %d", len(got), n)
	}
	if r, err := pipeline.Reclaim(ctx, js.JS, pipeline.StreamMentions); err != nil || r.Removed != 0 || r.Holder != "" {
		t.Fatalf("Reclaim with only an ordered reader = %+v, %v; want nothing removed and no holder", r, err)
	}

	all := jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy}
	slowCfg, fastCfg, optCfg, idleCfg := all, all, all, all
	slowCfg.Durable, fastCfg.Durable = "slow", "fast"
	optCfg.Durable, optCfg.Metadata = "optout", map[string]string{pipeline.MetaHold: "false"}
	idleCfg.Durable, idleCfg.FilterSubject = "idle", pipeline.SubjectRawPrefix+"nothing"
	slow, fast := durable(t, js.JS, slowCfg), durable(t, js.JS, fastCfg)
	durable(t, js.JS, optCfg)
	durable(t, js.JS, idleCfg)
	take(t, fast, n, true)
	r, err := pipeline.Reclaim(ctx, js.JS, pipeline.StreamMentions)
	if err != nil || r.Removed != 0 || r.Holder != "slow" || r.Behind != uint64(n) {
		t.Fatalf("Reclaim while slow has read nothing = %+v, %v; want nothing removed, held by slow, %d behind", r, err, n)
	}

	// slow acknowledges the first half: exactly that half goes.
	half := n / 2
	first := take(t, slow, half, true)
	r, err = pipeline.Reclaim(ctx, js.JS, pipeline.StreamMentions)
	if err != nil || r.Removed != uint64(half) {
		t.Fatalf("Reclaim after slow acknowledged %d = %+v, %v; want %d removed", half, r, err, half)
	}
	if s := streamState(t, js.JS, pipeline.StreamMentions); s.Msgs != uint64(n-half) {
		t.Fatalf("stream holds %d after reclaim; want the %d slow has not acknowledged", s.Msgs, n-half)
	}
	rest := take(t, slow, n, true)
	if len(rest) != n-half || rest[0] != fmt.Sprintf("held:%d", half) || first[half-1] != fmt.Sprintf("held:%d", half-1) {
		t.Fatalf("slow read %d then %d (first of the rest %q); want %d then %d from held:%d", len(first), len(rest), rest[0], half, n-half, half)
	}
	// Every holding consumer has acknowledged everything: the older half
	// goes, the newer half stays as a replay window, and so on.
	left := n - half
	for left > 1 {
		r, err := pipeline.Reclaim(ctx, js.JS, pipeline.StreamMentions)
		if err != nil || r.Removed != uint64(left/2) {
			t.Fatalf("Reclaim of a stream of %d acknowledged messages = %+v, %v; want the older %d removed", left, r, err, left/2)
		}
		left -= left / 2
		if s := streamState(t, js.JS, pipeline.StreamMentions); s.Msgs != uint64(left) || s.LastSeq != uint64(n) {
			t.Fatalf("stream holds %d up to seq %d; want the newest %d up to %d", s.Msgs, s.LastSeq, left, n)
		}
	}
	// A freed mention republished (a connector that re-read it) is still
	// dropped as a duplicate: the purge keeps the duplicate window.
	if err := pub.Publish(ctx, fillerMentions("held", 0, 1)); err != nil {
		t.Fatal(err)
	}
	if s := streamState(t, js.JS, pipeline.StreamMentions); s.Msgs != uint64(left) || s.LastSeq != uint64(n) {
		t.Errorf("after republishing a freed mention the stream holds %d up to seq %d; want it dropped as a duplicate (%d up to %d)", s.Msgs, s.LastSeq, left, n)
	}
}

// bareJetStream is an embedded server with none of earshot's streams.
func bareJetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	s, err := pipeline.StartEmbeddedNATS(pipeline.EmbeddedNATSOptions{Dir: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// A stream that exists with a retention JetStream cannot change in place is
// refused at start with what to do, and keeps its messages; one it can
// change (Interest, DiscardOld) is brought to Limits and DiscardNew with its
// messages kept.
func TestEnsureStreamsRetentionMismatch(t *testing.T) {
	for _, tc := range []struct {
		name      string
		retention jetstream.RetentionPolicy
		discard   jetstream.DiscardPolicy
		refused   bool
	}{
		{"workqueue", jetstream.WorkQueuePolicy, jetstream.DiscardNew, true},
		{"interest", jetstream.InterestPolicy, jetstream.DiscardNew, false},
		{"limits discard old", jetstream.LimitsPolicy, jetstream.DiscardOld, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			js := bareJetStream(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: pipeline.StreamMentions, Subjects: []string{pipeline.SubjectRawPrefix + ">"},
				Retention: tc.retention, Discard: tc.discard, Storage: jetstream.FileStorage}); err != nil {
				t.Fatal(err)
			}
			// Interest keeps messages only while a consumer is interested.
			if _, err := js.CreateOrUpdateConsumer(ctx, pipeline.StreamMentions, jetstream.ConsumerConfig{Durable: "enrich", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				if _, err := js.Publish(ctx, pipeline.SubjectRawPrefix+"test", []byte("kept")); err != nil {
					t.Fatal(err)
				}
			}
			err := pipeline.EnsureStreams(ctx, js, pipeline.StreamsConfig{})
			st, serr := js.Stream(ctx, pipeline.StreamMentions)
			if serr != nil {
				t.Fatal(serr)
			}
			info, _ := st.Info(ctx)
			if info.State.Msgs != 3 {
				t.Errorf("after EnsureStreams the stream holds %d messages; want the 3 it had", info.State.Msgs)
			}
			if tc.refused {
				if !errors.Is(err, pipeline.ErrRetention) || !strings.Contains(err.Error(), "nats stream rm MENTIONS") {
					t.Fatalf("EnsureStreams over a %s stream = %v; want ErrRetention saying how to move it", tc.name, err)
				}
				if ctx.Err() != nil {
					t.Errorf("EnsureStreams retried a refusal until its deadline; want it to fail at once")
				}
				return
			}
			if err != nil {
				t.Fatalf("EnsureStreams over a %s stream = %v; want it brought to Limits and DiscardNew in place", tc.name, err)
			}
			if info.Config.Retention != jetstream.LimitsPolicy || info.Config.Discard != jetstream.DiscardNew {
				t.Errorf("stream is %v/%v; want Limits/DiscardNew", info.Config.Retention, info.Config.Discard)
			}
		})
	}
}

// Why the streams do not use Interest or WorkQueue retention (the design
// note in reclaim.go and docs/RELIABILITY.md relies on these server
// behaviours; if a nats-server release changed them, the note must too):
// under Interest a message published while no consumer exists is
// acknowledged and not stored, and WorkQueue refuses a second reader of the
// same subjects.
func TestWhyNotInterestOrWorkQueueRetention(t *testing.T) {
	js := bareJetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "INTEREST", Subjects: []string{"interest.>"}, Retention: jetstream.InterestPolicy})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := js.Publish(ctx, "interest.raw", []byte("a mention published before enrich started"))
	if err != nil || ack.Sequence == 0 {
		t.Fatalf("Publish with no consumer = %+v, %v; want it acknowledged", ack, err)
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, "INTEREST", jetstream.ConsumerConfig{Durable: "enrich", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	info, _ := st.Info(ctx)
	if info.State.Msgs != 0 {
		t.Errorf("Interest stream holds %d messages published before any consumer; the design note says 0 (acknowledged, not stored)", info.State.Msgs)
	}

	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "WORK", Subjects: []string{"work.>"}, Retention: jetstream.WorkQueuePolicy}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, "WORK", jetstream.ConsumerConfig{Durable: "enrich", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateOrUpdateConsumer(ctx, "WORK", jetstream.ConsumerConfig{Durable: "reader", AckPolicy: jetstream.AckExplicitPolicy}); err == nil {
		t.Error("a second consumer of the same subjects on a WorkQueue stream was allowed; the design note says it is refused")
	}
	if _, err := js.UpdateStream(ctx, jetstream.StreamConfig{Name: "WORK", Subjects: []string{"work.>"}, Retention: jetstream.LimitsPolicy}); err == nil {
		t.Error("a WorkQueue stream was changed to Limits in place; the design note says JetStream refuses")
	}
}
