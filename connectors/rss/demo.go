package rss

import (
	"embed"
	"io/fs"
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
// fixed (13–25 November 2026).
func DemoFeeds() fs.FS {
	sub, err := fs.Sub(demoFiles, "testdata/demo")
	if err != nil {
		panic("rss: embedded demo feeds: " + err.Error()) // a build defect, not a runtime condition
	}
	return sub
}
