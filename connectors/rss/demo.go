package rss

import (
	"embed"
	"io/fs"
	"testing/fstest"
	"time"
)

//go:embed testdata/demo
var demoFiles embed.FS

// DemoFeeds returns a small corpus of realistic feeds about the fictional
// brand Acme, for `earshot demo` to serve over local HTTP:
//
//	news.rss           RSS 2.0, a tech news site's Acme tag (18 items)
//	forum.atom         Atom, a community forum with relative links (20 entries)
//	mastodon-acme.rss  RSS 2.0 as Mastodon serves a hashtag (25 posts, 8 languages)
//	reviews.json       JSON Feed 1.1, shop reviews (18 items, 6 languages)
//
// Items carry complaints, praise, questions and news, with hashtags,
// @handles, links with utm parameters, emoji and non-English text. Dates are
// fixed (13–25 November 2026); DemoFeedsAt moves them to the demo's start.
func DemoFeeds() fs.FS {
	sub, err := fs.Sub(demoFiles, "testdata/demo")
	if err != nil {
		panic("rss: embedded demo feeds: " + err.Error()) // a build defect, not a runtime condition
	}
	return sub
}

// DemoFeedsAt returns the demo corpus with every date moved by the same
// amount so that the newest item is a minute before start: the corpus then
// covers the 12 days before the demo, and "last day" or "last week" queries
// find it.
func DemoFeedsAt(start time.Time) fs.FS {
	files, _, err := ShiftCorpus(DemoFeeds(), start.Add(-time.Minute))
	if err != nil {
		panic("rss: embedded demo feeds: " + err.Error()) // a build defect
	}
	m := fstest.MapFS{}
	for p, b := range files {
		m[p] = &fstest.MapFile{Data: b, Mode: 0o444, ModTime: start}
	}
	return m
}
