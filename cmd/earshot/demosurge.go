package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/earshot-dev/earshot/enrich/detect"
	"github.com/earshot-dev/earshot/enrich/trend"
	"github.com/earshot-dev/earshot/pipeline"
)

// The demo's surge: a product complaint (Acme Brew kettles switching on by
// themselves after a firmware update) that spreads across platforms and
// languages a little after `earshot demo` starts. demosurge/surge.json
// holds it with offsets from the demo's start: calm chatter from twelve
// hours before (so the detector has history, and has learnt the calm
// level as normal: three hours of it beside the sparse two-week corpus
// looked like a ramp on every platform series) to ninety minutes after,
// and the surge from 30 s in. Each platform's items are a JSON Feed at
// /surge/<platform>.json, and an item appears there only once its offset
// has passed, as a real feed's would.

//go:embed demosurge/surge.json
var surgeCorpus []byte

// surgeText is one text of the corpus.
type surgeText struct {
	Platform string `json:"platform"`
	Lang     string `json:"lang"`
	Author   string `json:"author"`
	Text     string `json:"text"`
}

type surgeFile struct {
	Baseline struct {
		From  int         `json:"from_seconds"`
		To    int         `json:"to_seconds"`
		Every int         `json:"every_seconds"`
		Items []surgeText `json:"items"`
	} `json:"baseline"`
	Surge struct {
		From       int         `json:"from_seconds"`
		Burst      int         `json:"burst_seconds"`
		BurstItems int         `json:"burst_items"`
		Tail       int         `json:"tail_seconds"`
		TailItems  int         `json:"tail_items"`
		Items      []surgeText `json:"items"`
	} `json:"surge"`
}

// surgeItem is one released-over-time feed item.
type surgeItem struct {
	surgeText
	ID    string
	At    time.Duration // offset from the demo's start
	Surge bool
}

// demoSurgePlatforms are the feeds the corpus may use.
var demoSurgePlatforms = []string{"mastodon", "forum", "reviews", "news"}

// parseSurge expands the corpus into items ordered by offset.
func parseSurge(raw []byte) ([]surgeItem, error) {
	var f surgeFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("demo surge corpus: %w", err)
	}
	b, s := f.Baseline, f.Surge
	var errs []error
	if len(b.Items) == 0 || len(s.Items) == 0 || b.Every <= 0 || b.To <= b.From || s.Burst <= 0 || s.BurstItems <= 0 || s.Tail < 0 || s.TailItems < 0 {
		errs = append(errs, errors.New("demo surge corpus: baseline and surge need items, a positive step and spans"))
	}
	for _, t := range append(slices.Clone(b.Items), s.Items...) {
		if !slices.Contains(demoSurgePlatforms, t.Platform) || t.Text == "" || t.Author == "" {
			errs = append(errs, fmt.Errorf("demo surge corpus: item %q: platform must be one of %v, text and author set", t.Text, demoSurgePlatforms))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	sec := func(x float64) time.Duration { return time.Duration(x * float64(time.Second)) }
	var out []surgeItem
	for i, off := 0, b.From; off < b.To; i, off = i+1, off+b.Every {
		jitter := (i*37)%29 - 14 // seconds, deterministic: talk is not a metronome
		out = append(out, surgeItem{surgeText: b.Items[i%len(b.Items)], ID: "calm-" + strconv.Itoa(i), At: sec(float64(off + jitter))})
	}
	n := s.BurstItems + s.TailItems
	for k := range n {
		var at float64
		if k < s.BurstItems {
			at = float64(s.From) + float64(k)*float64(s.Burst)/float64(s.BurstItems)
		} else {
			j := k - s.BurstItems
			at = float64(s.From+s.Burst) + float64(j+1)*float64(s.Tail)/float64(s.TailItems+1)
		}
		t := s.Items[k%len(s.Items)]
		if k >= len(s.Items) { // another voice, not the same person again
			t.Author += strconv.Itoa(k / len(s.Items))
		}
		out = append(out, surgeItem{surgeText: t, ID: "surge-" + strconv.Itoa(k), At: sec(at), Surge: true})
	}
	slices.SortStableFunc(out, func(a, b surgeItem) int { return int(a.At - b.At) })
	return out, nil
}

// demoSurge serves the corpus's feeds, each item from its release time on.
type demoSurge struct {
	start time.Time
	now   func() time.Time
	items []surgeItem
}

func newDemoSurge(start time.Time, now func() time.Time) (*demoSurge, error) {
	items, err := parseSurge(surgeCorpus)
	if err != nil {
		return nil, err
	}
	return &demoSurge{start: start, now: now, items: items}, nil
}

// withDemoSurge serves the surge feeds under /surge/ (released relative to
// start) and everything else from files.
func withDemoSurge(files http.Handler, start time.Time) http.Handler {
	s, err := newDemoSurge(start, time.Now)
	if err != nil {
		panic(err) // the embedded corpus is part of the build
	}
	mux := http.NewServeMux()
	mux.Handle("/surge/", s)
	mux.Handle("/", files)
	return mux
}

type jsonFeed struct {
	Version     string         `json:"version"`
	Title       string         `json:"title"`
	HomePageURL string         `json:"home_page_url"`
	FeedURL     string         `json:"feed_url"`
	Items       []jsonFeedItem `json:"items"`
}

type jsonFeedItem struct {
	ID            string `json:"id"`
	URL           string `json:"url"`
	Title         string `json:"title,omitempty"`
	ContentText   string `json:"content_text"`
	DatePublished string `json:"date_published"`
	Authors       []struct {
		Name string `json:"name"`
	} `json:"authors"`
	Language string `json:"language"`
}

// ServeHTTP serves /surge/<platform>.json: the items released so far,
// newest first.
func (s *demoSurge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	platform, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/surge/"), ".json")
	if !ok || !slices.Contains(demoSurgePlatforms, platform) {
		http.NotFound(w, r)
		return
	}
	elapsed := s.now().Sub(s.start)
	home := "https://" + platform + ".demo.example"
	feed := jsonFeed{Version: "https://jsonfeed.org/version/1.1", Title: "Acme on " + platform + " (earshot demo)",
		HomePageURL: home, FeedURL: home + "/acme.json", Items: []jsonFeedItem{}}
	for i := len(s.items) - 1; i >= 0; i-- {
		it := s.items[i]
		if it.Platform != platform || it.At > elapsed {
			continue
		}
		fi := jsonFeedItem{ID: home + "/p/" + it.ID, URL: home + "/p/" + it.ID, ContentText: it.Text,
			DatePublished: s.start.Add(it.At).UTC().Format(time.RFC3339), Language: it.Lang}
		if platform == "news" {
			fi.Title = it.Text
		}
		fi.Authors = append(fi.Authors, struct {
			Name string `json:"name"`
		}{it.Author})
		feed.Items = append(feed.Items, fi)
	}
	w.Header().Set("Content-Type", "application/feed+json")
	w.Header().Set("Cache-Control", "no-cache")
	_ = json.NewEncoder(w).Encode(feed)
}

// announceSurge tells the demo's user what to watch for, then prints every
// alert and resolved event from alerts.> with its explanation.
func announceSurge(ctx context.Context, in *infra, w io.Writer) {
	var mu sync.Mutex
	fmt.Fprintf(w, `
About 30 s after start, a complaint about Acme Brew kettles spreads across platforms and languages.
The detector (1-minute buckets in deploy/demo.yaml) alerts a minute or two later; the alert is printed
here, published on NATS alerts.<kind> (%s, subject alerts.>), and stored:

  ./bin/earshot query --config deploy/demo.yaml "SELECT detected_at, status, severity, kind, topic, platform, first_bucket, last_bucket, peak, observed, round(baseline, 1) FROM alerts FINAL ORDER BY detected_at"

Once the series is back at its baseline for 10 minutes, a resolved event follows (alerts.resolved).
`, in.nc.ConnectedUrlRedacted())
	sub, err := in.nc.Subscribe(pipeline.SubjectAlertsPrefix+">", func(m *nats.Msg) {
		var a detect.Alert
		if err := json.Unmarshal(m.Data, &a); err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprint(w, describeAlert(a))
	})
	if err != nil {
		fmt.Fprintf(w, "cannot follow alerts.>: %v\n", err)
		return
	}
	<-ctx.Done()
	_ = sub.Unsubscribe()
}

// describeAlert is the demo's one-paragraph rendering of an alert.
func describeAlert(a detect.Alert) string {
	var b strings.Builder
	scope := a.Topic
	if a.Platform != detect.All {
		scope += " on " + a.Platform
	} else {
		scope += ", all platforms"
	}
	hm := func(t time.Time) string { return t.Local().Format("15:04") }
	if a.Status == detect.StatusResolved {
		fmt.Fprintf(&b, "\nRESOLVED %s of %s (%s): back at its baseline. First bucket %s, last %s, peak %.0f mentions at %s (%.1f expected). Event %s\n",
			a.Kind, scope, a.Severity, hm(a.FirstBucket), hm(a.LastBucket), a.Peak, hm(a.PeakAt), a.PeakExpected, a.EventID)
		return b.String()
	}
	span := strings.TrimSuffix((time.Duration(a.ResolutionSeconds)*time.Second).String(), "0s") + " bucket"
	if a.Kind != trend.KindSpike {
		span = strings.TrimSuffix(a.Window().String(), "0s") + " window"
	}
	fmt.Fprintf(&b, "\nALERT %s %s of %s: %.0f mentions in the %s from %s, %.1f expected (z %.1f, needed %.1f). Id %s\n",
		a.Severity, a.Kind, scope, a.Observed, span, hm(a.WindowStart), a.Expected, a.Z, a.ZNeeded, a.ID)
	for i, m := range a.Explanation.Top {
		if i == 5 {
			break
		}
		fmt.Fprintf(&b, "  what moved: %s %q in %d of %d mentions (%d in the baseline)\n", m.Field, m.Value, m.Window, a.Explanation.Window, m.Baseline)
	}
	if len(a.SampleIDs) > 0 {
		fmt.Fprintf(&b, "  samples: %s\n", strings.Join(a.SampleIDs[:min(3, len(a.SampleIDs))], " "))
	}
	return b.String()
}
