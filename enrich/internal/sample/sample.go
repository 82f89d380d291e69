// Package sample holds a realistic mix of tweet-length posts (and a few
// articles and comments) shared by the enrich stages' tests and benchmarks:
// several platforms and languages, hashtags, handles, cashtags, tracking
// links, emoji sequences, reposts, questions and complaints addressed to the
// brands of Topics.
//
// The posts carry the enrichment the earlier stages would have added
// (sentiment, topics, language) so later stages can be benchmarked alone.
package sample

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"strings"

	"github.com/earshot-dev/earshot/pipeline"
)

//go:embed testdata/posts.jsonl
var postsJSONL []byte

// Topics are the topics the samples were written for, with brand handles.
func Topics() []pipeline.Topic {
	return []pipeline.Topic{
		{ID: "acme", Query: `acme OR "rocket 3"`, Handles: []string{"acme", "@AcmeSupport", "acme@mastodon.social", "acme.bsky.social"}},
		{ID: "globex", Query: "globex", Handles: []string{"globexcorp"}},
	}
}

// Mentions returns fresh copies of the sample posts, in file order. It panics
// if the embedded file is malformed, which its own test rules out.
func Mentions() []*pipeline.Mention {
	ms, err := parse(postsJSONL)
	if err != nil {
		panic(err)
	}
	return ms
}

// Texts returns the text of every sample post, in file order.
func Texts() []string {
	ms := Mentions()
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}

func parse(data []byte) ([]*pipeline.Mention, error) {
	var out []*pipeline.Mention
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		m, err := pipeline.Unmarshal(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("sample posts.jsonl:%d: %w", line, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("sample posts.jsonl: %w", err)
	}
	return out, nil
}

// Articles builds article-length mentions (about 1 KB of text, with a
// title) from the sample posts: the posts of one language are joined in
// file order until the text passes 1,000 bytes.
func Articles() []*pipeline.Mention {
	byLang := map[string][]*pipeline.Mention{}
	var langs []string
	for _, m := range Mentions() {
		if _, ok := byLang[m.Lang]; !ok {
			langs = append(langs, m.Lang)
		}
		byLang[m.Lang] = append(byLang[m.Lang], m)
	}
	var out []*pipeline.Mention
	for _, l := range langs {
		posts := byLang[l]
		for start := range posts {
			var b strings.Builder
			for i := start; b.Len() < 1000; i++ {
				b.WriteString(posts[i%len(posts)].Text)
				b.WriteString(" ")
			}
			a := *posts[start]
			a.ID = fmt.Sprintf("article:%s:%d", l, start)
			a.Kind = pipeline.KindArticle
			a.Platform = "rss"
			a.Title = posts[(start+1)%len(posts)].Text
			a.Text = strings.TrimSpace(b.String())
			out = append(out, &a)
		}
	}
	return out
}
