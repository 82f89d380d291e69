package bluesky

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/earshot-dev/earshot/connectors/connectortest"
	"github.com/earshot-dev/earshot/pipeline"
)

// keepAll is a topic matcher that keeps every post, so every mapped post
// reaches the checks.
type keepAll struct{}

func (keepAll) Match(*pipeline.Mention) ([]string, []pipeline.Span) { return []string{"acme"}, nil }

// FuzzEvent checks that any Jetstream message either is skipped or maps to
// mentions safe to publish (connectortest.CheckMapped), with the web URL
// the flush gives them and an id that is the post's AT URI.
func FuzzEvent(f *testing.F) {
	post := func(rec string) string {
		return `{"did":"did:plc:abc","time_us":1764547200000000,"kind":"commit","commit":{"rev":"x","operation":"create",` +
			`"collection":"app.bsky.feed.post","rkey":"3lbsxyz2abc22","record":` + rec + `}}`
	}
	for _, s := range []string{
		// Real events: a post with facets, a reply, an identity change, a deletion.
		post(`{"$type":"app.bsky.feed.post","text":"acme anvils #acme https://acme.example/x","createdAt":"2026-11-30T12:00:00.000Z","langs":["en"],` +
			`"facets":[{"features":[{"$type":"app.bsky.richtext.facet#link","uri":"https://acme.example/x"},{"$type":"app.bsky.richtext.facet#tag","tag":"acme"}]}]}`),
		post(`{"text":"reply","createdAt":"2026-11-30T12:00:00Z","reply":{"root":{"uri":"at://did:plc:r/app.bsky.feed.post/1","cid":"c"},"parent":{"uri":"at://did:plc:p/app.bsky.feed.post/2"}}}`),
		`{"did":"did:plc:abc","time_us":1764547200000001,"kind":"identity","identity":{"did":"did:plc:abc","handle":"wile.bsky.social","seq":1}}`,
		`{"did":"did:plc:abc","time_us":1764547200000002,"kind":"commit","commit":{"operation":"delete","collection":"app.bsky.feed.post","rkey":"3lbsxyz2abc22"}}`,
		post(`{"text":"` + connectortest.HugeText + `"}`),
		post(`{"text":"` + connectortest.BadText + `","langs":["` + connectortest.BadText + `"]}`),
		post(`{"text":"x","facets":` + connectortest.DeepArray + `}`),
		post(connectortest.DeepObject),
		post(`null`),
		post(`{"text":"x","createdAt":"0001-01-01T00:00:00Z","reply":{"parent":{"uri":"javascript:alert(1)"}},"facets":[null,{"features":[null]}]}`),
		`{"did":"did:plc:a/../b?c#d","time_us":1,"kind":"commit","commit":{"operation":"update","collection":"app.bsky.feed.post","rkey":"../../x","record":{"text":"t"}}}`,
		`{"did":"","time_us":0}`, `null`, `[]`, `{"kind":"commit","commit":null,"did":"d","time_us":5}`,
	} {
		f.Add([]byte(s))
	}
	src, err := New(connectortest.Spec(f, "type: bluesky\nname: fz\n"), []pipeline.Topic{{ID: "acme", Query: "acme"}})
	if err != nil {
		f.Fatal(err)
	}
	env := connectortest.FuzzEnv(Platform)
	env.Matcher = keepAll{}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newRun(src.(*Source), env, slog.New(slog.DiscardHandler))
		r.handle(data)
		for _, m := range r.pending {
			if m.Deleted {
				continue
			}
			m.URL = postURL(m)
			if !strings.HasPrefix(m.ID, Platform+":at://") {
				t.Fatalf("id = %q; want the post's AT URI", m.ID)
			}
			connectortest.CheckMapped(t, m, Platform, "https://bsky.app/profile/")
		}
	})
}
