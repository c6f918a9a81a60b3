// Package metrics owns the server's Prometheus metrics: one registry per
// server (never the default registerer), the per-RPC metrics of
// go-grpc-middleware's Prometheus provider, rate-limit decisions, store
// latency, SQLite's group commits and the Redis fallback state.
package metrics

import (
	"net/http"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/example/workspace/service/ratelimit"
)

// Namespace prefixes the metrics this package defines (the gRPC provider's
// keep their usual grpc_server_… names, which dashboards expect).
const Namespace = "workspace"

// latencyBuckets cover a loopback SQLite call (tens of µs) up to a slow
// remote database or a stalled request (seconds).
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// Metrics is one server's set of metrics.
type Metrics struct {
	registry  *prometheus.Registry
	grpc      *grpcprom.ServerMetrics
	decisions *prometheus.CounterVec
	storeOps  *prometheus.HistogramVec
}

// New registers every metric in a new registry.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		grpc: grpcprom.NewServerMetrics(
			grpcprom.WithServerHandlingTimeHistogram(grpcprom.WithHistogramBuckets(latencyBuckets)),
		),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "ratelimit", Name: "decisions_total",
			Help: "Rate-limit decisions by plan, window (the window the decision describes; for a refusal, the one that refused) and decision (allowed or refused).",
		}, []string{"plan", "window", "decision"}),
		storeOps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "store", Name: "operation_duration_seconds",
			Help:    "Latency of store operations by method name (Ping included), successful or not.",
			Buckets: latencyBuckets,
		}, []string{"operation"}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.grpc, m.decisions, m.storeOps,
	)
	// Every plan × window × decision starts at zero, so that a rate() over a
	// series that has not moved yet is 0, not absent.
	for _, p := range []ratelimit.Plan{ratelimit.Free, ratelimit.Pro, ratelimit.Enterprise} {
		for _, w := range []string{ratelimit.WindowMinute, ratelimit.WindowDay} {
			for _, d := range []string{"allowed", "refused"} {
				m.decisions.WithLabelValues(p.Name, w, d)
			}
		}
	}
	return m
}

// GRPC is the provider's per-RPC metrics: its interceptors go into the chain,
// and InitializeMetrics is called once the services are registered.
func (m *Metrics) GRPC() *grpcprom.ServerMetrics { return m.grpc }

// ObserveDecision counts one rate-limit decision; it is a ratelimit.Observer.
func (m *Metrics) ObserveDecision(plan ratelimit.Plan, d ratelimit.Decision) {
	decision := "refused"
	if d.Allowed {
		decision = "allowed"
	}
	m.decisions.WithLabelValues(plan.Name, d.Window, decision).Inc()
}

// FailoverState is what a Redis limiter with an in-memory fallback reports
// (ratelimit.Failover).
type FailoverState interface {
	Degraded() bool
	Fallbacks() uint64
}

// WatchFailover exports f's state: whether it is answering from the fallback
// now, and how many decisions the fallback has made.
func (m *Metrics) WatchFailover(f FailoverState) {
	m.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "ratelimit", Name: "redis_degraded",
			Help: "1 while Redis is unreachable and this replica's in-memory limits answer instead, else 0.",
		}, func() float64 {
			if f.Degraded() {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "ratelimit", Name: "fallback_decisions_total",
			Help: "Rate-limit decisions made by the in-memory fallback because Redis failed or was failing.",
		}, func() float64 { return float64(f.Fallbacks()) }),
	)
}

// GroupCommitStats is what a store that groups concurrent writes into shared
// commits reports (store/sqlite).
type GroupCommitStats interface {
	// CommitStats returns how many transactions the group committer has
	// committed and how many writes they held.
	CommitStats() (commits, writes uint64)
}

// WatchGroupCommit exports s's commits and the writes they held: their ratio
// is the writes a commit, the fsyncs that grouping saved.
func (m *Metrics) WatchGroupCommit(s GroupCommitStats) {
	m.registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "store", Name: "group_commits_total",
			Help: "Transactions committed by the SQLite group committer (one fsync each).",
		}, func() float64 { c, _ := s.CommitStats(); return float64(c) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "store", Name: "group_committed_writes_total",
			Help: "Writes durably committed by the SQLite group committer; over group_commits_total, the writes a commit.",
		}, func() float64 { _, w := s.CommitStats(); return float64(w) }),
	)
}

// Registerer is where the server's other parts (the webhook engine)
// register their series.
func (m *Metrics) Registerer() prometheus.Registerer { return m.registry }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}
