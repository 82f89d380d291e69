package stackexchange

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/connectortest"
	"github.com/earshot-dev/earshot/connectors/poll"
	"github.com/earshot-dev/earshot/pipeline"
)

// FuzzWrapper checks that any API answer (the common wrapper around
// questions, answers or comments) either is refused as malformed or maps,
// item by item, to mentions safe to publish (connectortest.CheckMapped).
func FuzzWrapper(f *testing.F) {
	const q, a, c = 0, 1, 2
	for _, s := range []struct {
		typ  uint8
		body string
	}{
		// Real answers of /questions, /answers and /comments with the earshot filter.
		{q, `{"items":[{"tags":["acme"],"owner":{"user_id":7,"display_name":"Wile &amp; Co","reputation":10},"is_answered":true,"view_count":40,` +
			`"answer_count":2,"score":3,"last_activity_date":1764547300,"creation_date":1764547200,"last_edit_date":1764547250,"question_id":79000001,` +
			`"link":"https://stackoverflow.com/questions/79000001/acme-anvil","title":"Acme anvil &quot;falls&quot;?","body":"<p>It <code>falls</code>.</p>"}],` +
			`"has_more":false,"quota_max":10000,"quota_remaining":9990}`},
		{a, `{"items":[{"owner":{"user_id":8,"display_name":"road"},"score":1,"creation_date":1764547400,"answer_id":79000002,"question_id":79000001,"body":"<p>Use glue.</p>"}],"has_more":true,"backoff":10}`},
		{c, `{"items":[{"owner":{"display_name":"x"},"creation_date":1764547500,"comment_id":139000003,"post_id":79000002,"body":"nice"}],"quota_remaining":0}`},
		{q, `{"items":[null,{},{"question_id":-1},{"question_id":1,"creation_date":1}]}`},
		{q, `{"items":[{"question_id":2,"creation_date":1764547200,"title":"t","body":"` + connectortest.HugeText + `"}]}`},
		{q, `{"items":[{"question_id":3,"creation_date":1764547200,"title":"` + connectortest.BadText + `","body":"` + connectortest.BadText + `","owner":{"display_name":"` + connectortest.BadText + `"}}]}`},
		{q, `{"items":[{"question_id":4,"creation_date":1764547200,"body":"b","link":"javascript:alert(1)"}]}`},
		{a, `{"items":[{"answer_id":5,"creation_date":9223372036854775807,"body":"b","question_id":0}]}`},
		{c, `{"items":` + connectortest.DeepArray + `}`},
		{q, `{"items":[` + connectortest.DeepObject + `]}`},
		{q, `{"items":null}`}, {q, `null`}, {a, `{"error_id":502,"error_message":"too many requests","error_name":"throttle_violation"}`},
	} {
		f.Add(s.typ, []byte(s.body))
	}
	f.Setenv("EARSHOT_TEST_SE_KEY", "key")
	src, err := New(connectortest.Spec(f, "type: stackexchange\nname: se\nkey: {env: EARSHOT_TEST_SE_KEY}\nsites: [stackoverflow]\nmax_item_bytes: 65536\n"),
		[]pipeline.Topic{{ID: "acme", Query: "acme"}})
	if err != nil {
		f.Fatal(err)
	}
	s := src.(*Source)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	paths := []string{"/questions", "/answers", "/comments"}
	f.Fuzz(func(t *testing.T, typ uint8, body []byte) {
		r := &run{Runner: &poll.Runner{Env: connectortest.FuzzEnv(Platform), Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }},
			src: s, cfg: s.cfg, backoff: map[string]time.Time{}}
		path := paths[int(typ)%len(paths)]
		w, err := r.decode(context.Background(), path, path, body)
		if err != nil || w == nil {
			return
		}
		for i := range w.items {
			it := &w.items[i]
			if it.oversized {
				continue
			}
			m := r.mention(it, "stackoverflow", "acme")
			connectortest.CheckMapped(t, m, Platform, "")
			if m.ID != MentionID("stackoverflow", it.typ, it.id()) {
				t.Fatalf("id = %q; want %s", m.ID, MentionID("stackoverflow", it.typ, it.id()))
			}
		}
	})
}
