package pipelinetest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/earshot-dev/earshot/pipeline"
)

// TestCaughtUp: a consumer is caught up only once it acknowledged every
// message of its filter: not while messages wait unfetched, nor while
// fetched ones wait for their ack; messages outside its filter do not count.
func TestCaughtUp(t *testing.T) {
	j := StartJetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if j.CaughtUp(t, pipeline.StreamEnriched, "d") {
		t.Fatal("CaughtUp() = true for a consumer that does not exist")
	}
	c, err := j.JS.CreateOrUpdateConsumer(ctx, pipeline.StreamEnriched, jetstream.ConsumerConfig{
		Durable: "d", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: pipeline.SubjectEnrichedPrefix + "x.>"})
	if err != nil {
		t.Fatal(err)
	}
	if !j.CaughtUp(t, pipeline.StreamEnriched, "d") {
		t.Fatal("CaughtUp() = false on an empty stream")
	}
	pub := func(subject string, n int) {
		for i := 0; i < n; i++ {
			if _, err := j.JS.Publish(ctx, pipeline.SubjectEnrichedPrefix+subject, []byte(strconv.Itoa(i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	pub("x.a", 5)
	if j.CaughtUp(t, pipeline.StreamEnriched, "d") {
		t.Fatal("CaughtUp() = true with 5 messages never fetched")
	}
	batch, err := c.Fetch(5, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var msgs []jetstream.Msg
	for m := range batch.Messages() {
		msgs = append(msgs, m)
	}
	if len(msgs) != 5 {
		t.Fatalf("fetched %d messages; want 5", len(msgs))
	}
	if j.CaughtUp(t, pipeline.StreamEnriched, "d") {
		t.Fatal("CaughtUp() = true with 5 messages fetched and not acknowledged")
	}
	for i, m := range msgs {
		if i == len(msgs)-1 {
			if j.CaughtUp(t, pipeline.StreamEnriched, "d") {
				t.Fatal("CaughtUp() = true with the last message not acknowledged")
			}
		}
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if !j.CaughtUp(t, pipeline.StreamEnriched, "d") {
		t.Fatal("CaughtUp() = false after every message was acknowledged")
	}
	pub("y", 3) // outside the filter
	if !j.CaughtUp(t, pipeline.StreamEnriched, "d") {
		t.Error("CaughtUp() = false after messages outside the consumer's filter")
	}
	pub("x.b", 1)
	if j.CaughtUp(t, pipeline.StreamEnriched, "d") {
		t.Error("CaughtUp() = true with a new message in the filter")
	}
}
