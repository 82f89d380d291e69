package console

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	responses *prometheus.CounterVec // earshot_responses_total{outcome}
	firstResp prometheus.Histogram   // earshot_response_time_seconds
	errors    prometheus.Counter     // earshot_console_errors_total
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "earshot_responses_total",
			Help: "Actions on the console's response queue, by outcome (claimed, answered, dismissed, reopened)."}, []string{"outcome"}),
		firstResp: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "earshot_response_time_seconds",
			Help:    "Time from a mention's creation to its first answer or dismissal in the console.",
			Buckets: []float64{60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400, 259200, 604800, 2592000}}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "earshot_console_errors_total",
			Help: "Console requests that failed because the store did not answer."}),
	}
	for _, c := range []prometheus.Collector{m.responses, m.firstResp, m.errors} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, o := range []string{"claimed", "answered", "dismissed", "reopened"} {
		m.responses.WithLabelValues(o)
	}
	return m, nil
}
