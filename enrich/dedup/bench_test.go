package dedup

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/earshot-dev/earshot/enrich/internal/sample"
	"github.com/earshot-dev/earshot/pipeline"
)

func BenchmarkFingerprint(b *testing.B) {
	texts := sample.Texts()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		Fingerprint(texts[n%len(texts)], 5)
		n++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/post")
}

// randomText returns 20 words drawn from vocab.
func randomText(r *rand.Rand, vocab []string) string {
	var sb strings.Builder
	for range 20 {
		sb.WriteString(vocab[r.IntN(len(vocab))])
		sb.WriteByte(' ')
	}
	return sb.String()
}

// BenchmarkStage runs batches of 100 mentions through a stage whose index
// is full (200k signatures of unrelated texts):
//
//	copies    the sample posts over and over: exact copies, the cheap path;
//	variants  the sample posts each with a new trailing number: a flood of
//	          near-duplicates, as in templated spam;
//	new       texts unlike anything seen: every lookup misses, multi-probes
//	          and inserts, evicting the oldest entry (the worst case);
//	new-d3    the same at max_distance 3, which never multi-probes.
func BenchmarkStage(b *testing.B) {
	src := sample.Mentions()
	var vocab []string
	for _, m := range src {
		vocab = append(vocab, strings.Fields(m.Text)...)
	}
	for _, mode := range []string{"copies", "variants", "new", "new-d3"} {
		b.Run(mode, func(b *testing.B) {
			o := DefaultOptions()
			if mode == "new-d3" {
				mode, o.MaxDistance = "new", 3
			}
			s := NewWithOptions(o, nil)
			r := rand.New(rand.NewPCG(1, 2))
			fill := make([]*pipeline.Mention, 0, 1000)
			for i := range 200_000 {
				fill = append(fill, &pipeline.Mention{ID: "fill:" + strconv.Itoa(i), Text: randomText(r, vocab), CreatedAt: src[0].CreatedAt})
				if len(fill) == cap(fill) {
					if err := s.Enrich(b.Context(), fill); err != nil {
						b.Fatal(err)
					}
					fill = fill[:0]
				}
			}
			// Inputs are made before the timer starts.
			const rounds = 64
			inputs := make([]pipeline.Mention, 100*rounds)
			for i := range inputs {
				m := *src[i%len(src)]
				m.ID = "in:" + strconv.Itoa(i)
				m.CreatedAt = src[0].CreatedAt
				switch mode {
				case "variants":
					m.Text += " n" + strconv.Itoa(i)
					m.Enrichment.Links = nil
				case "new":
					m.Title, m.Text = "", randomText(r, vocab)
					m.Enrichment.Links = nil
				}
				inputs[i] = m
			}
			batch := make([]*pipeline.Mention, 100)
			copies := make([]pipeline.Mention, 100)
			posts := 0
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				off := posts % len(inputs)
				for i := range batch {
					copies[i] = inputs[off+i]
					copies[i].ID += "/" + strconv.Itoa(posts)
					if mode == "new" && posts >= len(inputs) {
						copies[i].Text += strconv.Itoa(posts) // keep it new
					}
					batch[i] = &copies[i]
				}
				if err := s.Enrich(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
				posts += len(batch)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(posts), "ns/post")
		})
	}
}
