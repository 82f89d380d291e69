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
