// Package polltest holds test helpers the polling connectors share: a
// connector spec from YAML as cmd/earshot hands it over, and the sample
// config of a connector README.
package polltest

import (
	"context"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/connectors/connectortest"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

// Spec parses one connector entry of type typ.
func Spec(t testing.TB, typ, doc string) *pipeline.ConnectorSpec {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	return &pipeline.ConnectorSpec{Type: typ, Name: "c", File: "test.yaml", Node: *n.Content[0]}
}

// ReadmeSource builds the one connector of the yaml block under
// "## Config" in readme, through the registered factory of typ.
func ReadmeSource(t testing.TB, readme, typ string, topics []pipeline.Topic) pipeline.Source {
	t.Helper()
	raw, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Config\n\n```yaml\n(.*?)```").FindSubmatch(raw)
	if m == nil {
		t.Fatalf("%s has no yaml block under ## Config", readme)
	}
	var doc struct {
		Connectors []yaml.Node `yaml:"connectors"`
	}
	if err := yaml.Unmarshal(m[1], &doc); err != nil {
		t.Fatalf("%s sample: %v", readme, err)
	}
	if len(doc.Connectors) != 1 {
		t.Fatalf("%s sample has %d connectors; want 1", readme, len(doc.Connectors))
	}
	f, ok := pipeline.Connector(typ)
	if !ok {
		t.Fatalf("connector type %q is not registered", typ)
	}
	src, err := f(&pipeline.ConnectorSpec{Type: typ, Name: "sample", File: readme, Node: doc.Connectors[0]}, topics)
	if err != nil {
		t.Fatalf("%s sample: %v", readme, err)
	}
	return src
}

// RunUntil runs src against a fresh JetStream until cond holds on the
// MENTIONS stream, then stops it; it returns the stream and the metrics.
func RunUntil(t *testing.T, src pipeline.Source, platform, what string, cond func([]*pipeline.Mention) bool) ([]*pipeline.Mention, *pipeline.Metrics) {
	t.Helper()
	js := pipelinetest.StartJetStream(t)
	env := js.SourceEnv(t, platform, "c")
	mx := pipeline.NewMetrics(prometheus.NewRegistry())
	env.Metrics = mx.Connector(platform, "c")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := src.Run(ctx, env); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	defer func() { cancel(); wg.Wait() }()
	var ms []*pipeline.Mention
	pipelinetest.WaitFor(t, 20*time.Second, what, func() bool {
		ms = js.Mentions(t, pipeline.StreamMentions)
		return cond(ms)
	})
	return ms, mx
}

// ByID indexes mentions by id (the last version wins).
func ByID(ms []*pipeline.Mention) map[string]*pipeline.Mention {
	out := map[string]*pipeline.Mention{}
	for _, m := range ms {
		out[m.ID] = m
	}
	return out
}

// Limits implements the rate-limit and outage methods of
// connectortest.Fake over a fake's Window and Outage, for a conformance
// fake to embed: Throttle refuses the next request (the fake answers it
// the platform's way, e.g. 429 with Retry-After).
type Limits struct {
	Window  *connectortest.Window
	Outages *connectortest.Outage
}

func (l Limits) Throttle(t testing.TB)                { l.Window.RefuseNext(1) }
func (l Limits) Throttled() int                       { return l.Window.Throttled() }
func (l Limits) Outage(t testing.TB, d time.Duration) { l.Outages.Start(d) }
func (l Limits) OutageRequests() int                  { return l.Outages.Requests() }
func (l Limits) Violations() []string                 { return l.Window.Violations() }
