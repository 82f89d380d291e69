package pipeline_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

// lateReplySink stores a batch at once but answers its first write only
// when released: an INSERT the server committed whose reply is still on its
// way. Like the ClickHouse client, it gives up with the context's error
// when its context ends first.
type lateReplySink struct {
	mu        sync.Mutex
	stored    map[string]int
	writes    int
	committed chan struct{} // closed when the first batch is stored
	answered  chan error    // the first write's result
	release   chan struct{} // lets the first reply arrive
}

func (s *lateReplySink) Write(ctx context.Context, batch []*pipeline.Mention) error {
	s.mu.Lock()
	s.writes++
	first := s.writes == 1
	for _, m := range batch {
		s.stored[m.ID]++
	}
	s.mu.Unlock()
	if !first {
		return nil
	}
	close(s.committed)
	var err error
	select {
	case <-ctx.Done():
		err = fmt.Errorf("read the insert's reply: %w", ctx.Err())
	case <-s.release:
	}
	s.answered <- err
	return err
}

// A sink stopped while a write is in flight lets it finish and
// acknowledges it: cut off, the drain (or the redelivery after a restart)
// would write a batch the store had already committed a second time, which
// a plain MergeTree keeps as two physical rows.
func TestSinkRunnerStopDuringAWriteStoresTheBatchOnce(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	const n = 5
	var futures []jetstream.PubAckFuture
	for i := range n {
		m := &pipeline.Mention{ID: fmt.Sprintf("test:%d", i), Platform: "test", Text: "x"}
		_ = m.Normalize(time.Now())
		data, _ := m.Marshal()
		f, err := js.JS.PublishMsgAsync(&nats.Msg{Subject: "mentions.enriched.test", Data: data, Header: nats.Header{jetstream.MsgIDHeader: []string{m.ID}}})
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
		}
	}
	sink := &lateReplySink{stored: map[string]int{}, committed: make(chan struct{}), answered: make(chan error, 1), release: make(chan struct{})}
	r := &pipeline.SinkRunner{JS: js.JS, Sink: sink, Metrics: pipeline.NewMetrics(prometheus.NewRegistry()), Logger: pipelinetest.Logger(t),
		Config: pipeline.SinkConfig{BatchRows: 100, FlushInterval: 100 * time.Millisecond, Workers: 1}, DrainTimeout: time.Minute}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case <-sink.committed:
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("no batch written within 30s")
	}
	cancel() // the role stops while the reply is on its way
	// A write cut off by the stop answers at once; one let finish waits for
	// its reply, which then arrives.
	select {
	case err := <-sink.answered:
		close(sink.release)
		t.Errorf("the write in flight was cut off by the stop: %v", err)
	case <-time.After(500 * time.Millisecond):
		close(sink.release)
		if err := <-sink.answered; err != nil {
			t.Errorf("write = %v after its reply arrived", err)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run() = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30s of the stop")
	}
	sink.mu.Lock()
	for i := range n {
		if id := fmt.Sprintf("test:%d", i); sink.stored[id] != 1 {
			t.Errorf("mention %s written %d times; want once", id, sink.stored[id])
		}
	}
	sink.mu.Unlock()
	// Acknowledged: a restart redelivers nothing to write again.
	pipelinetest.WaitFor(t, 10*time.Second, "every message acknowledged", func() bool {
		return js.CaughtUp(t, pipeline.StreamEnriched, "sink")
	})
}
