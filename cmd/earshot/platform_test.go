package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/rss"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

// TestConnectorMetricsUseTheConfiguredPlatform: an rss connector with
// platform: forum is labelled platform="forum", as its logs and mentions are.
func TestConnectorMetricsUseTheConfiguredPlatform(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	feeds := httptest.NewServer(http.FileServer(http.FS(rss.DemoFeedsAt(time.Now()))))
	defer feeds.Close()
	cfg := parseTestConfig(t, "p.yaml", map[string]any{
		"data_dir": t.TempDir(),
		"http":     map[string]any{"listen": "off"},
		"nats":     map[string]any{"url": js.URL()},
		"connectors": []map[string]any{
			{"type": "rss", "name": "demo-forum", "platform": "forum", "feeds": []string{feeds.URL + "/forum.atom"}},
			{"type": "rss", "name": "plain", "feeds": []string{feeds.URL + "/news.rss"}},
		},
	})
	in, stop := startRoles(t, cfg, roles{connect: true})
	defer stop()
	value := func(name string, labels map[string]string) float64 {
		mfs, err := in.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
		metrics:
			for _, m := range mf.GetMetric() {
				got := map[string]string{}
				for _, lp := range m.GetLabel() {
					got[lp.GetName()] = lp.GetValue()
				}
				for k, v := range labels {
					if got[k] != v {
						continue metrics
					}
				}
				sum += m.GetCounter().GetValue()
			}
		}
		return sum
	}
	pipelinetest.WaitFor(t, 30*time.Second, "both feeds read and published", func() bool {
		return value("earshot_connector_mentions_total", map[string]string{"connector": "demo-forum"}) == 20 &&
			value("earshot_connector_mentions_total", map[string]string{"connector": "plain"}) == 18
	})
	for _, name := range []string{"earshot_connector_mentions_total", "earshot_connector_requests_total"} {
		if v := value(name, map[string]string{"connector": "demo-forum", "platform": "forum"}); v == 0 {
			t.Errorf("%s{connector=demo-forum,platform=forum} = 0; want the configured platform as label", name)
		}
		if v := value(name, map[string]string{"connector": "demo-forum", "platform": "rss"}); v != 0 {
			t.Errorf("%s{connector=demo-forum,platform=rss} = %v; want no series labelled with the connector type", name, v)
		}
		if v := value(name, map[string]string{"connector": "plain", "platform": "rss"}); v == 0 {
			t.Errorf("%s{connector=plain,platform=rss} = 0; want rss, the default platform", name)
		}
	}
}
