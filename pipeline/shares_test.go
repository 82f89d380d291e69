package pipeline_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

// runLog records which replica runs which item, and fails on an item run
// by two replicas at once.
type runLog struct {
	t     *testing.T
	mu    sync.Mutex
	owner map[string]string
}

func (l *runLog) run(holder string) func(ctx context.Context, item string) {
	return func(ctx context.Context, item string) {
		l.mu.Lock()
		if o, ok := l.owner[item]; ok {
			l.t.Errorf("%s runs %s while %s runs it", holder, item, o)
		}
		l.owner[item] = holder
		l.mu.Unlock()
		<-ctx.Done()
		l.mu.Lock()
		if l.owner[item] == holder {
			delete(l.owner, item)
		}
		l.mu.Unlock()
	}
}

func (l *runLog) count(holder string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, o := range l.owner {
		if o == holder {
			n++
		}
	}
	return n
}

func sharesKV(t *testing.T, url string) (*nats.Conn, jetstream.KeyValue) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := pipeline.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{Bucket: pipeline.ConnectBucket, History: 1})
	if err != nil {
		t.Fatal(err)
	}
	return nc, kv
}

// Two connect replicas with the same four connectors run two each, never
// one twice; when one dies without a word, the other runs all four within
// one lease TTL of the death.
func TestSharesSpreadAndTakeOver(t *testing.T) {
	j := pipelinetest.StartJetStream(t)
	items := []string{"feeds", "x-search", "reddit", "mastodon"}
	log := &runLog{t: t, owner: map[string]string{}}
	const ttl = 4 * time.Second
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ncs := map[string]*nats.Conn{}
	for _, h := range []string{"a", "b"} {
		nc, kv := sharesKV(t, j.URL())
		ncs[h] = nc
		s := &pipeline.Shares{KV: kv, Holder: h, TTL: ttl, Items: items, Logger: pipelinetest.Logger(t), Run: log.run(h)}
		wg.Go(func() { _ = s.Loop(ctx) })
	}
	pipelinetest.WaitFor(t, 10*ttl, "two connectors each", func() bool { return log.count("a") == 2 && log.count("b") == 2 })
	// b dies: its connection goes, nothing is released.
	ncs["b"].Close()
	died := time.Now()
	pipelinetest.WaitFor(t, 10*ttl, "a to run all four", func() bool { return log.count("a") == 4 })
	// The promise to users (README: connect.lease_ttl): a dead replica's
	// connectors run again elsewhere within one TTL (7/8 TTL by design,
	// see Shares, plus polling here).
	if took := time.Since(died); took > ttl {
		t.Errorf("a took over b's connectors %v after b died; want within one lease TTL (%v)", took.Round(10*time.Millisecond), ttl)
	} else {
		t.Logf("taken over %v after the death (lease TTL %v)", took.Round(10*time.Millisecond), ttl)
	}
	if n := log.count("b"); n != 0 {
		t.Errorf("b still runs %d connectors after losing NATS", n)
	}
}
