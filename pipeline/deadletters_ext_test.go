package pipeline_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

// A message as large as the server accepts cannot be dead-lettered whole
// (the reason headers push it over max_payload): it is kept truncated with
// its size and hash, listed as such, and not replayed.
func TestDeadLetterOverMaxPayloadIsTruncatedAndNotReplayed(t *testing.T) {
	ctx := context.Background()
	js := pipelinetest.StartJetStream(t)
	big := bytes.Repeat([]byte("x"), int(js.NC.MaxPayload())-256) // not a mention: the sink cannot decode it
	if _, err := js.JS.PublishMsg(ctx, &nats.Msg{Subject: "mentions.enriched.test", Data: big}); err != nil {
		t.Fatal(err)
	}
	r := &pipeline.SinkRunner{JS: js.JS, Sink: &rejectingSink{}, Metrics: pipeline.NewMetrics(prometheus.NewRegistry()),
		Logger: pipelinetest.Logger(t), Config: pipeline.SinkConfig{FlushInterval: 50 * time.Millisecond}}
	runInBackground(t, r.Run)
	var dls []pipeline.DeadLetter
	pipelinetest.WaitFor(t, 20*time.Second, "dead letter", func() bool {
		dls, _ = pipeline.ListDeadLetters(ctx, js.JS, pipeline.DeadLetterFilter{Stage: "sink", Reason: "decode mention"}, 0)
		return len(dls) == 1
	})
	d := dls[0]
	sum := sha256.Sum256(big)
	if !d.Truncated() || d.OrigSize != len(big) || d.Size >= len(big) || d.Size == 0 || !bytes.HasPrefix(big, d.Data) ||
		d.Header.Get(pipeline.HeaderSHA256) != hex.EncodeToString(sum[:]) || d.Header.Get(pipeline.HeaderTruncated) != strconv.Itoa(len(big)) {
		t.Fatalf("dead letter of %d bytes: truncated %v, kept %d of %d, headers %v; want a prefix with the size and hash",
			len(big), d.Truncated(), d.Size, d.OrigSize, d.Header)
	}
	res, err := pipeline.ReplayDeadLetters(ctx, js.JS, pipeline.DeadLetterFilter{})
	if err != nil || len(res.Replayed) != 0 || len(res.Skipped) != 1 || !errors.Is(res.Skipped[0], pipeline.ErrTruncated) {
		t.Fatalf("ReplayDeadLetters(truncated) = %+v, %v; want it skipped with ErrTruncated", res, err)
	}
	if left, _ := pipeline.ListDeadLetters(ctx, js.JS, pipeline.DeadLetterFilter{}, 0); len(left) != 1 {
		t.Fatalf("after a skipped replay %d dead letters are left; want the truncated one kept", len(left))
	}
}

// A mention dead-lettered by the enrich stage's redelivery bound (it
// crashed the process each time) is replayed to mentions.raw once the
// crashing stage is fixed: it is enriched exactly once, and the enrich
// stage counts the replay.
func TestEnrichDeadLetterReplayedAfterFix(t *testing.T) {
	ctx := context.Background()
	js := pipelinetest.StartJetStream(t)
	if err := pipeline.NewRawPublisher(js.JS, nil).Publish(ctx, mentions("poison")); err != nil {
		t.Fatal(err)
	}
	consumer := pipeline.ConsumerConfig{AckWait: time.Second, MaxDeliver: 1}
	st := crashStage{seen: make(chan struct{}, 1)}
	rctx, cancel := context.WithCancel(ctx)
	r := &pipeline.EnrichRunner{JS: js.JS, Chain: []pipeline.Enricher{st}, Consumer: consumer, Workers: 1,
		Metrics: pipeline.NewMetrics(prometheus.NewRegistry()), Logger: pipelinetest.Logger(t)}
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	select {
	case <-st.seen:
	case <-time.After(20 * time.Second):
		t.Fatal("poison mention not delivered")
	}
	cancel() // the "crash"
	<-done

	// The fixed chain: the next delivery is over the bound and dead-lettered.
	metrics := pipeline.NewMetrics(prometheus.NewRegistry())
	r = &pipeline.EnrichRunner{JS: js.JS, Chain: []pipeline.Enricher{stage{"a"}}, Consumer: consumer, Workers: 1,
		Metrics: metrics, Logger: pipelinetest.Logger(t)}
	runInBackground(t, r.Run)
	var dls []pipeline.DeadLetter
	pipelinetest.WaitFor(t, 20*time.Second, "enrich dead letter", func() bool {
		dls, _ = pipeline.ListDeadLetters(ctx, js.JS, pipeline.DeadLetterFilter{Stage: "enrich"}, 0)
		return len(dls) == 1
	})
	if dls[0].MentionID != "test:0" || dls[0].OrigSubject != "mentions.raw.test" {
		t.Fatalf("dead letter = %+v; want test:0 from mentions.raw.test", dls[0])
	}
	res, err := pipeline.ReplayDeadLetters(ctx, js.JS, pipeline.DeadLetterFilter{Stage: "enrich"})
	if err != nil || len(res.Replayed) != 1 {
		t.Fatalf("ReplayDeadLetters() = %+v, %v; want 1 replayed", res, err)
	}
	pipelinetest.WaitFor(t, 20*time.Second, "replayed mention enriched", func() bool {
		return len(js.Mentions(t, pipeline.StreamEnriched)) > 0
	})
	pipelinetest.WaitFor(t, 20*time.Second, "replay counted", func() bool {
		return testutil.ToFloat64(metrics.Replayed.WithLabelValues("enrich")) == 1
	})
	got := js.Mentions(t, pipeline.StreamEnriched)
	if len(got) != 1 || got[0].ID != "test:0" || got[0].Enrichment.Versions["a"] != "t1" {
		t.Errorf("enriched after the replay = %+v; want test:0 once, tagged by stage a", got)
	}
	if left, _ := pipeline.ListDeadLetters(ctx, js.JS, pipeline.DeadLetterFilter{}, 0); len(left) != 0 {
		t.Errorf("%d dead letters left after the replay; want 0", len(left))
	}
}
