package appstore

import (
	"log/slog"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/connectortest"
	"github.com/earshot-dev/earshot/connectors/poll"
	"github.com/earshot-dev/earshot/pipeline"
)

// FuzzReviewsFeed checks that any customer-reviews RSS (JSON) page either
// is refused as malformed or maps, review by review, to mentions safe to
// publish (connectortest.CheckMapped): kind review, a rating of 1 to 5, a
// link to the app's page on apps.apple.com.
func FuzzReviewsFeed(f *testing.F) {
	review := func(id, extra string) string {
		return `{"author":{"uri":{"label":"https://itunes.apple.com/us/reviews/id12345"},"name":{"label":"wile"},"label":""},` +
			`"updated":{"label":"2026-11-30T04:00:00-07:00"},"im:rating":{"label":"2"},"im:version":{"label":"3.1"},"id":{"label":"` + id + `"},` +
			`"title":{"label":"Anvil fell"},"content":{"label":"It broke &amp; fell","attributes":{"type":"text"}},"im:voteSum":{"label":"3"},"im:voteCount":{"label":"4"}` + extra + `}`
	}
	for _, s := range []string{
		// A real page: the link list and two reviews (an array of entries).
		`{"feed":{"author":{"name":{"label":"iTunes Store"}},"entry":[` + review("11001", "") + `,` + review("11002", `,"content":{"label":"<b>great</b>","attributes":{"type":"html"}}`) + `],` +
			`"link":[{"attributes":{"rel":"alternate","type":"text/html","href":"https://apps.apple.com/us/app/id1/"}},` +
			`{"attributes":{"rel":"last","href":"https://itunes.apple.com/us/rss/customerreviews/page=10/id=1/sortby=mostrecent/json"}}]}}`,
		// One entry is an object, not an array; the app's own entry has no rating.
		`{"feed":{"entry":` + review("11003", "") + `}}`,
		`{"feed":{"entry":[{"im:name":{"label":"Acme"},"id":{"label":"1"}}]}}`,
		`{"feed":{"entry":[` + review("11004", `,"content":{"label":"`+connectortest.HugeText+`"}`) + `]}}`,
		`{"feed":{"entry":[` + review("11005", `,"title":{"label":"`+connectortest.BadText+`"},"content":{"label":"`+connectortest.BadText+`","attributes":{"type":"html"}},"author":{"name":{"label":"`+connectortest.BadText+`"}}`) + `]}}`,
		`{"feed":{"entry":[` + review("11006", `,"im:rating":{"label":"9"}`) + `,` + review("11007", `,"im:rating":{"label":"-1"},"updated":{"label":"yesterday"}`) + `]}}`,
		`{"feed":{"entry":[` + review("", "") + `,null,{},` + review("11008", `,"im:voteSum":{"label":"99999999999999999999"}`) + `]}}`,
		`{"feed":{"entry":` + connectortest.DeepArray + `}}`,
		`{"feed":{"entry":[` + connectortest.DeepObject + `],"link":` + connectortest.DeepArray + `}}`,
		`{"feed":{}}`, `{"feed":null}`, `null`, `{"feed":{"entry":"x"}}`,
	} {
		f.Add([]byte(s))
	}
	src, err := New(connectortest.Spec(f, "type: appstore\nname: apps\napps: [{id: 1, countries: [us]}]\nmax_item_bytes: 65536\n"),
		[]pipeline.Topic{{ID: "acme", Query: "acme"}})
	if err != nil {
		f.Fatal(err)
	}
	s := src.(*Source)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	r := &run{Runner: &poll.Runner{Env: connectortest.FuzzEnv(Platform), Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }},
		src: s, cfg: s.cfg}
	fd := s.cfg.feeds[0]
	f.Fuzz(func(t *testing.T, body []byte) {
		pg, err := r.decode("/us/rss/customerreviews/page=1/id=1/sortby=mostrecent/json", body)
		if err != nil {
			return
		}
		for i := range pg.entries {
			e := &pg.entries[i]
			if e.oversized {
				continue
			}
			m := r.mention(e, fd)
			connectortest.CheckMapped(t, m, Platform, "https://apps.apple.com/us/app/id1")
			if m.Kind != pipeline.KindReview || m.Rating < 1 || m.Rating > 5 {
				t.Fatalf("kind %q rating %d; want a review rated 1 to 5", m.Kind, m.Rating)
			}
		}
	})
}
