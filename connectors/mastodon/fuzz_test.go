package mastodon

import (
	"log/slog"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/connectortest"
)

// FuzzStatus checks that any status payload (an element of a timeline page,
// or the data of a streaming "update" event) either is refused as
// malformed or maps to a mention safe to publish (connectortest.CheckMapped)
// whose id is of the status's uri.
func FuzzStatus(f *testing.F) {
	for _, s := range []string{
		// A real status and a boost of one, as /api/v1/timelines/tag/:tag returns them.
		`{"id":"113539421478574215","created_at":"2026-11-30T12:00:00.000Z","in_reply_to_id":null,"sensitive":false,"spoiler_text":"",` +
			`"visibility":"public","language":"en","uri":"https://mastodon.social/users/wile/statuses/113539421478574215",` +
			`"url":"https://mastodon.social/@wile/113539421478574215","replies_count":1,"reblogs_count":2,"favourites_count":3,"edited_at":null,` +
			`"content":"<p>My <a href=\"https://mastodon.social/tags/acme\" class=\"mention hashtag\">#<span>acme</span></a> anvil &amp; me</p>",` +
			`"reblog":null,"account":{"id":"1","username":"wile","acct":"wile","display_name":"Wile E.","url":"https://mastodon.social/@wile","followers_count":10}}`,
		`{"id":"2","created_at":"2026-11-30T12:00:00Z","uri":"https://m.example/s/2","url":null,"account":{"acct":"bob@other.example"},` +
			`"reblog":{"id":"1","uri":"https://o.example/s/1","url":"https://o.example/@a/1","content":"<b>acme</b>","spoiler_text":"cw: <i>x</i>","language":null}}`,
		`{"id":"3","created_at":"2026-11-30T12:00:00Z","uri":"https://m.example/s/3","content":"` + connectortest.HugeText + `"}`,
		`{"id":"4","created_at":"2026-11-30T12:00:00Z","uri":"https://m.example/s/4","content":"` + connectortest.BadText + `","spoiler_text":"` + connectortest.BadText + `","account":{"display_name":"` + connectortest.BadText + `"}}`,
		`{"id":"5","created_at":"2026-11-30T12:00:00Z","uri":"https://m.example/s/5","url":"javascript:alert(1)","in_reply_to_id":"4"}`,
		`{"id":"6","created_at":"2026-11-30T12:00:00Z","uri":"javascript:alert(1)","url":""}`,
		`{"id":"7","created_at":"2026-11-30T12:00:00Z","uri":"https://m.example/s/7","content":` + connectortest.DeepArray + `}`,
		`{"id":"8","created_at":"2026-11-30T12:00:00Z","uri":"https://m.example/s/8","reblog":` + connectortest.DeepObject + `}`,
		`{"id":"9","created_at":"9999-12-31T23:59:59Z","uri":"https://m.example/s/9","edited_at":"0001-01-01T00:00:00Z","favourites_count":-1}`,
		`{"id":"10","created_at":"2026-11-30T12:00:00Z","uri":"https://m.example/s/10","reblog":{"uri":"https://x/1","reblog":{"uri":"https://x/2"}}}`,
		`null`, `{}`, `{"id":"x"}`, `{"id":"11","uri":"u"}`,
	} {
		f.Add([]byte(s))
	}
	r := &run{cfg: &settings{Config: Config{MaxItemBytes: 1 << 20}}, env: connectortest.FuzzEnv(Platform), log: slog.New(slog.DiscardHandler)}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte) {
		st, err := r.decodeStatus(raw)
		if err != nil {
			return
		}
		m := mention(st, "mastodon.social", "acme", now)
		connectortest.CheckMapped(t, m, Platform, "")
		if m.ID != Platform+":"+st.URI {
			t.Fatalf("id = %q; want %s:%s", m.ID, Platform, st.URI)
		}
	})
}
