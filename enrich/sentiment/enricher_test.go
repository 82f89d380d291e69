package sentiment

import (
	"context"
	"errors"
	"testing"

	"github.com/earshot-dev/earshot/enrich/internal/stagetest"
	"github.com/earshot-dev/earshot/pipeline"
)

func TestEnrich(t *testing.T) {
	e, err := New(DefaultConfig())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tests := []struct {
		name      string
		m         pipeline.Mention
		wantLabel string
		wantZero  bool
	}{
		{"english", pipeline.Mention{Text: "I love it", Enrichment: pipeline.Enrichment{Lang: "en"}}, pipeline.SentimentPositive, false},
		{"unknown language scored", pipeline.Mention{Text: "this is awful"}, pipeline.SentimentNegative, false},
		{"french", pipeline.Mention{Text: "c'est nul, je déteste", Enrichment: pipeline.Enrichment{Lang: "fr"}}, pipeline.SentimentNegative, false},
		{"spanish", pipeline.Mention{Text: "no me gusta nada, qué horror", Enrichment: pipeline.Enrichment{Lang: "es"}}, pipeline.SentimentNegative, false},
		{"uncovered language", pipeline.Mention{Text: "to jest okropne, nie polecam", Enrichment: pipeline.Enrichment{Lang: "pl"}}, pipeline.SentimentUnknown, true},
		{"platform language when none detected", pipeline.Mention{Text: "bad", Lang: "ja"}, pipeline.SentimentUnknown, true},
		{"platform region tag", pipeline.Mention{Text: "bad", Lang: "en-GB"}, pipeline.SentimentNegative, false},
		{"platform und", pipeline.Mention{Text: "bad", Lang: "und"}, pipeline.SentimentNegative, false},
		{"title when no text", pipeline.Mention{Title: "Great news for fans"}, pipeline.SentimentPositive, false},
		{"empty", pipeline.Mention{}, pipeline.SentimentNeutral, true},
	}
	batch := make([]*pipeline.Mention, len(tests))
	for i := range tests {
		batch[i] = &tests[i].m
	}
	if err := e.Enrich(context.Background(), batch); err != nil {
		t.Fatalf("Enrich: %v", err)
	}
	for _, tt := range tests {
		s := tt.m.Enrichment.Sentiment
		if s == nil {
			t.Errorf("%s: Enrich(%q) left no sentiment", tt.name, tt.m.Text)
			continue
		}
		if s.Label != tt.wantLabel || (s.Score == 0) != tt.wantZero {
			t.Errorf("%s: Enrich(%q) = %+v; want label %s (zero score %v)", tt.name, tt.m.Text, *s, tt.wantLabel, tt.wantZero)
		}
		if got := tt.m.Enrichment.Versions[StageName]; got != Version {
			t.Errorf("%s: version = %q; want %q", tt.name, got, Version)
		}
	}
}

func TestEnrichCancelled(t *testing.T) {
	e, err := New(DefaultConfig())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Enrich(ctx, []*pipeline.Mention{{Text: "good"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Enrich(cancelled) = %v; want context.Canceled", err)
	}
}

func TestRegisteredFactory(t *testing.T) {
	tests := []struct {
		yaml    string
		wantErr string
	}{
		{"", ""},
		{"languages: [en, de]", ""},
		{"positive_threshold: 0.1", `unknown key "positive_threshold"`},
		{"languages: [en]\nlanguage: en", `unknown key "language"`},
		{"languages: []", "languages is empty"},
		{"languages: [EN, english]", `languages[0] = "EN"`},
	}
	for _, tt := range tests {
		stagetest.CheckFactory(t, StageName, Version, tt.yaml, tt.wantErr)
	}
}
