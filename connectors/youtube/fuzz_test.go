package youtube

import (
	"log/slog"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/connectortest"
	"github.com/earshot-dev/earshot/connectors/poll"
	"github.com/earshot-dev/earshot/pipeline"
)

// FuzzCommentThreads checks that any commentThreads.list answer either is
// refused as malformed or maps, thread by thread with the replies it
// carries, to mentions safe to publish (connectortest.CheckMapped) linking
// to the comment on youtube.com, the way pollVideo maps them.
func FuzzCommentThreads(f *testing.F) {
	top := func(id, extra string) string {
		return `{"kind":"youtube#commentThread","id":"` + id + `","snippet":{"videoId":"dQw4w9WgXcQ","totalReplyCount":1,"topLevelComment":{"kind":"youtube#comment","id":"` + id + `",` +
			`"snippet":{"videoId":"dQw4w9WgXcQ","textDisplay":"Acme &amp; anvils","textOriginal":"Acme & anvils","authorDisplayName":"@wile",` +
			`"authorChannelId":{"value":"UCx"},"likeCount":3,"publishedAt":"2026-11-30T12:00:00Z","updatedAt":"2026-11-30T12:00:00Z"` + extra + `}}}`
	}
	for _, s := range []string{
		// A real page: a thread with one reply inline.
		`{"kind":"youtube#commentThreadListResponse","nextPageToken":"QURT","pageInfo":{"totalResults":1,"resultsPerPage":100},"items":[` +
			top("UgxA", "") + `,"replies":{"comments":[{"kind":"youtube#comment","id":"UgxA.9r","snippet":{"videoId":"dQw4w9WgXcQ","textOriginal":"same",` +
			`"parentId":"UgxA","authorDisplayName":"road","publishedAt":"2026-11-30T12:05:00Z","updatedAt":"2026-11-30T13:00:00Z"}}]}}]}`,
		`{"items":[null,{},{"id":"x"},{"id":"y","snippet":null}]}`,
		`{"items":[` + top("UgxB", `,"textOriginal":"`+connectortest.HugeText+`"`) + `}]}`,
		`{"items":[` + top("UgxC", `,"textOriginal":"","textDisplay":"`+connectortest.BadText+`","authorDisplayName":"`+connectortest.BadText+`"`) + `}]}`,
		`{"items":[` + top("UgxD", "") + `,"replies":{"comments":[null,{},{"id":"","snippet":{"parentId":"UgxD"}}]}}]}`,
		`{"items":[` + top("UgxE&x=<script>", `,"videoId":"\"><script>alert(1)</script>"`) + `}]}`,
		`{"items":[` + top("UgxF", `,"publishedAt":"0001-01-01T00:00:00Z","likeCount":-9223372036854775808`) + `}]}`,
		`{"items":` + connectortest.DeepArray + `}`,
		`{"items":[` + connectortest.DeepObject + `]}`,
		`{"items":null}`, `null`, `{"error":{"code":403,"errors":[{"reason":"commentsDisabled"}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Setenv("EARSHOT_TEST_YT_KEY", "key")
	src, err := New(connectortest.Spec(f, "type: youtube\nname: yt\nkey: {env: EARSHOT_TEST_YT_KEY}\nvideos: [dQw4w9WgXcQ]\nmax_item_bytes: 65536\n"),
		[]pipeline.Topic{{ID: "acme", Query: "acme"}})
	if err != nil {
		f.Fatal(err)
	}
	s := src.(*Source)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	r := &run{Runner: &poll.Runner{Env: connectortest.FuzzEnv(Platform), Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }},
		src: s, cfg: s.cfg}
	f.Fuzz(func(t *testing.T, body []byte) {
		pg, err := r.decodeThreads(body, "GET /commentThreads")
		if err != nil {
			return
		}
		for i := range pg.threads {
			th := &pg.threads[i]
			if th.bad {
				continue
			}
			top := &th.Snippet.TopLevelComment
			connectortest.CheckMapped(t, r.mention(top, th.Snippet.TotalReplyCount, "acme"), Platform, "https://www.youtube.com/watch?v=")
			for j := range th.Replies.Comments {
				connectortest.CheckMapped(t, r.mention(&th.Replies.Comments[j], 0, "acme"), Platform, "https://www.youtube.com/watch?v=")
			}
		}
	})
}
