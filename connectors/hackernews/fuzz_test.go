package hackernews

import (
	"log/slog"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/connectortest"
	"github.com/earshot-dev/earshot/connectors/poll"
	"github.com/earshot-dev/earshot/pipeline"
)

// FuzzSearch checks that any /search_by_date response body either is
// refused as malformed or maps, hit by hit, to mentions safe to publish
// (connectortest.CheckMapped) with the item's news.ycombinator.com page.
func FuzzSearch(f *testing.F) {
	for _, s := range []string{
		// Real Algolia results: a story and a comment.
		`{"hits":[{"objectID":"42000001","created_at_i":1764547200,"created_at":"2026-12-01T00:00:00Z","title":"Acme anvils &amp; you","url":"https://acme.example/",` +
			`"author":"wile","points":12,"num_comments":3,"story_text":null,"_tags":["story","author_wile","story_42000001"]},` +
			`{"objectID":"42000002","created_at_i":1764547300,"comment_text":"<p>Mine <i>broke</i>.<p>Twice &#x2F; <a href=\"https://x.example\">x</a>","author":"road",` +
			`"parent_id":42000001,"story_id":42000001,"_tags":["comment"]}],"nbHits":2,"page":0,"nbPages":1,"hitsPerPage":100}`,
		`{"hits":[null,{},{"objectID":""},{"objectID":"1","created_at_i":-1}],"nbPages":1}`,
		`{"hits":[{"objectID":"3","created_at_i":1764547200,"title":"t","story_text":"` + connectortest.HugeText + `"}],"nbPages":1}`,
		`{"hits":[{"objectID":"4","created_at_i":1764547200,"title":"` + connectortest.BadText + `","story_text":"` + connectortest.BadText + `","author":"` + connectortest.BadText + `"}],"nbPages":1}`,
		`{"hits":[{"objectID":"5","created_at_i":1764547200,"comment_text":"x","parent_id":null,"story_id":null,"_tags":["comment"]}],"nbPages":1}`,
		`{"hits":[{"objectID":"../6?x=<script>","created_at_i":9223372036854775807,"url":"javascript:alert(1)"}],"nbPages":1}`,
		`{"hits":` + connectortest.DeepArray + `,"nbPages":1}`,
		`{"hits":[` + connectortest.DeepObject + `],"nbPages":1}`,
		`{"hits":[]}`, `null`, `{"nbPages":null}`,
	} {
		f.Add([]byte(s))
	}
	src, err := New(connectortest.Spec(f, "type: hackernews\nname: hn\nmax_item_bytes: 65536\n"), []pipeline.Topic{{ID: "acme", Query: "acme"}})
	if err != nil {
		f.Fatal(err)
	}
	s := src.(*Source)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	r := &run{Runner: &poll.Runner{Env: connectortest.FuzzEnv(Platform), Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }},
		src: s, cfg: s.cfg}
	f.Fuzz(func(t *testing.T, body []byte) {
		pg, err := r.decodeSearch(body)
		if err != nil {
			return
		}
		for i := range pg.hits {
			h := &pg.hits[i]
			if h.oversized {
				continue
			}
			m := r.mention(h, "acme")
			connectortest.CheckMapped(t, m, Platform, "https://news.ycombinator.com/item?id=")
			if m.ID != Platform+":"+h.ObjectID {
				t.Fatalf("id = %q; want %s:%s", m.ID, Platform, h.ObjectID)
			}
		}
	})
}
