package connectortest

import (
	"context"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/earshot-dev/earshot/pipeline"
)

// Hostile values for the seed corpora of the connectors' fuzz targets, to
// put inside a JSON string literal (already escaped) or, for DeepArray and
// DeepObject, in place of a JSON value.
var (
	// HugeText is 100 kB of text, past pipeline.MaxTextBytes.
	HugeText = strings.Repeat("acme ", 20000)
	// DeepArray and DeepObject nest 10,000 levels.
	DeepArray  = strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	DeepObject = strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	// BadText mixes invalid UTF-8, a lone surrogate, NUL and control
	// characters, a terminal escape, and script in HTML.
	BadText = "caf\xe9 \xff \\ud800 \\u0000 \\u0007 \\u001b[31m <script>alert(1)</script> &lt;img src=x onerror=alert(1)&gt;"
)

// FuzzEnv is a source environment for calling a connector's mapping
// directly: its metrics count into a private registry and nothing is
// logged; its cursors are kept in memory. It has no publisher.
func FuzzEnv(platform string) *pipeline.SourceEnv {
	return &pipeline.SourceEnv{
		Name:    "fuzz",
		Logger:  slog.New(slog.DiscardHandler),
		Metrics: pipeline.NewMetrics(prometheus.NewRegistry()).Connector(platform, "fuzz"),
		Cursors: &memoryCursors{m: map[string][]byte{}},
	}
}

type memoryCursors struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *memoryCursors) Get(_ context.Context, key string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	if !ok {
		return nil, pipeline.ErrNoCursor
	}
	return v, nil
}

func (c *memoryCursors) Put(_ context.Context, key string, value []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = value
	return nil
}

// CheckMapped fails t unless m is a mention safe to publish: of platform,
// with an id "<platform>:<something>", a kind earshot knows, a URL that is
// empty or an http(s) URL starting with urlPrefix ("": any host); Normalize accepts it, leaves every field
// valid UTF-8 within the wire limits, and the codec round-trips it exactly.
func CheckMapped(t testing.TB, m *pipeline.Mention, platform, urlPrefix string) {
	t.Helper()
	if m == nil {
		t.Fatal("mapped a nil mention")
	}
	if m.Platform != platform {
		t.Fatalf("platform = %q; want %q", m.Platform, platform)
	}
	if !strings.HasPrefix(m.ID, platform+":") || len(m.ID) == len(platform)+1 {
		t.Fatalf("id = %q; want %s:<id>", m.ID, platform)
	}
	switch m.Kind {
	case pipeline.KindPost, pipeline.KindReply, pipeline.KindRepost, pipeline.KindQuote, pipeline.KindComment,
		pipeline.KindArticle, pipeline.KindReview, "":
	default:
		t.Fatalf("kind = %q; want one earshot knows", m.Kind)
	}
	// A URL a console or a chat message links to must not be script.
	if m.URL != "" && (!strings.HasPrefix(m.URL, urlPrefix) || !(strings.HasPrefix(strings.ToLower(m.URL), "https://") || strings.HasPrefix(strings.ToLower(m.URL), "http://"))) {
		t.Fatalf("url = %q; want an http(s) URL under %q", m.URL, urlPrefix)
	}
	if err := m.Normalize(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)); err != nil {
		t.Fatalf("Normalize(mapped) = %v", err)
	}
	for name, s := range map[string]string{"id": m.ID, "text": m.Text, "title": m.Title, "url": m.URL, "handle": m.Author.Handle,
		"name": m.Author.Name, "lang": m.Lang, "source": m.Source, "parent": m.ParentID, "conversation": m.ConversationID} {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			t.Fatalf("%s %q after Normalize is not valid UTF-8 without NUL", name, s)
		}
	}
	if len(m.Text) > pipeline.MaxTextBytes || len(m.Title) > pipeline.MaxTitleBytes || len(m.ID) > pipeline.MaxFieldBytes || len(m.URL) > pipeline.MaxFieldBytes {
		t.Fatalf("Normalize() left text %d, title %d, id %d, url %d bytes", len(m.Text), len(m.Title), len(m.ID), len(m.URL))
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatalf("Marshal() = %v", err)
	}
	got, err := pipeline.Unmarshal(b)
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("Unmarshal(Marshal(m)) = %+v, %v; want %+v", got, err, m)
	}
}
