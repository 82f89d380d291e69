package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/console"
	"github.com/earshot-dev/earshot/pipeline"
)

type indexedPage struct {
	Rollup bool `json:"rollup"`
	Series []struct {
		Volume, Positive, Negative uint64
	} `json:"series"`
	Voice []struct {
		Key   string `json:"key"`
		N     uint64 `json:"n"`
		Extra string `json:"extra"`
	} `json:"share_of_voice"`
	Hashtags []struct {
		Key string `json:"key"`
		N   uint64 `json:"n"`
	} `json:"hashtags"`
	Authors []struct {
		Key string `json:"key"`
		N   uint64 `json:"n"`
	} `json:"authors"`
}

type peoplePage struct {
	Advocates, Detractors []struct {
		Handle   string `json:"handle"`
		Mentions uint64 `json:"mentions"`
		SampleID string `json:"sample_id"`
	}
}

// summary is what a topic page counts: volume, positive, negative, and
// share of voice as topic=mentions/negative.
func summary(p indexedPage) string {
	var vol, pos, neg uint64
	for _, s := range p.Series {
		vol, pos, neg = vol+s.Volume, pos+s.Positive, neg+s.Negative
	}
	voice := map[string]string{}
	for _, v := range p.Voice {
		voice[v.Key] = fmt.Sprintf("%d/%s", v.N, v.Extra)
	}
	return fmt.Sprintf("volume %d, positive %d, negative %d, voice %v", vol, pos, neg, voice)
}

func handles(p peoplePage) (adv, det []string) {
	// Each author of the seed wrote one mention, whose id is the handle's
	// suffix: the sample shown must be theirs.
	for _, a := range p.Advocates {
		adv = append(adv, fmt.Sprintf("%s×%d", a.Handle, a.Mentions))
		if a.Handle != "u-"+a.SampleID {
			adv = append(adv, "sample "+a.SampleID)
		}
	}
	for _, d := range p.Detractors {
		det = append(det, fmt.Sprintf("%s×%d", d.Handle, d.Mentions))
		if d.Handle != "u-"+d.SampleID {
			det = append(det, "sample "+d.SampleID)
		}
	}
	slices.Sort(adv)
	slices.Sort(det)
	return adv, det
}

// TestIndexFollowsRedeliveriesVersionsAndDeletions checks the pages read
// from the topic index (every range once a rollup pass ran): a mention
// stored twice counts once; a later version with another label and other
// topics replaces the earlier one instead of adding to it; a deleted
// mention leaves every page; and the short and long ranges agree with the
// deduplicated view mentions_dedup.
func TestIndexFollowsRedeliveriesVersionsAndDeletions(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	seed(t, st) // a redelivered batch
	c, err := console.New(options(st, "127.0.0.1:0", nil))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	ctx := context.Background()
	pages := func(step string, wantTopic string, wantAdv, wantDet []string) {
		t.Helper()
		if err := c.Refresh(ctx); err != nil {
			t.Fatalf("%s: Refresh: %v", step, err)
		}
		for _, r := range []string{"1h", "24h", "7d", "30d"} {
			var p indexedPage
			if code := getJSON(t, get(t, srv.URL+"/api/topic?range="+r), &p); code != http.StatusOK {
				t.Fatalf("%s: GET /api/topic?range=%s = %d", step, r, code)
			}
			if r == "1h" {
				continue // forum:1 is 3 hours old: checked with 24h
			}
			if got := summary(p); got != wantTopic {
				t.Errorf("%s: topic page %s: %s; want %s", step, r, got, wantTopic)
			}
			if (r == "7d" || r == "30d") != p.Rollup {
				t.Errorf("%s: topic page %s: rollup %v", step, r, p.Rollup)
			}
			for _, a := range p.Authors {
				if a.N != 1 {
					t.Errorf("%s: topic page %s: author %s counted %d times; want 1", step, r, a.Key, a.N)
				}
			}
			var pp peoplePage
			if code := getJSON(t, get(t, srv.URL+"/api/people?range="+r), &pp); code != http.StatusOK {
				t.Fatalf("%s: GET /api/people = %d", step, code)
			}
			if adv, det := handles(pp); !slices.Equal(adv, wantAdv) || !slices.Equal(det, wantDet) {
				t.Errorf("%s: people %s: advocates %v, detractors %v; want %v and %v", step, r, adv, det, wantAdv, wantDet)
			}
		}
		var live uint64
		if err := st.Conn().QueryRow(ctx, "SELECT count() FROM `"+st.Database()+"`.mentions_dedup").Scan(&live); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("volume %d,", live); wantTopic[:len(want)] != want {
			t.Fatalf("%s: the test expects %q but mentions_dedup holds %d", step, wantTopic, live)
		}
	}
	pages("stored twice", "volume 4, positive 0, negative 4, voice map[acme:4/4 refund:2/2]",
		nil, []string{"u-forum:1×1", "u-forum:3×1", "u-forum:4×1", "u-mastodon:2×1"})

	// forum:1 collected again: now positive and no longer about a refund.
	now := time.Now().UTC().Truncate(time.Second)
	v2 := &pipeline.Mention{Schema: 1, ID: "forum:1", Platform: "forum", Source: "test", Kind: pipeline.KindPost,
		URL: "https://example.com/forum:1", Author: pipeline.Author{Handle: "u-forum:1", Followers: 10},
		Text: "@acme the new kettle works, thanks", CreatedAt: now.Add(-3 * time.Hour), CollectedAt: now.Add(time.Second)}
	v2.Enrichment.Topics, _ = mustMatcher(t).Match(v2)
	v2.Enrichment.Sentiment = &pipeline.Sentiment{Score: 0.8, Label: pipeline.SentimentPositive}
	if err := st.Write(ctx, []*pipeline.Mention{v2}); err != nil {
		t.Fatal(err)
	}
	pages("a new version", "volume 4, positive 1, negative 3, voice map[acme:4/3 refund:1/1]",
		[]string{"u-forum:1×1"}, []string{"u-forum:3×1", "u-forum:4×1", "u-mastodon:2×1"})

	// mastodon:2 deleted on its platform; forum:4's deletion arrives with
	// no creation time, so its tombstone lands in another partition.
	if err := st.Write(ctx, []*pipeline.Mention{
		pipeline.Tombstone("mastodon", "mastodon:2", "test", now.Add(-10*time.Minute), now),
		// (Normalize dates it at the deletion, as here.)
		pipeline.Tombstone("forum", "forum:4", "test", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)),
	}); err != nil {
		t.Fatal(err)
	}
	pages("two deletions", "volume 2, positive 1, negative 1, voice map[acme:2/1 refund:1/1]",
		[]string{"u-forum:1×1"}, []string{"u-forum:3×1"})

	// A new mention in forum:4's hour: the hour is copied again, without
	// the tombstone's (2020) hour, and forum:4 stays deleted.
	m5 := &pipeline.Mention{Schema: 1, ID: "forum:5", Platform: "forum", Source: "test", Kind: pipeline.KindPost,
		Author: pipeline.Author{Handle: "u-forum:5"}, Text: "acme tea", CreatedAt: now.Add(-time.Minute), CollectedAt: now}
	m5.Enrichment.Topics, _ = mustMatcher(t).Match(m5)
	m5.Enrichment.Sentiment = &pipeline.Sentiment{Label: pipeline.SentimentNeutral}
	if err := st.Write(ctx, []*pipeline.Mention{m5}); err != nil {
		t.Fatal(err)
	}
	pages("a new mention beside a deleted one", "volume 3, positive 1, negative 1, voice map[acme:3/1 refund:1/1]",
		[]string{"u-forum:1×1"}, []string{"u-forum:3×1"})
}

// TestPassGoesOnFromTheLastCompletePass starts a second console process
// after a first one's pass and after a pass that was cut short (it had
// recorded a copied hour, later than anything else, and then stopped): the
// new process copies every hour that changed since the last complete pass.
func TestPassGoesOnFromTheLastCompletePass(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	ctx := context.Background()
	first, err := console.New(options(st, "127.0.0.1:0", nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	m := &pipeline.Mention{Schema: 1, ID: "forum:9", Platform: "forum", Source: "test", Kind: pipeline.KindPost,
		Author: pipeline.Author{Handle: "u-9"}, Text: "acme refund please", CreatedAt: now, CollectedAt: now}
	m.Enrichment.Topics, _ = mustMatcher(t).Match(m)
	if err := st.Write(ctx, []*pipeline.Mention{m}); err != nil {
		t.Fatal(err)
	}
	// The cut-short pass: an hour five days ago recorded an hour from now.
	if err := st.Conn().Exec(ctx, "INSERT INTO `"+st.Database()+"`.topic_passes (hour, version) SELECT toStartOfHour(now() - 432000), toUInt64(?)",
		uint64(now.Add(time.Hour).UnixNano())); err != nil {
		t.Fatal(err)
	}
	second, err := console.New(options(st, "127.0.0.1:0", nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(second.Handler())
	defer srv.Close()
	var p indexedPage
	if code := getJSON(t, get(t, srv.URL+"/api/topic?range=24h"), &p); code != http.StatusOK {
		t.Fatalf("GET /api/topic = %d", code)
	}
	if got, want := summary(p), "volume 5, positive 0, negative 4, voice map[acme:5/4 refund:3/2]"; got != want {
		t.Errorf("after a restart: %s; want %s (forum:9 copied by the new process)", got, want)
	}
}
