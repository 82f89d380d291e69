package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestConsumerFloorDistrustsNumPending: a consumer that reports nothing
// pending and nothing unacknowledged, as the server does for a moment
// after a burst of PubAcks (its NumPending is fed by a queue apart from
// the store; seen reading 0 after 672 stored messages nobody had fetched),
// does not free the messages of its filter it was never delivered. Once
// it acknowledged them, the newest messages outside its filter are freed
// too.
func TestConsumerFloorDistrustsNumPending(t *testing.T) {
	nc := embeddedConn(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "FLOOR", Subjects: []string{"floor.>"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "floor.x.>"})
	if err != nil {
		t.Fatal(err)
	}
	pub := func(subject string, n int) uint64 {
		var seq uint64
		for i := 0; i < n; i++ {
			ack, err := js.Publish(ctx, subject, []byte("m"))
			if err != nil {
				t.Fatal(err)
			}
			seq = ack.Sequence
		}
		return seq
	}
	pub("floor.x.a", 10)
	last := pub("floor.y", 3) // outside the filter, newest
	ci, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lagging := *ci
	lagging.NumPending = 0 // what the server reported in the window
	if f, err := consumerFloor(ctx, st, &lagging, last); err != nil || f != 0 {
		t.Fatalf("consumerFloor() with 10 undelivered messages and NumPending read 0 = %d, %v; want 0 (none of them freed)", f, err)
	}
	batch, err := c.Fetch(10, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for m := range batch.Messages() {
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 10 {
		t.Fatalf("fetched %d; want 10", n)
	}
	if ci, err = c.Info(ctx); err != nil {
		t.Fatal(err)
	}
	if f, err := consumerFloor(ctx, st, ci, last); err != nil || f != last {
		t.Errorf("consumerFloor() after every message of its filter was acknowledged = %d, %v; want the stream's last %d", f, err, last)
	}
	// A new message on its filter, not delivered: held again.
	last = pub("floor.x.b", 1)
	if ci, err = c.Info(ctx); err != nil {
		t.Fatal(err)
	}
	lagging = *ci
	lagging.NumPending = 0
	if f, err := consumerFloor(ctx, st, &lagging, last); err != nil || f != 10 {
		t.Errorf("consumerFloor() with a new undelivered message = %d, %v; want its ack floor 10", f, err)
	}
}
