package entities

import (
	"context"
	"errors"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/enrich/internal/sample"
	"github.com/earshot-dev/earshot/pipeline"
)

func TestRegistered(t *testing.T) {
	f, ok := pipeline.EnricherFactoryFor(Name)
	if !ok {
		t.Fatalf("EnricherFactoryFor(%q) not found", Name)
	}
	st, err := f(pipeline.EnricherEnv{})
	if err != nil {
		t.Fatalf("factory: %v", err)
	}
	if st.Name() != Name || st.Version() != Version {
		t.Errorf("stage = %q %q; want %q %q", st.Name(), st.Version(), Name, Version)
	}
}

func TestNewRejectsOptions(t *testing.T) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("bogus: 1\n"), &n); err != nil {
		t.Fatal(err)
	}
	_, err := New(pipeline.EnricherEnv{Options: &n, File: "earshot.yaml"})
	if err == nil {
		t.Fatalf("New(options bogus: 1) = nil error; want unknown key error")
	}
}

func TestEnrichMention(t *testing.T) {
	m := &pipeline.Mention{
		ID: "rss:1", Kind: pipeline.KindArticle,
		URL:   "https://www.reuters.com/business/acme-recall/?utm_source=rss#top",
		Title: "Acme recalls chargers #recall",
		Text:  "Read more at https://acme.com/recall?utm_medium=x 🔌 via @Reuters",
	}
	m.Enrichment.Links = []string{"HTTPS://Expanded.example.com/x?fbclid=1"} // from the connector
	st, err := New(pipeline.EnricherEnv{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Enrich(context.Background(), []*pipeline.Mention{m}); err != nil {
		t.Fatal(err)
	}
	e := m.Enrichment
	wantLinks := []string{"https://www.reuters.com/business/acme-recall/", "https://expanded.example.com/x", "https://acme.com/recall"}
	if !slices.Equal(e.Links, wantLinks) {
		t.Errorf("Links = %q; want %q", e.Links, wantLinks)
	}
	if want := []string{"reuters.com", "example.com", "acme.com"}; !slices.Equal(e.Domains, want) {
		t.Errorf("Domains = %q; want %q", e.Domains, want)
	}
	if want := []string{"recall"}; !slices.Equal(e.Hashtags, want) {
		t.Errorf("Hashtags = %q; want %q", e.Hashtags, want)
	}
	if want := []string{"reuters"}; !slices.Equal(e.Mentions, want) {
		t.Errorf("Mentions = %q; want %q", e.Mentions, want)
	}
	if want := []string{"🔌"}; !slices.Equal(e.Emoji, want) {
		t.Errorf("Emoji = %q; want %q", e.Emoji, want)
	}
	if e.Versions[Name] != Version {
		t.Errorf("Versions[%q] = %q; want %q", Name, e.Versions[Name], Version)
	}

	// Idempotent: a redelivered, already enriched mention comes out the same.
	before := m.Enrichment
	before.Links = slices.Clone(before.Links)
	Apply(m)
	if !slices.Equal(m.Enrichment.Links, before.Links) || !slices.Equal(m.Enrichment.Domains, before.Domains) ||
		!slices.Equal(m.Enrichment.Hashtags, before.Hashtags) || !slices.Equal(m.Enrichment.Emoji, before.Emoji) {
		t.Errorf("second Apply changed enrichment: %+v; want %+v", m.Enrichment, before)
	}
}

func TestPostURLNotALink(t *testing.T) {
	m := &pipeline.Mention{ID: "twitter:1", Kind: pipeline.KindPost, URL: "https://x.com/a/status/1", Text: "no links here"}
	Apply(m)
	if m.Enrichment.Links != nil || m.Enrichment.Domains != nil {
		t.Errorf("post permalink: Links = %q, Domains = %q; want none", m.Enrichment.Links, m.Enrichment.Domains)
	}
}

func TestEnrichCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	st, _ := New(pipeline.EnricherEnv{})
	if err := st.Enrich(ctx, sample.Mentions()); !errors.Is(err, context.Canceled) {
		t.Errorf("Enrich(cancelled ctx) = %v; want context.Canceled", err)
	}
}

func FuzzExtract(f *testing.F) {
	for _, s := range sample.Texts() {
		f.Add(s)
	}
	f.Add("#\uFE0F\u20E3 @a@b.c $A.B https://x.y/(a]) www.ab 👩\u200d\u200d 🇺")
	f.Fuzz(func(t *testing.T, s string) {
		e := Extract(s)
		for _, l := range e.Links {
			if c, ok := CanonicalURL(l); !ok || c != l {
				t.Errorf("CanonicalURL(%q) = %q, %v; want it unchanged (canonical form is a fixed point)", l, c, ok)
			}
		}
	})
}
