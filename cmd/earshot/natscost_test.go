package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/earshot-dev/earshot/pipeline"
)

// BenchmarkNATSServerCost measures what moving one mention costs the NATS
// server, piece by piece, on the enrich role's path: the server runs in a
// process of its own (as in `earshot bench`) and its CPU time is read from
// /proc around each piece. Each piece handles the same mentions (the bench
// workload, enriched once by the real chain with 1,000 topic rules, so the
// enriched copies have their real size); the report is server CPU µs per
// mention, and this process's (the client's) next to it.
//
//	go test -run '^$' -bench NATSServerCost -benchtime 1x ./cmd/earshot/
//
// EARSHOT_NATSCOST_N sets the mentions per piece (default 20000).
func BenchmarkNATSServerCost(b *testing.B) {
	n := 20000
	if v := os.Getenv("EARSHOT_NATSCOST_N"); v != "" {
		fmt.Sscan(v, &n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	dir := b.TempDir()
	srv, out, err := startChild("nats", []string{"bench-natsd", "--dir", filepath.Join(dir, "nats")}, filepath.Join(dir, "nats.log"), "")
	if err != nil {
		b.Fatal(err)
	}
	defer srv.stop()
	url, err := out.ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	nc, err := nats.Connect(strings.TrimSpace(url))
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(pipeline.PubAckTimeout))
	if err != nil {
		b.Fatal(err)
	}
	if err := pipeline.EnsureStreams(ctx, js, pipeline.StreamsConfig{}); err != nil {
		b.Fatal(err)
	}

	// The workload, enriched once by the real chain.
	cfg := &Config{File: "(bench)", Topics: benchTopics(1000)}
	chain, err := cfg.Chain(nil)
	if err != nil {
		b.Fatal(err)
	}
	work := benchWorkload(1, n, brandNames(cfg.Topics))
	enriched := make([]pipeline.Enrichment, n) // by position in the workload
	{
		ms := roundCopies(work, "x")
		for _, m := range ms {
			_ = m.Normalize(time.Now())
		}
		if err := pipeline.RunChain(ctx, chain, ms, nil); err != nil {
			b.Fatal(err)
		}
		for i, m := range ms {
			enriched[i] = m.Enrichment
		}
	}
	// copyEnrichment is a chain of one stage that sets the enrichment the
	// real chain gave the same workload mention (by the id's sequence).
	copyEnrichment := []pipeline.Enricher{enricherFunc(func(ms []*pipeline.Mention) {
		for _, m := range ms {
			_, seq, _ := strings.Cut(m.ID, ":")
			i, _ := strconv.Atoi(seq)
			m.Enrichment = enriched[i]
		}
	})}

	encode := func(prefix string, enrich bool) ([]*pipeline.Mention, [][]byte) {
		ms := roundCopies(work, prefix)
		data := make([][]byte, len(ms))
		for i, m := range ms {
			_ = m.Normalize(time.Now())
			if enrich {
				m.Enrichment = enriched[i]
			}
			data[i], _ = m.Marshal()
		}
		return ms, data
	}
	publish := func(subjectPrefix string, ms []*pipeline.Mention, data [][]byte, msgID bool) {
		futs := make([]jetstream.PubAckFuture, 0, 256)
		wait := func() {
			for _, f := range futs {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					b.Fatal(err)
				}
			}
			futs = futs[:0]
		}
		for i, m := range ms {
			msg := &nats.Msg{Subject: subjectPrefix + m.Platform, Data: data[i]}
			if msgID {
				msg.Header = nats.Header{jetstream.MsgIDHeader: []string{m.ID}}
			}
			f, err := js.PublishMsgAsync(msg)
			if err != nil {
				b.Fatal(err)
			}
			if futs = append(futs, f); len(futs) == cap(futs) {
				wait()
			}
		}
		wait()
	}
	type row struct {
		name           string
		server, client float64 // µs per mention
	}
	var rows []row
	measure := func(name string, f func()) {
		a, _ := readProc(srv.pid())
		c0 := selfCPU()
		f()
		z, _ := readProc(srv.pid())
		c1 := selfCPU()
		rows = append(rows, row{name, float64((z.cpu - a.cpu).Microseconds()) / float64(n), float64((c1 - c0).Microseconds()) / float64(n)})
	}
	newConsumer := func(name string) jetstream.Consumer {
		c, err := js.CreateOrUpdateConsumer(ctx, pipeline.StreamMentions, jetstream.ConsumerConfig{Durable: name,
			AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute, MaxDeliver: -1,
			FilterSubject: pipeline.SubjectRawPrefix + ">", MaxAckPending: 4096})
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	for b.Loop() {
		rows = rows[:0]
		// The raw mentions every consuming piece reads (not measured).
		raw, rawData := encode("r", false)
		publish(pipeline.SubjectRawPrefix, raw, rawData, true)

		measure("Fetch(256) by 4 workers + ack each (as the enrich role)", func() {
			cons := newConsumer("fetch256")
			var wg sync.WaitGroup
			var mu sync.Mutex
			got := 0
			for range 4 {
				wg.Go(func() {
					for {
						mu.Lock()
						done := got >= n
						mu.Unlock()
						if done {
							return
						}
						batch, err := cons.Fetch(256, jetstream.FetchMaxWait(time.Second))
						if err != nil {
							b.Error(err)
							return
						}
						k := 0
						for msg := range batch.Messages() {
							_ = msg.Ack()
							k++
						}
						mu.Lock()
						got += k
						mu.Unlock()
					}
				})
			}
			wg.Wait()
		})
		measure("one continuous pull (Messages, 512 buffered) + ack each", func() {
			cons := newConsumer("consume")
			it, err := cons.Messages(jetstream.PullMaxMessages(512))
			if err != nil {
				b.Fatal(err)
			}
			for range n {
				msg, err := it.Next()
				if err != nil {
					b.Fatal(err)
				}
				_ = msg.Ack()
			}
			it.Stop()
		})
		measure("Fetch(256), no ack (delivery alone)", func() {
			c, err := js.CreateOrUpdateConsumer(ctx, pipeline.StreamMentions, jetstream.ConsumerConfig{Durable: "noack",
				AckPolicy: jetstream.AckNonePolicy, FilterSubject: pipeline.SubjectRawPrefix + ">"})
			if err != nil {
				b.Fatal(err)
			}
			for got := 0; got < n; {
				batch, err := c.Fetch(256, jetstream.FetchMaxWait(time.Second))
				if err != nil {
					b.Fatal(err)
				}
				for range batch.Messages() {
					got++
				}
			}
		})
		e1, d1 := encode("p", true)
		measure("publish the enriched copy, wait for its PubAck, with Nats-Msg-Id (as the enrich role)", func() {
			publish(pipeline.SubjectEnrichedPrefix, e1, d1, true)
		})
		e2, d2 := encode("q", true)
		measure("the same without Nats-Msg-Id", func() {
			publish(pipeline.SubjectEnrichedPrefix, e2, d2, false)
		})
		measure("publish the same again (all duplicates, by Nats-Msg-Id)", func() {
			publish(pipeline.SubjectEnrichedPrefix, e1, d1, true)
		})
		measure("the enrich role (EnrichRunner: fetch, decode, publish, ack; its chain a copy of the real result)", func() {
			st, err := js.Stream(ctx, pipeline.StreamEnriched)
			if err != nil {
				b.Fatal(err)
			}
			info, _ := st.Info(ctx)
			before := info.State.Msgs
			rctx, stop := context.WithCancel(ctx)
			r := &pipeline.EnrichRunner{JS: js, Chain: copyEnrichment, Metrics: pipeline.NewMetrics(prometheus.NewRegistry()),
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Durable: "enrichbench"}
			done := make(chan error, 1)
			go func() { done <- r.Run(rctx) }()
			for {
				info, err := st.Info(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if info.State.Msgs >= before+uint64(n) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			stop()
			<-done
		})
	}
	b.StopTimer()
	for _, r := range rows {
		b.Logf("%-95s server %6.2f µs/mention, client %6.2f", r.name, r.server, r.client)
	}
	var bytesRaw, bytesEnr int
	_, rd := encode("s", false)
	_, ed := encode("s", true)
	for i := range rd {
		bytesRaw += len(rd[i])
		bytesEnr += len(ed[i])
	}
	b.Logf("mean JSON bytes: raw %d, enriched %d (%d mentions per piece)", bytesRaw/n, bytesEnr/n, n)
}

// enricherFunc is a one-stage chain for the benchmark.
type enricherFunc func([]*pipeline.Mention)

func (f enricherFunc) Name() string    { return "copy" }
func (f enricherFunc) Version() string { return "1" }
func (f enricherFunc) Enrich(_ context.Context, ms []*pipeline.Mention) error {
	f(ms)
	return nil
}
