package discourse

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/connectortest"
	"github.com/earshot-dev/earshot/connectors/poll"
	"github.com/earshot-dev/earshot/pipeline"
)

// FuzzPost checks that any post of /posts.json (or of a search answer)
// either is counted as malformed or maps to a mention safe to publish
// (connectortest.CheckMapped) with a link under the forum's base URL. Its
// topic and parent are known beforehand (the connector looks them up over
// HTTP; that is the conformance suite's part).
func FuzzPost(f *testing.F) {
	for _, s := range []string{
		// A real first post and a reply, as /posts.json lists them.
		`{"id":1001,"name":"Wile E.","username":"wile","created_at":"2026-11-30T12:00:00.000Z","cooked":"<p>Acme anvil <strong>falls</strong> &amp; breaks</p>",` +
			`"post_number":1,"post_type":1,"updated_at":"2026-11-30T12:00:00.000Z","reply_count":1,"reply_to_post_number":null,"reads":12,"topic_id":501,` +
			`"topic_slug":"acme-anvil","topic_title":"Acme anvil","version":1,"actions_summary":[{"id":2,"count":3}],"user_deleted":false,"deleted_at":null}`,
		`{"id":1002,"username":"road","created_at":"2026-11-30T12:05:00Z","cooked":"<p>me too</p>","post_number":3,"reply_to_post_number":2,"topic_id":501,` +
			`"topic_slug":"acme-anvil","version":2,"updated_at":"2026-11-30T13:00:00Z"}`,
		`{"id":1003,"created_at":"2026-11-30T12:00:00Z","cooked":"` + connectortest.HugeText + `","post_number":1,"topic_id":1}`,
		`{"id":1004,"created_at":"2026-11-30T12:00:00Z","cooked":"` + connectortest.BadText + `","name":"` + connectortest.BadText + `","topic_title":"` + connectortest.BadText + `","post_number":1,"topic_id":1}`,
		`{"id":1005,"created_at":"2026-11-30T12:00:00Z","cooked":"<script>alert(1)</script><img src=x onerror=alert(1)>","post_number":2,"topic_id":1,"topic_slug":"../../javascript:alert(1)"}`,
		`{"id":1006,"created_at":"2026-11-30T12:00:00Z","cooked":"x","post_number":-5,"reply_to_post_number":-1,"topic_id":-1,"actions_summary":[null]}`,
		`{"id":1007,"created_at":"2026-11-30T12:00:00Z","cooked":` + connectortest.DeepArray + `}`,
		`{"id":1008,"actions_summary":` + connectortest.DeepObject + `}`,
		`{"id":1009,"created_at":"2026-11-30T12:00:00Z","cooked":"gone","post_number":1,"topic_id":1,"user_deleted":true}`,
		`null`, `{}`, `{"id":"x"}`, `[]`,
	} {
		f.Add([]byte(s))
	}
	src, err := New(connectortest.Spec(f, "type: discourse\nname: forum\nforums: [{base_url: https://forum.example.com}]\nmax_item_bytes: 65536\n"),
		[]pipeline.Topic{{ID: "acme", Query: "acme"}})
	if err != nil {
		f.Fatal(err)
	}
	s := src.(*Source)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte) {
		r := &forumRun{Runner: &poll.Runner{Env: connectortest.FuzzEnv(Platform), Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }},
			src: s, cfg: s.cfg, f: s.cfg.forums[0], topics: map[int64]topicInfo{}, byNum: map[[2]int64]int64{}}
		p, ok := r.decodePost(json.RawMessage(raw), "/posts.json")
		if !ok || p.bad {
			return
		}
		r.topics[p.TopicID] = topicInfo{title: "Topic", first: 900}
		if p.ReplyToPostNumber != nil {
			r.byNum[[2]int64{p.TopicID, *p.ReplyToPostNumber}] = 901
		}
		ms, _, err := r.mentions(context.Background(), []post{p}, "acme")
		if err != nil {
			t.Fatalf("mentions() = %v; want no lookup (topic and parent are known)", err)
		}
		for _, m := range ms {
			connectortest.CheckMapped(t, m, Platform, "https://forum.example.com/t/")
			if m.ID != r.mentionID(p.ID) {
				t.Fatalf("id = %q; want %s", m.ID, r.mentionID(p.ID))
			}
		}
	})
}
