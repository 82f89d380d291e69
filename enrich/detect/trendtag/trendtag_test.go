package trendtag

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/pipeline"
)

func mention(i int, t time.Time, text string, hashtags ...string) *pipeline.Mention {
	return &pipeline.Mention{ID: fmt.Sprintf("x:%d", i), Platform: "x", Text: text, CreatedAt: t,
		Enrichment: pipeline.Enrichment{Hashtags: hashtags}}
}

// TestTagsEmerging: steady chatter is never tagged; a burst of a new
// hashtag and word is, on the mentions that carry them.
func TestTagsEmerging(t *testing.T) {
	s, err := NewWithOptions(Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now().Add(-8 * time.Hour).Truncate(time.Minute)
	n := 0
	for m := range 8 * 60 { // 6h of warm-up, 2h warm
		at := start.Add(time.Duration(m) * time.Minute)
		batch := []*pipeline.Mention{
			mention(n, at, "kettle review for the acme kettle", "acme"),
			mention(n+1, at.Add(20*time.Second), "acme toaster works", "acme"),
		}
		n += 2
		if err := s.Enrich(ctx, batch); err != nil {
			t.Fatal(err)
		}
		for _, m := range batch {
			if len(m.Enrichment.Trends) > 0 {
				t.Fatalf("steady mention at %s tagged %v; want no trend", at.Format(time.TimeOnly), m.Enrichment.Trends)
			}
		}
	}
	at := start.Add(8 * time.Hour)
	var burst []*pipeline.Mention
	for i := range 40 {
		burst = append(burst, mention(n+i, at.Add(time.Duration(i)*time.Second), "my blender exploded", "acmefire"))
	}
	plain := mention(n+40, at.Add(50*time.Second), "acme toaster works", "acme")
	burst = append(burst, plain)
	if err := s.Enrich(ctx, burst); err != nil {
		t.Fatal(err)
	}
	got := burst[0].Enrichment.Trends
	if !slices.Contains(got, "#acmefire") || !slices.Contains(got, "exploded") || slices.Contains(got, "#acme") {
		t.Errorf("burst mention trends = %v; want #acmefire and exploded, not the usual #acme", got)
	}
	if len(plain.Enrichment.Trends) != 0 {
		t.Errorf("plain mention in the burst batch tagged %v; want nothing (it carries no emerging term)", plain.Enrichment.Trends)
	}
	if plain.Enrichment.Versions[Name] != Version {
		t.Errorf("versions = %v; want %s=%s", plain.Enrichment.Versions, Name, Version)
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		yaml string
		want string // substring of the error; "" for none
	}{
		{"bucket: 1m\nz: 4\nterms: false\nmax_tags: 3\nwarmup: 1h", ""},
		{"warmup: -1h", "warmup"},
		{"reorder: -1m", "reorder"},
		{"bucket: -1m", "bucket"},
		{"max_tags: 100", "max_tags"},
		{"buckets: 1m", "unknown key"},
	}
	for _, tt := range tests {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(tt.yaml), &n); err != nil {
			t.Fatal(err)
		}
		_, err := New(pipeline.EnricherEnv{Options: n.Content[0], File: "earshot.yaml"})
		if (err != nil) != (tt.want != "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("New(%q) = %v; want error containing %q", tt.yaml, err, tt.want)
		}
	}
	if _, ok := pipeline.EnricherFactoryFor(Name); !ok {
		t.Errorf("stage %q is not registered", Name)
	}
}

func BenchmarkEnrich(b *testing.B) {
	s, err := NewWithOptions(Options{})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	batch := make([]*pipeline.Mention, 256)
	for i := range batch {
		batch[i] = mention(i, now, fmt.Sprintf("Acme is recalling the X200 after reports of cracked jars number%d, what a mess", i%50), "acmerecall", fmt.Sprintf("tag%d", i%20))
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range batch {
			m.Enrichment.Trends = m.Enrichment.Trends[:0]
		}
		_ = s.Enrich(context.Background(), batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/mention")
}

// TestBacklogBatches: a backlog enriched in large batches, some finished
// out of order, raises no false tags; a burst early in a batch that spans
// several buckets is still tagged.
func TestBacklogBatches(t *testing.T) {
	s, err := NewWithOptions(Options{Bucket: time.Minute, HalfLife: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now().Add(-3 * time.Hour).Truncate(time.Minute)
	var history []*pipeline.Mention
	for m := range 170 {
		for k := range 6 {
			at := start.Add(time.Duration(m)*time.Minute + time.Duration(k)*10*time.Second)
			history = append(history, mention(len(history), at, "kettle review for the acme toaster", "acme"))
		}
	}
	var batches [][]*pipeline.Mention
	for i := 0; i < len(history); i += 256 {
		batches = append(batches, history[i:min(i+256, len(history))])
	}
	for i := 0; i+1 < len(batches); i += 2 { // two workers: the second batch finishes first
		batches[i], batches[i+1] = batches[i+1], batches[i]
	}
	for _, b := range batches {
		if err := s.Enrich(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range history {
		if len(m.Enrichment.Trends) > 0 {
			t.Fatalf("backlog mention at %s tagged %v; want none", m.CreatedAt.Format(time.TimeOnly), m.Enrichment.Trends)
		}
	}
	at := start.Add(170 * time.Minute)
	var batch []*pipeline.Mention
	for i := range 40 {
		batch = append(batch, mention(10000+i, at.Add(time.Duration(i)*time.Second), "blender exploded", "acmefire"))
	}
	for m := range 6 { // the batch goes on for six quiet minutes
		batch = append(batch, mention(20000+m, at.Add(time.Duration(m+1)*time.Minute), "kettle review for the acme toaster", "acme"))
	}
	if err := s.Enrich(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if got := batch[0].Enrichment.Trends; !slices.Contains(got, "#acmefire") {
		t.Errorf("burst mention trends = %v; want #acmefire", got)
	}
}

// BenchmarkEnrichStream enriches batches of 256 mentions that move on in
// time (a batch a minute, 5m buckets), so the cost of closing buckets
// into the rates is counted; a quarter of the words are one-offs.
func BenchmarkEnrichStream(b *testing.B) {
	s, err := NewWithOptions(Options{})
	if err != nil {
		b.Fatal(err)
	}
	at := time.Now().Add(-24 * time.Hour).Truncate(time.Hour)
	batch := make([]*pipeline.Mention, 256)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for i := range batch {
			batch[i] = mention(n, at.Add(time.Duration(i)*time.Minute/256), fmt.Sprintf("Acme kettle number%d review, the toaster word%d works", n%50, n), "acme", fmt.Sprintf("tag%d", n%20))
			n++
		}
		_ = s.Enrich(context.Background(), batch)
		at = at.Add(time.Minute)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/mention")
}
