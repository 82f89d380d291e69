package dedup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/pipeline"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// post is one hand-written mention of the evaluation set. story names its
// true cluster; "" means it is a story of its own.
type post struct {
	story    string
	platform string
	kind     string
	title    string
	text     string
	links    []string // canonical, as the entities stage leaves them
	parent   string
}

// evalSet: reposts, cross-posts, syndicated copies and small edits of a few
// stories, and unrelated posts on the same topics, in arrival order.
var evalSet = []post{
	// A launch tweet, its RTs, cross-posts and decorated copies.
	{story: "launch", platform: "twitter", text: "Acme just announced the new Rocket 3 lineup, shipping in April with double the battery life"},
	{story: "launch", platform: "twitter", kind: pipeline.KindRepost, text: "RT @techbyte: Acme just announced the new Rocket 3 lineup, shipping in April with double the battery life"},
	{story: "launch", platform: "mastodon", text: "Acme just announced the new Rocket 3 lineup, shipping in April with double the battery life #AcmeRocket #tech"},
	{story: "launch", platform: "bluesky", text: "🚀 Acme just announced the new Rocket 3 lineup, shipping in April with double the battery life! 🔥 via @techbyte"},
	{story: "launch", platform: "linkedin", text: "Acme just announced the NEW Rocket 3 line-up, shipping in April with double the battery life."},
	// A wire story: headlines with source suffixes, a prefix, an article, a link share.
	{story: "recall", platform: "twitter", text: "Acme recalls 40,000 Rocket 2 chargers over overheating risk - Reuters", links: []string{"https://www.reuters.com/business/acme-recall-2025-03-01/"}},
	{story: "recall", platform: "rss", kind: pipeline.KindArticle, title: "Acme recalls 40,000 Rocket 2 chargers over overheating risk | TechCrunch", text: "Acme said on Saturday it was recalling about 40,000 chargers sold in the United States after reports of overheating.", links: []string{"https://techcrunch.com/2025/03/01/acme-recall/"}},
	{story: "recall", platform: "rss", kind: pipeline.KindArticle, title: "Acme Recalls 40,000 Rocket 2 Chargers Over Overheating Risk — The Verge", text: "The company says no injuries were reported. Owners can request a free replacement on its website.", links: []string{"https://www.theverge.com/2025/3/1/acme-recall"}},
	{story: "recall", platform: "twitter", text: "BREAKING: Acme recalls 40,000 Rocket 2 chargers over overheating risk"},
	{story: "recall", platform: "twitter", text: "Yikes. Check yours https://techcrunch.com/2025/03/01/acme-recall/", links: []string{"https://techcrunch.com/2025/03/01/acme-recall/"}},
	{story: "recall", platform: "reddit", text: "Acme recalls 40,000 Rocket 2 chargers over overheating risk #recall #safety"},
	// One link, different commentary.
	{story: "postmortem", platform: "hn", kind: pipeline.KindComment, text: "Great writeup on retry storms from the Acme team, worth reading", links: []string{"https://acme.com/blog/postmortem-0228"}},
	{story: "postmortem", platform: "mastodon", text: "Must read for every SRE: how a retry storm took down Acme for four hours", links: []string{"https://acme.com/blog/postmortem-0228"}},
	// A long cross-post, copied with a trailing emoji, and with one word changed.
	{story: "migration", platform: "twitter", text: "We moved 3PB from Acme Storage to Globex over six months, cut costs by 40% and learned a lot about egress fees, consistency models and vendor lock-in. Full write-up on our engineering blog, with graphs and the scripts we used."},
	{story: "migration", platform: "linkedin", text: "We moved 3PB from Acme Storage to Globex over six months, cut costs by 40% and learned a lot about egress fees, consistency models and vendor lock-in. Full write-up on our engineering blog, with graphs and the scripts we used 👇"},
	{story: "migration", platform: "reddit", text: "We moved 3PB from Acme Storage to Globex over 6 months, cut costs by 40% and learned a lot about egress fees, consistency models and vendor lock-in. Full write-up on our engineering blog, with graphs and the scripts we used."},
	// Accents and case.
	{story: "region", platform: "twitter", text: "Globex abre nueva región en São Paulo para clientes de América Latina"},
	{story: "region", platform: "mastodon", text: "GLOBEX ABRE NUEVA REGION EN SAO PAULO PARA CLIENTES DE AMERICA LATINA"},
	// A complaint copied with a greeting added.
	{story: "complaint", platform: "twitter", text: "@acme my order still hasn't arrived after three weeks and nobody answers in chat"},
	{story: "complaint", platform: "twitter", text: "Hey @acme my order still hasnt arrived after three weeks and nobody answers in chat!!"},
	// A repost with no text of its own.
	{story: "complaint", platform: "twitter", kind: pipeline.KindRepost, text: "", parent: "twitter:e019"},

	// Unrelated posts on the same topics.
	{platform: "twitter", text: "Acme Rocket 3 battery life is amazing, lasted two full days"},
	{platform: "twitter", text: "Acme Rocket 3 battery life is terrible, dead by noon every day"},
	{platform: "twitter", text: "Acme recalls Rocket 2 chargers; here is how to check if yours is affected"},
	{platform: "twitter", text: "Acme announced Rocket 3 today and I am already saving up for it"},
	{platform: "reddit", text: "Is the Acme Rocket 3 worth upgrading to from the Rocket 2?"},
	{platform: "twitter", text: "Acme stock falls 3% after charger recall news", links: []string{"https://markets.example.com/acme"}},
	{platform: "twitter", text: "My Acme order arrived today after three days, super happy with it"},
	{platform: "twitter", text: "Our team moved from Globex to Acme Storage last year and never looked back"},
	{platform: "twitter", text: "Visit our store for the new Rocket 3, in stock now", links: []string{"https://acme.com/"}},
	{platform: "twitter", text: "Shop the Rocket 3 launch deals this weekend only", links: []string{"https://acme.com/"}},
	{platform: "twitter", text: "Follow the official account for launch updates", links: []string{"https://x.com/acme"}},
	{platform: "twitter", text: "Stay tuned for more launch news from the account", links: []string{"https://x.com/acme"}},
	{platform: "twitter", text: "love acme"},
	{platform: "twitter", text: "acme down again?"},
	{platform: "twitter", text: "Globex opens a new cloud region in Frankfurt for European customers"},
}

func evalMentions() []*pipeline.Mention {
	ms := make([]*pipeline.Mention, len(evalSet))
	for i, p := range evalSet {
		kind := p.kind
		if kind == "" {
			kind = pipeline.KindPost
		}
		m := &pipeline.Mention{
			ID: fmt.Sprintf("%s:e%03d", p.platform, i), Platform: p.platform, Kind: kind,
			Title: p.title, Text: p.text, ParentID: p.parent, CreatedAt: t0.Add(time.Duration(i) * time.Minute),
		}
		if p.parent != "" {
			m.ParentID = p.parent
		}
		m.Enrichment.Links = p.links
		ms[i] = m
	}
	// The repost's parent is the first complaint, whatever its index.
	for i, p := range evalSet {
		if p.kind == pipeline.KindRepost && p.parent != "" {
			for j, q := range evalSet {
				if q.story == p.story && q.kind != pipeline.KindRepost {
					ms[i].ParentID = ms[j].ID
					break
				}
			}
		}
	}
	return ms
}

func newStage(t testing.TB) *Stage {
	t.Helper()
	s, err := New(pipeline.EnricherEnv{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestNearDuplicatePrecisionRecall measures pairwise precision and recall of
// the clusters on the evaluation set, at max_distance 3 and at the default,
// and logs them.
func TestNearDuplicatePrecisionRecall(t *testing.T) {
	for _, maxDist := range []int{3, DefaultOptions().MaxDistance} {
		o := DefaultOptions()
		o.MaxDistance = maxDist
		s := NewWithOptions(o, nil)
		ms := evalMentions()
		if err := s.Enrich(context.Background(), ms); err != nil {
			t.Fatal(err)
		}
		var tp, fp, fn int
		for i := range ms {
			for j := i + 1; j < len(ms); j++ {
				same := evalSet[i].story != "" && evalSet[i].story == evalSet[j].story
				ci, cj := ms[i].Enrichment.DupCluster, ms[j].Enrichment.DupCluster
				got := ci != "" && ci == cj
				switch {
				case same && got:
					tp++
				case !same && got:
					fp++
					t.Errorf("max_distance %d: false duplicates (%s):\n  %q\n  %q", maxDist, ci, evalSet[i].text, evalSet[j].text)
				case same && !got:
					fn++
					t.Logf("max_distance %d: missed pair (%q vs %q):\n  %q\n  %q", maxDist, ci, cj,
						evalSet[i].title+evalSet[i].text, evalSet[j].title+evalSet[j].text)
				}
			}
		}
		precision := float64(tp) / float64(max(tp+fp, 1))
		recall := float64(tp) / float64(max(tp+fn, 1))
		t.Logf("max_distance %d: near-duplicate pairs: %d true positives, %d false positives, %d missed: precision %.3f, recall %.3f",
			maxDist, tp, fp, fn, precision, recall)
		if precision < 1 {
			t.Errorf("max_distance %d: precision = %.3f; want 1 on the hand-written set", maxDist, precision)
		}
		if maxDist == DefaultOptions().MaxDistance && recall < 0.85 {
			t.Errorf("max_distance %d: recall = %.3f; want at least 0.85 on the hand-written set", maxDist, recall)
		}
		for i, m := range ms {
			if m.Enrichment.Versions[Name] != Version {
				t.Errorf("mention %d: Versions[%q] = %q; want %q", i, Name, m.Enrichment.Versions[Name], Version)
			}
		}
		for _, short := range []string{"love acme", "acme down again?"} {
			for i, p := range evalSet {
				if p.text == short && ms[i].Enrichment.DupCluster != "" {
					t.Errorf("short post %q: DupCluster = %q; want none", short, ms[i].Enrichment.DupCluster)
				}
			}
		}
	}
}

// Exact copies get the same id on two replicas that share nothing, and a
// replayed stream gets the same ids as the first run.
func TestClusterIDsDeterministic(t *testing.T) {
	a, b := newStage(t), newStage(t)
	ms := evalMentions()
	if err := a.Enrich(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	replay := evalMentions()
	if err := b.Enrich(context.Background(), replay); err != nil {
		t.Fatal(err)
	}
	for i := range ms {
		if ms[i].Enrichment.DupCluster != replay[i].Enrichment.DupCluster {
			t.Errorf("mention %d: replica A %q, replica B %q; want equal", i, ms[i].Enrichment.DupCluster, replay[i].Enrichment.DupCluster)
		}
	}
	// An RT arriving alone at a third replica gets the original's id.
	c := newStage(t)
	rt := evalMentions()[1]
	if err := c.Enrich(context.Background(), []*pipeline.Mention{rt}); err != nil {
		t.Fatal(err)
	}
	if rt.Enrichment.DupCluster != ms[0].Enrichment.DupCluster {
		t.Errorf("RT alone on another replica: %q; want the original's %q", rt.Enrichment.DupCluster, ms[0].Enrichment.DupCluster)
	}
	if !strings.HasPrefix(ms[0].Enrichment.DupCluster, "s:") {
		t.Errorf("first text-only mention: DupCluster = %q; want an s: fingerprint id", ms[0].Enrichment.DupCluster)
	}
}

// A redelivered mention keeps its cluster even after the story moved on.
func TestRedeliveryKeepsCluster(t *testing.T) {
	s := newStage(t)
	ms := evalMentions()
	if err := s.Enrich(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	again := evalMentions()
	for i, m := range again {
		if err := s.Enrich(context.Background(), []*pipeline.Mention{m}); err != nil {
			t.Fatal(err)
		}
		if m.Enrichment.DupCluster != ms[i].Enrichment.DupCluster {
			t.Errorf("redelivered mention %d: %q; want %q", i, m.Enrichment.DupCluster, ms[i].Enrichment.DupCluster)
		}
	}
}

// Past the window, a near copy starts its own cluster.
func TestWindow(t *testing.T) {
	o := DefaultOptions()
	o.Window = time.Hour
	s := NewWithOptions(o, nil)
	a := &pipeline.Mention{ID: "x:1", Text: "Yikes. Check yours", Enrichment: pipeline.Enrichment{Links: []string{"https://example.com/story/1"}}, CreatedAt: t0}
	b := &pipeline.Mention{ID: "x:2", Text: "Same link, later", Enrichment: pipeline.Enrichment{Links: []string{"https://example.com/story/1"}}, CreatedAt: t0.Add(59 * time.Minute)}
	c := &pipeline.Mention{ID: "x:3", Text: "Same link, much later", Enrichment: pipeline.Enrichment{Links: []string{"http://www.example.com/story/1/"}}, CreatedAt: t0.Add(3 * time.Hour)}
	if err := s.Enrich(context.Background(), []*pipeline.Mention{a, b, c}); err != nil {
		t.Fatal(err)
	}
	if a.Enrichment.DupCluster == "" || a.Enrichment.DupCluster != b.Enrichment.DupCluster {
		t.Errorf("same link 59 min apart: %q and %q; want one cluster", a.Enrichment.DupCluster, b.Enrichment.DupCluster)
	}
	// The link cluster id is the hash of the link, so it is the same again.
	if c.Enrichment.DupCluster != a.Enrichment.DupCluster {
		t.Errorf("same link (http, www., trailing /) 3h later: %q; want the link's id %q", c.Enrichment.DupCluster, a.Enrichment.DupCluster)
	}
}

func TestStoryKey(t *testing.T) {
	tests := []struct {
		links []string
		want  string
	}{
		{[]string{"https://www.example.com/a/b/"}, "example.com/a/b"},
		{[]string{"http://example.com/a?x=1"}, "example.com/a?x=1"},
		{[]string{"https://acme.com/", "https://acme.com/?q=1", "https://x.com/acme", "https://x.com/acme/status/1"}, "x.com/acme/status/1"},
		{[]string{"ftp://example.com/a"}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		got, ok := storyKey(tt.links)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("storyKey(%q) = %q, %v; want %q", tt.links, got, ok, tt.want)
		}
	}
}

func TestOptions(t *testing.T) {
	decode := func(src string) (*Stage, error) {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(src), &n); err != nil {
			t.Fatal(err)
		}
		return New(pipeline.EnricherEnv{Options: &n, File: "earshot.yaml"})
	}
	s, err := decode("capacity: 5000\nwindow: 12h\nmax_distance: 2\nmin_words: 6\n")
	if err != nil {
		t.Fatalf("New(valid options) = %v", err)
	}
	if want := (Options{Capacity: 5000, Window: 12 * time.Hour, MaxDistance: 2, MinWords: 6}); s.opts != want {
		t.Errorf("options = %+v; want %+v", s.opts, want)
	}
	_, err = decode("capacity: 5\nwindow: -1h\nmax_distance: 20\nmin_words: 1\n")
	if !errors.Is(err, ErrOptions) {
		t.Fatalf("New(invalid options) = %v; want ErrOptions", err)
	}
	for _, key := range []string{"capacity", "window", "max_distance", "min_words"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("New(invalid options) = %v; want it to name %s", err, key)
		}
	}
	if _, err := decode("capasity: 5000\n"); err == nil || !strings.Contains(err.Error(), "capasity") {
		t.Errorf("New(unknown key) = %v; want an error naming it", err)
	}
}

func TestRegistered(t *testing.T) {
	f, ok := pipeline.EnricherFactoryFor(Name)
	if !ok {
		t.Fatalf("EnricherFactoryFor(%q) not found", Name)
	}
	st, err := f(pipeline.EnricherEnv{})
	if err != nil || st.Name() != Name || st.Version() != Version {
		t.Fatalf("factory() = %v, %v", st, err)
	}
}

// Batches enriched concurrently share one index safely (run with -race),
// and exact copies still land in one cluster.
func TestConcurrentBatches(t *testing.T) {
	s := newStage(t)
	done := make(chan []*pipeline.Mention)
	for g := range 4 {
		go func() {
			ms := evalMentions()
			for i, m := range ms {
				m.ID = fmt.Sprintf("g%d:%d", g, i)
			}
			if err := s.Enrich(context.Background(), ms); err != nil {
				t.Error(err)
			}
			done <- ms
		}()
	}
	var results [][]*pipeline.Mention
	for range 4 {
		results = append(results, <-done)
	}
	for i := range evalSet {
		if evalSet[i].story == "" || evalSet[i].text == "" {
			continue
		}
		for g := 1; g < 4; g++ {
			if a, b := results[0][i].Enrichment.DupCluster, results[g][i].Enrichment.DupCluster; a != b {
				t.Errorf("post %d: goroutine 0 cluster %q, goroutine %d cluster %q; want equal", i, a, g, b)
			}
		}
	}
}
