package entities

import (
	"slices"
	"strings"
	"testing"
)

func TestExtractHashtags(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"#Launch day! #launch #AcmeRocket", []string{"launch", "acmerocket"}},
		{"I write C# and fixed issue#12 today", nil},
		{"#1 fan, #2024 was great", nil},
		{"#2024plans are set", []string{"2024plans"}},
		{"new #Rocket_3 (#beta)", []string{"rocket_3", "beta"}},
		{"unicode #café #東京 #로켓3 #टेक #Ελλάδα", []string{"café", "東京", "로켓3", "टेक", "ελλάδα"}},
		{"fullwidth ＃ハッシュタグ works", []string{"ハッシュタグ"}},
		{"html &#39;quoted&#39; text", nil},
		{"link https://acme.com/docs#install has a fragment", nil},
		{"##double and #ok#joined", []string{"ok"}},
		{"ends with #", nil},
		{"emoji after #fire🔥", []string{"fire"}},
	}
	for _, tt := range tests {
		if got := Extract(tt.text).Hashtags; !slices.Equal(got, tt.want) {
			t.Errorf("Extract(%q).Hashtags = %q; want %q", tt.text, got, tt.want)
		}
	}
}

func TestExtractMentions(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"@Acme @acme @AcmeSupport hi", []string{"acme", "acmesupport"}},
		{"RT @techbyte: great", []string{"techbyte"}},
		{"mail dev@example.com or me@acme.io", nil},
		{"mastodon @rosa@fosstodon.org and @Acme@Mastodon.Social", []string{"rosa@fosstodon.org", "acme@mastodon.social"}},
		{"bluesky cc @alice.bsky.social.", []string{"alice.bsky.social"}},
		{"@john.smith is not a domain", []string{"john"}},
		{"@user's cat", []string{"user"}},
		{"@" + strings.Repeat("a", 31) + " too long", nil},
		{"@" + strings.Repeat("a", 30) + " fits", []string{strings.Repeat("a", 30)}},
		{"fullwidth ＠acme", []string{"acme"}},
		{"a @ b and @_under_score", []string{"_under_score"}},
		{"@acme@ trailing at", []string{"acme"}},
		{"in url https://medium.com/@writer/post", nil},
	}
	for _, tt := range tests {
		if got := Extract(tt.text).Mentions; !slices.Equal(got, tt.want) {
			t.Errorf("Extract(%q).Mentions = %q; want %q", tt.text, got, tt.want)
		}
	}
}

func TestExtractCashtags(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"$AAPL and $aapl and $TSLA.", []string{"AAPL", "TSLA"}},
		{"paid $5 or $5.99 or $5M", nil},
		{"$BRK.B $RDS_A up", []string{"BRK.B", "RDS_A"}},
		{"$TOOLONG is not one", nil},
		{"US$100 and $ACME1", nil},
		{"($GLBX)", []string{"GLBX"}},
	}
	for _, tt := range tests {
		if got := Extract(tt.text).Cashtags; !slices.Equal(got, tt.want) {
			t.Errorf("Extract(%q).Cashtags = %q; want %q", tt.text, got, tt.want)
		}
	}
}

func TestExtractLinks(t *testing.T) {
	tests := []struct {
		text        string
		links, doms []string
	}{
		{"read https://www.acme.com/blog/rocket-3?utm_source=tw&utm_medium=social&ref=tb!",
			[]string{"https://www.acme.com/blog/rocket-3"}, []string{"acme.com"}},
		{"(see https://en.wikipedia.org/wiki/Acme_(company)).",
			[]string{"https://en.wikipedia.org/wiki/Acme_(company)"}, []string{"wikipedia.org"}},
		{"(see https://acme.com/a).", []string{"https://acme.com/a"}, []string{"acme.com"}},
		{"bare www.Acme.com/Path?b=2&a=1, then more",
			[]string{"https://www.acme.com/Path?a=1&b=2"}, []string{"acme.com"}},
		{"HTTP://NEWS.BBC.CO.UK:80/x#top and https://news.bbc.co.uk/x",
			[]string{"http://news.bbc.co.uk/x", "https://news.bbc.co.uk/x"}, []string{"bbc.co.uk"}},
		{"two https://a.example.com/1 https://a.example.com/1/", []string{"https://a.example.com/1", "https://a.example.com/1/"}, []string{"example.com"}},
		{"japanese https://acme.jp/rocket3を買いました", []string{"https://acme.jp/rocket3"}, []string{"acme.jp"}},
		{"no host http:// or https://localhost:8080/x or wwwx.com", nil, nil},
		{"escaped https://m.example.com/x?date=1&amp;utm_medium=email", []string{"https://m.example.com/x?date=1"}, []string{"example.com"}},
		{"truncated https://acme.com/long/pa…", []string{"https://acme.com/long/pa"}, []string{"acme.com"}},
		{"<https://acme.com/a>", []string{"https://acme.com/a"}, []string{"acme.com"}},
		{"pages https://alice.github.io/blog", []string{"https://alice.github.io/blog"}, []string{"alice.github.io"}},
		{"ip http://192.168.1.1/admin", []string{"http://192.168.1.1/admin"}, []string{"192.168.1.1"}},
	}
	for _, tt := range tests {
		e := Extract(tt.text)
		if !slices.Equal(e.Links, tt.links) {
			t.Errorf("Extract(%q).Links = %q; want %q", tt.text, e.Links, tt.links)
		}
		if !slices.Equal(e.Domains, tt.doms) {
			t.Errorf("Extract(%q).Domains = %q; want %q", tt.text, e.Domains, tt.doms)
		}
	}
}

func TestExtractEmoji(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"🚀🚀 launch 🚀", []string{"🚀"}},
		{"thumbs 👍🏽 and 👍", []string{"👍🏽", "👍"}},
		{"family 👨‍👩‍👧‍👦 coder 👩‍💻", []string{"👨\u200d👩\u200d👧\u200d👦", "👩\u200d💻"}},
		{"flags 🇺🇸🇬🇧 🏴󠁧󠁢󠁳󠁣󠁴󠁿 🏳️‍🌈", []string{"🇺🇸", "🇬🇧", "🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F", "🏳\u200d🌈"}},
		{"hearts ❤️ ❤ same", []string{"❤"}},
		{"keycaps 1️⃣ #️⃣ 2⃣", []string{"1⃣", "#⃣", "2⃣"}},
		{"text symbols © ® ™ ‼ → are not, ©️ is", []string{"©"}},
		{"lone regional 🇺 then text", nil},
		{"zwj at end 👩‍", []string{"👩"}},
		{"woman facepalming 🤦🏼‍♀️!", []string{"🤦🏼\u200d♀"}},
	}
	for _, tt := range tests {
		if got := Extract(tt.text).Emoji; !slices.Equal(got, tt.want) {
			t.Errorf("Extract(%q).Emoji = %q; want %q", tt.text, got, tt.want)
		}
	}
}

func TestExtractInvalidUTF8(t *testing.T) {
	// Must not panic or loop on broken input; the pipeline normally cleans it.
	for _, s := range []string{"\xff#tag\xfe @x \xf0\x9f", "https://\xff.com", "#\xe2\x80", "\xf0\x9f\x87"} {
		_ = Extract(s)
	}
}
