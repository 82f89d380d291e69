package pipeline

import (
	"strings"
	"time"
)

// codecFixtures are enriched mentions as they travel on ENRICHED: a
// tweet-length post and a ~1 KB article.
func codecFixtures() []*Mention {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	enr := func(text string) Enrichment {
		return Enrichment{
			Sentiment: &Sentiment{Score: -0.62, Label: SentimentNegative},
			Lang:      "en", LangConfidence: 0.97,
			Topics:   []string{"acme", "t0042"},
			Spans:    []Span{{Topic: "acme", Field: "text", Start: 1, End: 5}, {Topic: "t0042", Field: "text", Start: 40, End: 48}},
			Hashtags: []string{"fail", "acmerecall"}, Mentions: []string{"acme"}, Cashtags: []string{"ACME"},
			Links: []string{"https://news.example.com/recall/123"}, Domains: []string{"example.com"}, Emoji: []string{"😡"},
			DupCluster: "s:993686004c710851", NeedsResponse: true,
			Versions: map[string]string{"entities": "3", "lang": "2", "sentiment": "4", "topics": "2", "dedup": "2", "respond": "1", "trend": "1"},
		}
	}
	tweet := "@acme my order #48213 still hasn't arrived and nobody answers in chat. Worst customer service ever 😡 #fail https://news.example.com/recall/123?utm_source=x"
	article := strings.Repeat("Reports say Acme is recalling thousands of units after complaints about overheating. Analysts expect the launch to push prices down. ", 8)
	return []*Mention{
		{Schema: 1, ID: "twitter:1790012345678901234", Platform: "twitter", Source: "x/stream", Kind: KindReply,
			URL: "https://x.com/dana_k/status/1790012345678901234", Author: Author{ID: "12345", Handle: "dana_k", Name: "Dana K", Followers: 1234},
			Text: tweet, CreatedAt: now, CollectedAt: now.Add(2 * time.Second), Engagement: Engagement{Likes: 12, Reposts: 3, Replies: 1},
			ParentID: "twitter:1790012345678900000", ConversationID: "twitter:1790012345678900000", MatchedRule: "acme", Enrichment: enr(tweet)},
		{Schema: 1, ID: "rss:5f2c0e9b1d7a4c3e", Platform: "rss", Source: "news/https://news.example.com/feed", Kind: KindArticle,
			URL: "https://news.example.com/2026/11/acme-recall", Author: Author{Name: "Newsroom"}, Title: "Acme recalls X200 kettles",
			Text: article, CreatedAt: now, CollectedAt: now.Add(time.Minute), Enrichment: enr(article)},
	}
}
