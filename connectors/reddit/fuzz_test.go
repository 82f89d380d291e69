package reddit

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/earshot-dev/earshot/connectors/connectortest"
	"github.com/earshot-dev/earshot/pipeline"
)

// FuzzListing checks that any response body to a listing request either is
// refused as malformed or maps, item by item, to mentions safe to publish
// (connectortest.CheckMapped), the way poll maps them.
func FuzzListing(f *testing.F) {
	h := connectortest.HugeText
	for _, s := range []string{
		// A real listing: a post and a comment, as /r/<sub>/new and /comments return them.
		`{"kind":"Listing","data":{"after":"t3_abc","children":[` +
			`{"kind":"t3","data":{"id":"abc","name":"t3_abc","subreddit":"acme","title":"Acme anvil review","selftext":"It works &amp; it is heavy",` +
			`"author":"wile","author_fullname":"t2_w","permalink":"/r/acme/comments/abc/acme_anvil_review/","created_utc":1764547200.0,"score":12,"num_comments":3,"edited":false}},` +
			`{"kind":"t1","data":{"id":"def","name":"t1_def","subreddit":"acme","body":"mine broke","author":"[deleted]","link_id":"t3_abc","parent_id":"t3_abc",` +
			`"permalink":"/r/acme/comments/abc/x/def/","created_utc":1764547300,"score":-2,"edited":1764547400.5}}]}}`,
		`{"kind":"Listing","data":{"children":[null,{"kind":"t3","data":null},{"kind":"t3"}]}}`,
		`{"kind":"Listing","data":{"children":[{"kind":"t3","data":{"name":"t3_big","created_utc":1,"selftext":"` + h + `"}}]}}`,
		`{"kind":"Listing","data":{"children":[{"kind":"t3","data":{"name":"t3_u","created_utc":1764547200,"title":"` + connectortest.BadText + `","selftext":"` + connectortest.BadText + `","author":"a/../b"}}]}}`,
		`{"kind":"Listing","data":{"children":[{"kind":"t1","data":{"name":"t1_x","created_utc":1e300,"parent_id":"","edited":"yes","removed_by_category":"moderator"}}]}}`,
		`{"kind":"Listing","data":{"children":` + connectortest.DeepArray + `}}`,
		`{"kind":"Listing","data":` + connectortest.DeepObject + `}`,
		`{"kind":"Listing","data":{"children":[{"kind":"t3","data":{"name":"t3_n","created_utc":-5,"permalink":"javascript:alert(1)"}}]}}`,
		`null`, `[]`, `{"kind":"Listing"}`, `{"kind":"t3"}`,
	} {
		f.Add([]byte(s))
	}
	f.Setenv("EARSHOT_TEST_REDDIT_ID", "id")
	f.Setenv("EARSHOT_TEST_REDDIT_SECRET", "secret")
	src, err := New(connectortest.Spec(f, `type: reddit
name: r
client_id: {env: EARSHOT_TEST_REDDIT_ID}
client_secret: {env: EARSHOT_TEST_REDDIT_SECRET}
user_agent: "test:earshot:v0 (by /u/earshot)"
subreddits: [acme]
max_item_bytes: 65536
`), []pipeline.Topic{{ID: "acme", Query: "acme"}})
	if err != nil {
		f.Fatal(err)
	}
	s := src.(*Source)
	r := &run{src: s, cfg: s.cfg, env: connectortest.FuzzEnv(Platform), log: slog.New(slog.DiscardHandler)}
	f.Fuzz(func(t *testing.T, body []byte) {
		page, err := r.decodeListing("/r/acme/new", body)
		if err != nil {
			return
		}
		for i := range page.things {
			th := &page.things[i]
			if th.oversized || th.removed() {
				continue
			}
			m := r.mention(th, "acme")
			connectortest.CheckMapped(t, m, Platform, "https://www.reddit.com/")
			if !strings.HasSuffix(m.ID, th.Data.Name) {
				t.Fatalf("id %q is not of fullname %q", m.ID, th.Data.Name)
			}
		}
	})
}
