package twitter

import (
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/twitter/xfake"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

// escapedPosts are posts whose text X escapes on the wire, as written.
var escapedPosts = []string{
	"acme: fish & chips <3",
	"acme x>y && a<b",
	"acme literally typed &amp; and &lt;tag&gt;",
	"acme " + strings.Repeat("R&D > ", 40), // long: note_tweet (v2), extended_tweet (v1.1)
}

func addEscapedPosts(fake *xfake.Server) {
	at := time.Now().Add(-time.Minute).Truncate(time.Second).UTC()
	for i, text := range escapedPosts {
		p := xfake.Post{ID: xfake.ID(i + 1), AuthorID: "100", Text: text, Lang: "en", CreatedAt: at, Matches: []string{acmeQ}}
		if len(text) > 200 {
			p.NoteText, p.Text = text, text[:200]
		}
		fake.AddPosts(p)
	}
}

// TestPostTextUnescapedOnce: v2 and v1.1 send &, < and > as &amp;, &lt; and
// &gt;; the stored text is what the author wrote, each escape decoded once.
func TestPostTextUnescapedOnce(t *testing.T) {
	for _, mode := range []struct{ name, config string }{
		{"v2", searchConfig()},
		{"v1.1", v1Config("search")},
	} {
		t.Run(mode.name, func(t *testing.T) {
			fake := xfake.New(t)
			t.Setenv("X_TEST_BEARER", fake.BearerToken)
			fake.AddUsers(xfake.User{ID: "100", Username: "alice", Name: "Alice"})
			addEscapedPosts(fake)
			js := pipelinetest.StartJetStream(t)
			s := fastSource(t, withBase(mode.config, fake.URL), testTopics[:1])
			stop := runSource(t, s, js.SourceEnv(t, Platform, "x-test"))
			got := waitMentions(t, js, mentionIDs(seq(1, len(escapedPosts))...))
			stop()
			byID := map[string]string{}
			for _, m := range got {
				byID[m.ID] = m.Text
			}
			for i, want := range escapedPosts {
				id := mentionIDs(i + 1)[0]
				if byID[id] != want {
					t.Errorf("%s text = %q; want %q", id, byID[id], want)
				}
			}
		})
	}
}
