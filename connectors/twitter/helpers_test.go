package twitter

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/connectors/twitter/xfake"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

// spec parses a connector entry as cmd/earshot hands it over.
func spec(t testing.TB, doc string) *pipeline.ConnectorSpec {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	node := n.Content[0]
	var head struct {
		Type string `yaml:"type"`
		Name string `yaml:"name"`
	}
	_ = node.Decode(&head)
	return &pipeline.ConnectorSpec{Type: head.Type, Name: head.Name, File: "test.yaml", Node: *node}
}

var testTopics = []pipeline.Topic{
	{ID: "acme", Query: "acme OR acmecorp"},
	{ID: "widget", Query: "widget", XQuery: `"acme widget" lang:en`},
}

// fastSource builds a source from a config entry with the time scales
// turned down for tests.
func fastSource(t testing.TB, doc string, topics []pipeline.Topic) *Source {
	t.Helper()
	src, err := New(spec(t, doc), topics)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s := src.(*Source)
	s.cfg.Interval = 100 * time.Millisecond
	s.cfg.StallTimeout = 400 * time.Millisecond
	s.healthyAfter = time.Hour
	s.budgetRecheck = 20 * time.Millisecond
	s.backoffs = backoffs{
		network: backoff{base: 20 * time.Millisecond, max: 100 * time.Millisecond},
		http:    backoff{base: 50 * time.Millisecond, max: 200 * time.Millisecond, factor: 2},
	}
	s.publishRetry = backoff{base: 10 * time.Millisecond, max: 50 * time.Millisecond, factor: 2}
	return s
}

// runSource runs s in the background; the returned stop cancels it and
// waits for Run to return (also at cleanup).
func runSource(t testing.TB, s *Source, env *pipeline.SourceEnv) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, env) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v; want nil after cancel", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return within 10s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// ids returns the mention ids of ms, sorted.
func ids(ms []*pipeline.Mention) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	sort.Strings(out)
	return out
}

// mentionIDs returns "twitter:"+xfake.ID(n) for each n, sorted.
func mentionIDs(ns ...int) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = "twitter:" + xfake.ID(n)
	}
	sort.Strings(out)
	return out
}

func seq(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// waitMentions waits until the MENTIONS stream holds exactly want (by id)
// and checks there are no duplicates.
func waitMentions(t *testing.T, js *pipelinetest.JetStream, want []string) []*pipeline.Mention {
	t.Helper()
	var got []*pipeline.Mention
	pipelinetest.WaitFor(t, 15*time.Second, "mentions "+strings.Join(want, ","), func() bool {
		got = slices.DeleteFunc(js.Mentions(t, pipeline.StreamMentions), func(m *pipeline.Mention) bool { return m.Deleted })
		return len(got) >= len(want)
	})
	// Let anything still in flight land before comparing.
	if g := ids(got); strings.Join(g, ",") != strings.Join(want, ",") {
		t.Fatalf("mentions in MENTIONS = %v; want %v", g, want)
	}
	return got
}

func assertNoViolations(t *testing.T, fake *xfake.Server) {
	t.Helper()
	if v := fake.Violations(); len(v) > 0 {
		t.Errorf("requests sent while the rate-limit window was spent: %v", v)
	}
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func newReg() *prometheus.Registry { return prometheus.NewRegistry() }

var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))
