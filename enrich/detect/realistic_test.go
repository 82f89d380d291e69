package detect

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/enrich/trend/nab"
	"github.com/earshot-dev/earshot/pipeline"
)

// realStream is an enriched mention stream built from real data: the
// volume of tweets about three companies per 5 minutes (NAB realTweets,
// with their labelled surges), Reddit comments (GoEmotions, with their
// sentiment group) as posts, and NYT editorial snippets joined into
// article-length texts with a movie-review snippet as title. The
// enrichment fields are filled the way the enrich chain fills them, so the
// JSON is as long and as nested as on the ENRICHED stream.
type realStream struct {
	Mentions []*pipeline.Mention
	Data     [][]byte // Mentions, encoded as the enrich role publishes them
	Topics   []pipeline.Topic
}

// realSeries are the NAB tweet-volume series the stream follows, and the
// topic each becomes.
var realSeries = []struct{ file, topic string }{
	{"Twitter_volume_AAPL.csv", "aapl"},
	{"Twitter_volume_CVS.csv", "cvs"},
	{"Twitter_volume_FB.csv", "fb"},
}

// loadRealStream builds the stream from buckets of 5 minutes starting at
// row from of each series, each bucket's count divided by scale.
func loadRealStream(tb testing.TB, from, buckets, scale int) *realStream {
	tb.Helper()
	dir, err := nab.DataDir()
	if err != nil {
		tb.Fatalf("shared data: %v", err)
	}
	posts, negs := readGoEmotions(tb, filepath.Join(dir, "goemotions", "dev.tsv"))
	snippets := readVader(tb, filepath.Join(dir, "vader", "nytEditorialSnippets_GroundTruth.txt"))
	titles := readVader(tb, filepath.Join(dir, "vader", "movieReviewSnippets_GroundTruth.txt"))

	rs := &realStream{}
	var volumes [][]float64
	var times []time.Time
	for _, s := range realSeries {
		ts, vs, err := nab.ReadSeriesFile(filepath.Join(dir, "nab", "realTweets", s.file))
		if err != nil {
			tb.Fatal(err)
		}
		if len(vs) < from+buckets {
			tb.Fatalf("%s has %d rows; want %d", s.file, len(vs), from+buckets)
		}
		volumes = append(volumes, vs[from:from+buckets])
		times = ts[from : from+buckets]
		rs.Topics = append(rs.Topics, pipeline.Topic{ID: s.topic, Query: s.topic})
	}
	r := rand.New(rand.NewPCG(11, 5))
	platforms := []string{"twitter", "twitter", "mastodon", "reddit", "rss", "hackernews"}
	langs := []string{"en", "en", "en", "en", "es", "de"}
	tags := strings.Fields("deal outage launch review unboxing help recall fail love travel music tech news sale")
	emoji := []string{"😡", "😍", "🚀", "🔥", "👍", "😂"}
	n := 0
	for b := range buckets {
		type one struct {
			topic int
			at    time.Time
		}
		var bucket []one
		for si := range realSeries {
			k := int(volumes[si][b]) / scale
			for i := range k {
				bucket = append(bucket, one{si, times[b].Add(time.Duration(i) * 5 * time.Minute / time.Duration(k))})
			}
		}
		r.Shuffle(len(bucket), func(i, j int) { bucket[i], bucket[j] = bucket[j], bucket[i] })
		for _, o := range bucket {
			n++
			topic := rs.Topics[o.topic].ID
			m := &pipeline.Mention{
				Schema:      pipeline.SchemaVersion,
				ID:          fmt.Sprintf("twitter:%d", 1e15+n*7919),
				Platform:    platforms[r.IntN(len(platforms))],
				Source:      "bench/stream",
				Kind:        pipeline.KindPost,
				Author:      pipeline.Author{ID: fmt.Sprint(r.IntN(1e6)), Handle: fmt.Sprintf("User%d", r.IntN(3000)), Name: "Some One", Followers: int64(r.IntN(1e5))},
				URL:         fmt.Sprintf("https://x.example/status/%d", n),
				CreatedAt:   o.at.Add(-time.Duration(r.IntN(20)) * time.Second).UTC(),
				CollectedAt: o.at.UTC(),
				Engagement:  pipeline.Engagement{Likes: int64(r.IntN(500)), Reposts: int64(r.IntN(50)), Replies: int64(r.IntN(20))},
			}
			if r.IntN(20) == 0 {
				m.CreatedAt = time.Time{} // event time from CollectedAt
			}
			var text strings.Builder
			neg := false
			if p := r.IntN(len(posts)); r.IntN(10) < 6 {
				text.WriteString(posts[p])
				neg = negs[p]
			} else {
				m.Kind, m.Platform = pipeline.KindArticle, "rss"
				m.Title = titles[r.IntN(len(titles))]
				for text.Len() < 900+r.IntN(250) {
					text.WriteString(snippets[r.IntN(len(snippets))])
					text.WriteString(" ")
				}
				neg = r.IntN(4) == 0
			}
			var hashtags []string
			for range r.IntN(4) {
				h := tags[min(r.IntN(len(tags)), r.IntN(len(tags)))] + fmt.Sprint(r.IntN(30))
				text.WriteString(" #" + h)
				hashtags = append(hashtags, h)
			}
			if r.IntN(3) == 0 {
				text.WriteString(" " + emoji[r.IntN(len(emoji))])
			}
			if r.IntN(4) == 0 {
				text.WriteString(" https://news.example.com/a/" + fmt.Sprint(r.IntN(1e6)) + "?utm_source=x")
			}
			m.Text = " " + strings.TrimSpace(text.String()) + " \"quoted\" \\ end"
			if r.IntN(3) == 0 {
				m.Lang = langs[r.IntN(len(langs))]
			}
			label, score := pipeline.SentimentNeutral, 0.05
			if neg {
				label, score = pipeline.SentimentNegative, -0.62
			} else if r.IntN(3) == 0 {
				label, score = pipeline.SentimentPositive, 0.55
			}
			e := &m.Enrichment
			e.Sentiment = &pipeline.Sentiment{Score: score, Label: label, Confidence: 0.8}
			e.Lang, e.LangConfidence, e.LangDetected = langs[r.IntN(len(langs))], 0.93, "en"
			if r.IntN(8) == 0 {
				e.Lang = ""
			}
			e.Topics = []string{topic}
			if r.IntN(10) == 0 {
				e.Topics = append(e.Topics, rs.Topics[r.IntN(len(rs.Topics))].ID, "unconfigured")
			}
			for _, t := range e.Topics {
				e.Spans = append(e.Spans, pipeline.Span{Topic: t, Field: "text", Start: 3, End: 9})
			}
			e.Hashtags = hashtags
			e.Mentions = []string{"acmesupport"}
			e.Links = []string{"https://news.example.com/a/1"}
			e.Domains = []string{"news.example.com"}
			e.Emoji = []string{"🔥"}
			e.DupCluster = fmt.Sprintf("%016x", r.Uint64())
			if r.IntN(5) == 0 {
				e.Trends = []string{"#" + tags[0] + "1", "recall"}
			}
			e.NeedsResponse = r.IntN(7) == 0
			for _, st := range []string{"entities", "lang", "sentiment", "topics", "dedup", "respond", "trend"} {
				m.SetVersion(st, "1")
			}
			if r.IntN(200) == 0 {
				// A deletion of a post seen before.
				m = pipeline.Tombstone(m.Platform, rs.Mentions[r.IntN(len(rs.Mentions))].ID, m.Source, m.CreatedAt, m.CollectedAt)
				m.Schema = pipeline.SchemaVersion
			}
			data, err := m.Marshal()
			if err != nil {
				tb.Fatal(err)
			}
			rs.Mentions = append(rs.Mentions, m)
			rs.Data = append(rs.Data, data)
			if r.IntN(100) == 0 {
				// Redelivered, or published twice.
				rs.Mentions = append(rs.Mentions, m)
				rs.Data = append(rs.Data, data)
			}
		}
	}
	return rs
}

// readGoEmotions returns the comments and whether each is in the negative
// group.
func readGoEmotions(tb testing.TB, path string) ([]string, []bool) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var texts []string
	var negs []bool
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) < 2 {
			continue
		}
		texts = append(texts, parts[0])
		negs = append(negs, strings.HasPrefix(parts[1], "1"))
	}
	if len(texts) == 0 {
		tb.Fatalf("%s: no rows", path)
	}
	return texts, negs
}

// readVader returns the texts of a VADER ground-truth file.
func readVader(tb testing.TB, path string) []string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	var out []string
	for line := range strings.SplitSeq(string(b), "\n") {
		parts := strings.SplitN(strings.TrimRight(line, "\r"), "\t", 3)
		if len(parts) == 3 {
			out = append(out, parts[2])
		}
	}
	if len(out) == 0 {
		tb.Fatalf("%s: no rows", path)
	}
	return out
}
