package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/console"

	"github.com/earshot-dev/earshot/sink/clickhouse"
)

// benchRows is the size of the generated mentions table.
const benchRows = 1_000_000

// generate fills the store with benchRows mentions over the last 30 days
// (2% need a response, up to two of five topics each, 50k authors),
// ingested a day ago, and 5,000 answered responses, in one INSERT … SELECT
// on the server.
func generate(b *testing.B, st *clickhouse.Store) {
	b.Helper()
	db := "`" + st.Database() + "`"
	ctx := context.Background()
	stmts := []string{
		"INSERT INTO " + db + ".mentions (id, platform, source, kind, url, author_id, author_handle, author_name, author_followers, " +
			"author_verified, title, text, lang, lang_detected, lang_confidence, created_at, collected_at, ingested_at, likes, reposts, " +
			"replies, quotes, views, parent_id, conversation_id, matched_rule, sentiment, sentiment_label, topics, hashtags, mentions, " +
			"cashtags, links, domains, emoji, dup_cluster, trends, needs_response, enrich_errors, versions, schema) " +
			"SELECT concat('gen:', toString(number)), ['forum', 'mastodon', 'rss', 'reviews'][number % 4 + 1], 'gen', 'post', " +
			"concat('https://example.com/p/', toString(number)), '', concat('user', toString(number % 50000)), '', toInt64(number % 10000), 0, " +
			"'', concat('Acme kettle number ', toString(number), ' stopped working after the update, refund please #acme'), '', " +
			"['en', 'de', 'fr'][number % 3 + 1], 0.9, toDateTime(now() - number % 2592000), now(), now() - 86400, toInt64(number % 7), 0, 0, 0, 0, " +
			"'', '', '', toFloat32((number % 200) / 100 - 1), ['negative', 'neutral', 'positive'][number % 3 + 1], " +
			"arraySlice(['acme', 'aero', 'brew', 'refund', 'shipping'], number % 5 + 1, number % 3), ['acme', concat('tag', toString(number % 300))], " +
			"[], [], [], [concat('site', toString(number % 500), '.example')], [], concat('c', toString(number % 200000)), [], " +
			"toUInt8(number % 50 = 0), [], [], 1 FROM numbers(" + strconv.Itoa(benchRows) + ")",
		"INSERT INTO " + db + ".responses (mention_id, platform, state, actor, note, mention_created_at, claimed_at, responded_at, updated_at, version) " +
			"SELECT concat('gen:', toString(number * 50)), 'forum', 'answered', 'ann', '', now(), now(), now(), now(), 1 FROM numbers(5000)",
	}
	for _, s := range stmts {
		if err := st.Conn().Exec(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPages measures the console's queue and topic pages on a
// million stored mentions, next to a baseline in the same run: counting
// the table through FINAL, the least any deduplicated read costs.
//
//	go test -run '^$' -bench Pages -benchtime 5x -v ./console/
func BenchmarkPages(b *testing.B) {
	st := openStore(b)
	generate(b, st)
	srv, err := console.New(options(st, "127.0.0.1:0", nil))
	if err != nil {
		b.Fatal(err)
	}
	// The first rollup pass copies every hour of the table into the topic
	// index and recounts every hour and day; later passes only those that
	// received mentions.
	t0 := time.Now()
	if err := srv.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Logf("first rollup pass over %d mentions: %v", benchRows, time.Since(t0).Round(time.Millisecond))
	c := httptest.NewServer(srv.Handler())
	defer c.Close()
	db := "`" + st.Database() + "`"
	for _, p := range []struct{ name, url string }{
		{"queue", "/api/queue"},
		{"queue_topic_filter", "/api/queue?topic=refund&platform=forum"},
		{"topic_1h", "/api/topic?range=1h&topic=acme"},
		{"topic_6h_all", "/api/topic?range=6h"},
		{"topic_24h", "/api/topic?range=24h&topic=acme"},
		{"topic_24h_all", "/api/topic?range=24h"},
		{"topic_7d", "/api/topic?range=7d&topic=acme"},
		{"topic_30d", "/api/topic?range=30d&topic=acme"},
		{"topic_30d_all", "/api/topic?range=30d"},
		{"people_24h", "/api/people?range=24h&topic=acme"},
		{"people_30d", "/api/people?range=30d&topic=acme"},
		{"people_30d_all", "/api/people?range=30d"},
	} {
		if p.name == "topic_7d" {
			// A steady-state pass: a batch of new mentions arrives.
			b.Run("rollup_pass_after_1000_new", func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					if err := st.Conn().Exec(context.Background(), "INSERT INTO "+db+".mentions (id, platform, created_at, collected_at, ingested_at, topics, "+
						"sentiment_label) SELECT concat('new:', toString(rand64())), 'forum', now(), now(), now(), ['acme'], 'negative' FROM numbers(1000)"); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					if err := srv.Refresh(context.Background()); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				res, err := http.Get(c.URL + p.url)
				if err != nil {
					b.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Fatalf("GET %s = %d", p.url, res.StatusCode)
				}
			}
		})
	}
	b.Run("baseline_count_final", func(b *testing.B) {
		for b.Loop() {
			var n uint64
			if err := st.Conn().QueryRow(context.Background(), "SELECT count() FROM "+db+".mentions FINAL").Scan(&n); err != nil || n < benchRows {
				b.Fatalf("count = %d, %v", n, err)
			}
		}
	})
}
