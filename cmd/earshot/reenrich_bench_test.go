package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
)

// BenchmarkReenrich measures a re-enrichment of 2,000 stored mentions with
// the topics stage, unthrottled, against the plain paged read of the same
// mentions in the same run (the baseline): "unchanged" finds nothing to
// write; "rewrite" alternates two topic configurations, so every run
// writes a new version of each affected mention. Reported as mentions/s.
//
//	go test ./cmd/earshot -run '^$' -bench BenchmarkReenrich -benchtime 3x
func BenchmarkReenrich(b *testing.B) {
	f := newReenrichFixture(b, 2000)
	ctx := context.Background()
	cfgA := f.config(b)
	cfgB := *cfgA
	cfgB.Topics = []pipeline.Topic{{ID: "acme", Query: "acme"}}
	rA, rB := f.reenricher(b, cfgA), f.reenricher(b, &cfgB)
	p := reenrichParams{Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC),
		Topics: []string{"acme", "support"}, Stages: []string{"topics"}}
	report := func(b *testing.B, n uint64) {
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "mentions/s")
	}
	b.Run("read", func(b *testing.B) {
		var n uint64
		for b.Loop() {
			r := clickhouse.ReadRange{Since: p.Since, Until: p.Until}
			for {
				page, err := f.store.ReadLive(ctx, r, 256)
				if err != nil {
					b.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				n += uint64(len(page))
				last := page[len(page)-1]
				r.After = clickhouse.Key{CreatedAt: last.CreatedAt, Platform: last.Platform, ID: last.ID}
			}
		}
		report(b, n)
	})
	if _, err := rA.run(ctx, "bench.a", p, true); err != nil {
		b.Fatal(err)
	}
	b.Run("unchanged", func(b *testing.B) {
		var n uint64
		for b.Loop() {
			cp, err := rA.run(ctx, "bench.a", p, true)
			if err != nil || cp.Changed != 0 {
				b.Fatalf("run = %+v, %v; want nothing changed", cp, err)
			}
			n += cp.Done
		}
		report(b, n)
	})
	b.Run("rewrite", func(b *testing.B) {
		var n, changed uint64
		i := 0
		for b.Loop() {
			r := []*reenricher{rB, rA}[i%2]
			cp, err := r.run(ctx, fmt.Sprintf("bench.%d", i%2), p, true)
			if err != nil || cp.Changed == 0 {
				b.Fatalf("run = %+v, %v; want changes", cp, err)
			}
			n, changed = n+cp.Done, changed+cp.Changed
			i++
		}
		report(b, n)
		b.ReportMetric(float64(changed)/float64(n), "changed/read")
	})
}
