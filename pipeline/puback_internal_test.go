package pipeline

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A publish whose acknowledgement never comes (here a subscriber takes the
// message and never answers, as a stream leader killed mid-publish does)
// fails with ErrPubAckTimeout instead of waiting forever: a connector
// retries its poll, an enrich worker its batch.
func TestPublishWithoutAckFailsInsteadOfHanging(t *testing.T) {
	nc := embeddedConn(t)
	sub, err := nc.SubscribeSync("silent.>") // takes every message, acknowledges none
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	defer func(d time.Duration) { pubAckTimeout = d }(pubAckTimeout)
	pubAckTimeout = 300 * time.Millisecond

	p := &JetStreamPublisher{js: js, prefix: "silent.", maxBatch: 1000}
	done := make(chan error, 1)
	go func() {
		done <- p.Publish(context.Background(), []*Mention{{ID: "test:1", Platform: "test", Text: "hello", URL: "https://example.test/1"}})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrPubAckTimeout) {
			t.Fatalf("Publish() = %v, want ErrPubAckTimeout", err)
		}
		t.Logf("Publish() = %v", err)
	case <-time.After(time.Minute):
		t.Fatal("Publish still waits for an acknowledgement that never comes")
	}
	if msg, err := sub.NextMsg(time.Second); err != nil || msg.Header.Get(jetstream.MsgIDHeader) == "" {
		t.Errorf("the message was not sent with its Nats-Msg-Id (%v)", err)
	}
}
