package webhook

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the delivery engine's Prometheus series.
type Metrics struct {
	attempts *prometheus.CounterVec
	latency  prometheus.Histogram
	lag      *prometheus.GaugeVec
}

// Outcomes of an attempt: a 2xx; another status; no answer (refused,
// unreachable, timed out).
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
	OutcomeError   = "error"
)

// NewMetrics registers the series in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "workspace", Subsystem: "webhook", Name: "attempts_total",
			Help: "Webhook delivery attempts by outcome: success (2xx), failure (another status), error (no answer).",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "workspace", Subsystem: "webhook", Name: "delivery_seconds",
			Help:    "From an event's commit to the start of its first delivery attempt to an endpoint.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 5, 10, 30, 60},
		}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "workspace", Subsystem: "webhook", Name: "endpoint_lag_events",
			Help: "Events of the log an endpoint has yet to receive (head less its cursor), sampled when this replica last served it.",
		}, []string{"endpoint_id"}),
	}
	for _, o := range []string{OutcomeSuccess, OutcomeFailure, OutcomeError} {
		m.attempts.WithLabelValues(o)
	}
	reg.MustRegister(m.attempts, m.latency, m.lag)
	return m
}
