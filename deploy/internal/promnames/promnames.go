// Package promnames lists the Prometheus metric names an earshot process
// exports, for the tests that check the Grafana dashboard and the Prometheus
// rules against them.
package promnames

import (
	"regexp"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/earshot-dev/earshot/enrich/detect"
	"github.com/earshot-dev/earshot/pipeline"
)

// Known returns the name of every metric an earshot process exports: the
// pipeline's, the spike detector's and the Go and process collectors'.
func Known() map[string]bool {
	d := descNames{}
	pipeline.NewMetrics(d)
	detect.NewMetrics(d)
	d.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return d
}

// descNames records the metric names of every collector registered on it.
type descNames map[string]bool

var _ prometheus.Registerer = descNames(nil)

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d descNames) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 64)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d[m[1]] = true
		}
	}
	return nil
}

func (d descNames) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = d.Register(c)
	}
}

func (d descNames) Unregister(prometheus.Collector) bool { return false }
