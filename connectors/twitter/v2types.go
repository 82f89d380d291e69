package twitter

import (
	"net/url"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// Fields requested on every v2 read (search, stream).
const (
	v2Expansions  = "author_id,referenced_tweets.id,referenced_tweets.id.author_id"
	v2TweetFields = "created_at,lang,public_metrics,conversation_id,referenced_tweets,entities,note_tweet,author_id,in_reply_to_user_id"
	v2UserFields  = "username,name,public_metrics,verified"
)

func v2FieldParams(q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
	q.Set("expansions", v2Expansions)
	q.Set("tweet.fields", v2TweetFields)
	q.Set("user.fields", v2UserFields)
	return q
}

// v2Tweet is a post object of the X API v2.
type v2Tweet struct {
	ID               string `json:"id"`
	Text             string `json:"text"`
	AuthorID         string `json:"author_id"`
	CreatedAt        string `json:"created_at"`
	Lang             string `json:"lang"`
	ConversationID   string `json:"conversation_id"`
	InReplyToUserID  string `json:"in_reply_to_user_id"`
	ReferencedTweets []struct {
		Type string `json:"type"` // replied_to, quoted, retweeted
		ID   string `json:"id"`
	} `json:"referenced_tweets"`
	PublicMetrics struct {
		RetweetCount    int64 `json:"retweet_count"`
		ReplyCount      int64 `json:"reply_count"`
		LikeCount       int64 `json:"like_count"`
		QuoteCount      int64 `json:"quote_count"`
		ImpressionCount int64 `json:"impression_count"`
	} `json:"public_metrics"`
	NoteTweet *struct {
		Text string `json:"text"`
	} `json:"note_tweet"`
}

func (t *v2Tweet) fullText() string {
	if t.NoteTweet != nil && t.NoteTweet.Text != "" {
		return unescapeText(t.NoteTweet.Text)
	}
	return unescapeText(t.Text)
}

// v2User is a user object of the X API v2.
type v2User struct {
	ID            string `json:"id"`
	Username      string `json:"username"`
	Name          string `json:"name"`
	Verified      bool   `json:"verified"`
	PublicMetrics struct {
		FollowersCount int64 `json:"followers_count"`
	} `json:"public_metrics"`
}

type v2Includes struct {
	Users  []v2User  `json:"users"`
	Tweets []v2Tweet `json:"tweets"`
}

// v2Problem is an error object (RFC 7807 style) of the X API v2, as a whole
// response body or as an entry of "errors".
type v2Problem struct {
	Title          string              `json:"title"`
	Detail         string              `json:"detail"`
	Type           string              `json:"type"`
	Status         int                 `json:"status"`
	Reason         string              `json:"reason"`
	Message        string              `json:"message"`
	DisconnectType string              `json:"disconnect_type"`
	Value          string              `json:"value"` // rule endpoints: the rule value that failed
	ID             string              `json:"id"`    // rule endpoints: the rule id that failed
	Parameters     map[string][]string `json:"parameters"`
}

// v2Page is a search response, or one line of the filtered stream.
type v2Page struct {
	Data          []v2Tweet   `json:"data"`
	Includes      v2Includes  `json:"includes"`
	Errors        []v2Problem `json:"errors"`
	Meta          v2Meta      `json:"meta"`
	MatchingRules []struct {
		ID  string `json:"id"`
		Tag string `json:"tag"`
	} `json:"matching_rules"`
}

type v2Meta struct {
	NewestID    string `json:"newest_id"`
	OldestID    string `json:"oldest_id"`
	ResultCount int    `json:"result_count"`
	NextToken   string `json:"next_token"`
}

// v2StreamLine is one line of the filtered stream: data is a single post.
type v2StreamLine struct {
	Data          *v2Tweet    `json:"data"`
	Includes      v2Includes  `json:"includes"`
	Errors        []v2Problem `json:"errors"`
	MatchingRules []struct {
		ID  string `json:"id"`
		Tag string `json:"tag"`
	} `json:"matching_rules"`
}

// mapper turns v2 posts and their includes into mentions.
type mapper struct {
	users  map[string]*v2User
	tweets map[string]*v2Tweet
}

func newMapper(inc *v2Includes) *mapper {
	m := &mapper{users: make(map[string]*v2User, len(inc.Users)), tweets: make(map[string]*v2Tweet, len(inc.Tweets))}
	for i := range inc.Users {
		m.users[inc.Users[i].ID] = &inc.Users[i]
	}
	for i := range inc.Tweets {
		m.tweets[inc.Tweets[i].ID] = &inc.Tweets[i]
	}
	return m
}

// postURL is the public URL of a post.
func postURL(handle, id string) string {
	if handle == "" {
		return "https://x.com/i/web/status/" + id
	}
	return "https://x.com/" + handle + "/status/" + id
}

// mention maps one v2 post. source and matched fill Mention.Source and
// Mention.MatchedRule.
func (mp *mapper) mention(t *v2Tweet, source, matched string, now time.Time) *pipeline.Mention {
	m := &pipeline.Mention{
		ID:             "twitter:" + t.ID,
		Platform:       "twitter",
		Source:         source,
		Kind:           pipeline.KindPost,
		Text:           t.fullText(),
		Lang:           t.Lang,
		CollectedAt:    now,
		ConversationID: t.ConversationID,
		MatchedRule:    matched,
		Engagement: pipeline.Engagement{
			Likes:   t.PublicMetrics.LikeCount,
			Reposts: t.PublicMetrics.RetweetCount,
			Replies: t.PublicMetrics.ReplyCount,
			Quotes:  t.PublicMetrics.QuoteCount,
			Views:   t.PublicMetrics.ImpressionCount,
		},
	}
	if ts, err := time.Parse(time.RFC3339Nano, t.CreatedAt); err == nil {
		m.CreatedAt = ts.UTC()
	}
	m.Author.ID = t.AuthorID
	if u := mp.users[t.AuthorID]; u != nil {
		m.Author.Handle = u.Username
		m.Author.Name = u.Name
		m.Author.Followers = u.PublicMetrics.FollowersCount
		m.Author.Verified = u.Verified
	}
	refs := map[string]string{}
	for _, r := range t.ReferencedTweets {
		if _, ok := refs[r.Type]; !ok {
			refs[r.Type] = r.ID
		}
	}
	switch {
	case refs["retweeted"] != "":
		m.Kind, m.ParentID = pipeline.KindRepost, refs["retweeted"]
		// A repost's own text is "RT @x: " and the original, truncated at
		// 140 characters; the original's full text is in includes.tweets.
		if orig := mp.tweets[m.ParentID]; orig != nil && orig.fullText() != "" {
			m.Text = orig.fullText()
		}
	case refs["replied_to"] != "":
		m.Kind, m.ParentID = pipeline.KindReply, refs["replied_to"]
	case refs["quoted"] != "":
		m.Kind, m.ParentID = pipeline.KindQuote, refs["quoted"]
	}
	m.URL = postURL(m.Author.Handle, t.ID)
	return m
}
