package clickhouse_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

// BenchmarkWrite10k writes batches of 10,000 mentions through Store.Write
// and, in the same run, the same ids, timestamps and texts through a
// minimal 3-column batch (the floor set by the driver and server). It
// reports rows/s for both and their ratio.
//
//	go test -run '^$' -bench Write10k -benchtime 20x ./sink/clickhouse/
func BenchmarkWrite10k(b *testing.B) {
	const n = 10000
	ctx := context.Background()
	st := openStore(b)
	db := "`" + st.Database() + "`"
	if err := st.Conn().Exec(ctx, "CREATE TABLE "+db+".baseline (id String, created_at DateTime('UTC'), text String) "+
		"ENGINE = MergeTree PARTITION BY toYYYYMM(created_at) ORDER BY id"); err != nil {
		b.Fatal(err)
	}
	ms := sampleMentions(n, time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	for _, m := range ms {
		m.Text += " Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua."
	}
	var mentionsTime, baselineTime time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for j, m := range ms {
			m.ID = fmt.Sprintf("twitter:%d-%d", i, j)
		}
		start := time.Now()
		if err := st.Write(ctx, ms); err != nil {
			b.Fatalf("Write: %v", err)
		}
		mentionsTime += time.Since(start)

		start = time.Now()
		batch, err := st.Conn().PrepareBatch(ctx, "INSERT INTO "+db+".baseline (id, created_at, text)")
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range ms {
			if err := batch.Append(m.ID, m.CreatedAt, m.Text); err != nil {
				b.Fatal(err)
			}
		}
		if err := batch.Send(); err != nil {
			b.Fatal(err)
		}
		_ = batch.Close()
		baselineTime += time.Since(start)
	}
	rows := float64(b.N * n)
	b.ReportMetric(rows/mentionsTime.Seconds(), "mentions/s")
	b.ReportMetric(rows/baselineTime.Seconds(), "baseline-rows/s")
	b.ReportMetric(baselineTime.Seconds()/mentionsTime.Seconds(), "mentions/baseline")
}

// BenchmarkWriteModes writes the same 10,000-mention batches (about 1 KB
// of text each) four ways in one run: column-wise (Write) and row-wise
// (the old path), each with LZ4 on the native protocol and without. It
// reports mentions/s of each; compare the ratios, not the absolute rates.
//
//	go test -run '^$' -bench WriteModes -benchtime 10x ./sink/clickhouse/
func BenchmarkWriteModes(b *testing.B) {
	const n = 10000
	ctx := context.Background()
	lz4 := openStore(b)
	cfg := chtest.NewDatabase(b)
	cfg.Database = lz4.Database()
	cfg.Compression = "none"
	plain, err := clickhouse.Open(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close()
	ms := sampleMentions(n, time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	for _, m := range ms {
		m.Text += strings.Repeat(" Reports say the company is recalling thousands of units after complaints about overheating.", 10)
		m.Enrichment.Topics = []string{"acme", "t0042"}
		m.Enrichment.Hashtags = []string{"acme", "recall"}
		m.Enrichment.Versions = map[string]string{"lang": "2", "topics": "2", "dedup": "2"}
	}
	modes := []struct {
		name  string
		write func(context.Context, []*pipeline.Mention) error
	}{
		{"columns+lz4", lz4.Write}, {"columns+none", plain.Write}, {"rows+lz4", lz4.WriteRows}, {"rows+none", plain.WriteRows},
	}
	took := make([]time.Duration, len(modes))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for k, md := range modes {
			for j, m := range ms {
				m.ID = fmt.Sprintf("twitter:%s-%d-%d", md.name, i, j)
			}
			start := time.Now()
			if err := md.write(ctx, ms); err != nil {
				b.Fatalf("%s: %v", md.name, err)
			}
			took[k] += time.Since(start)
		}
	}
	for k, md := range modes {
		b.ReportMetric(float64(b.N*n)/took[k].Seconds(), md.name+"-mentions/s")
	}
}
