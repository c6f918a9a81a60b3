package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/redis/go-redis/v9"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/example/workspace/store"
	"github.com/example/workspace/web/settings"
)

// readinessTimeout bounds one readiness check (store ping, Redis ping).
const readinessTimeout = 2 * time.Second

// newAdminServer serves the operators' endpoints, on their own listener so
// that none of them is reachable on the public port:
//
//	/metrics        Prometheus metrics (this server's registry only)
//	/healthz        liveness: 200 while the process serves HTTP at all
//	/readyz         readiness: 200 if the store (and Redis, if configured)
//	                answers and the server is not shutting down, else 503
//	/debug/pprof/   net/http/pprof
func (s *Server) newAdminServer() *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeProbe(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.checkReady(r.Context()); err != nil {
			writeProbe(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
			return
		}
		writeProbe(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		// No WriteTimeout: /debug/pprof/profile and /trace stream for as long
		// as their ?seconds= asks.
		IdleTimeout: 120 * time.Second,
		ErrorLog:    slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
	}
}

func writeProbe(w http.ResponseWriter, code int, body map[string]string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

// Reasons readiness fails, as /readyz reports them. The causes are logged.
var (
	errShuttingDown     = errors.New("shutting down")
	errStoreUnreachable = errors.New("store unreachable")
	errRedisUnreachable = errors.New("redis unreachable")
)

// checkReady checks the store and Redis, sets the gRPC health status to
// match, logs when readiness changes, and returns why it is not ready, if it
// is not. After shutdown has started it is never ready (and the health server
// ignores further changes).
func (s *Server) checkReady(ctx context.Context) error {
	if s.shuttingDown.Load() {
		return errShuttingDown
	}
	ctx, cancel := context.WithTimeout(ctx, readinessTimeout)
	defer cancel()
	reason, cause := pingBackends(ctx, s.store, s.redis)
	if s.shuttingDown.Load() {
		return errShuttingDown
	}
	st := healthpb.HealthCheckResponse_SERVING
	if reason != nil {
		st = healthpb.HealthCheckResponse_NOT_SERVING
	}
	s.health.SetServingStatus("", st)
	if was := s.ready.Swap(reason == nil); was != (reason == nil) {
		if reason != nil {
			s.cfg.Logger.Warn("not ready", slog.String("reason", reason.Error()), slog.Any("error", cause))
		} else {
			s.cfg.Logger.Info("ready")
		}
	}
	return reason
}

// pingBackends returns the reason readiness fails, and its cause, for the
// first backing service that does not answer: the store, then Redis if set.
// Readiness needs nothing of the store but its Ping.
func pingBackends(ctx context.Context, st store.Pinger, rdb redis.UniversalClient) (reason, cause error) {
	if err := st.Ping(ctx); err != nil {
		return errStoreUnreachable, err
	}
	if rdb != nil {
		if err := rdb.Ping(ctx).Err(); err != nil {
			return errRedisUnreachable, err
		}
	}
	return nil, nil
}

// probeReadiness re-checks readiness every ReadinessInterval until ctx ends,
// so that the gRPC health status follows the store even when nobody asks
// /readyz.
func (s *Server) probeReadiness(ctx context.Context) {
	t := time.NewTicker(s.cfg.ReadinessInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = s.checkReady(ctx)
		}
	}
}

// publicHandler serves the Settings > API page beside the REST gateway on the
// public port; every other path is the gateway's (its 404 envelope outside
// /v1).
func (s *Server) publicHandler(gw http.Handler) http.Handler {
	page := settings.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !settings.Serves(r) {
			gw.ServeHTTP(w, r)
			return
		}
		page.ServeHTTP(w, r)
	})
}
