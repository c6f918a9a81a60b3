package accesslog

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"google.golang.org/grpc/status"

	"github.com/example/workspace/middleware/requestid"
)

// HTTP writes the one log line of every request to next, once it has been
// answered: the status really written and the time it took, the route, and
// what the steps below added to the request's context — the call it became
// (rpc, code), the caller (workspace_id, key_id), the rate limit, the
// refusal's error. It settles the request id first (X-Request-Id, the
// client's own if sane), so that every answer and its line carry it.
func HTTP(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestid.Ensure(r.Header.Get("X-Request-Id"))
		r.Header.Set("X-Request-Id", id)
		w.Header().Set("X-Request-Id", id)
		// Taken now: the gateway serves a PUT as PATCH, the line says PUT.
		method, path := r.Method, r.URL.Path
		e := &entry{}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		ctx := context.WithValue(r.Context(), ctxKey{}, e)
		next.ServeHTTP(rec, r.WithContext(ctx))

		e.mu.Lock()
		route := path
		if e.pattern != "" {
			route = e.pattern // a route matched: its pattern, not the ids in the path
		}
		rpc, outcome, outcomeSet := e.rpc, e.outcome, e.outcomeSet
		e.mu.Unlock()
		attrs := make([]slog.Attr, 0, 12)
		attrs = append(attrs, slog.String("request_id", id))
		if rpc != "" {
			attrs = append(attrs, slog.String("rpc", rpc))
		}
		if outcomeSet {
			attrs = append(attrs, slog.String("code", status.Code(outcome).String()))
		}
		attrs = append(attrs,
			slog.String("http_route", method+" "+route),
			slog.Int("http_status", rec.status),
		)
		write(ctx, logger, start, e, attrs, outcome)
	})
}

// statusRecorder remembers the status written through it.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wroteHeader = true // an implicit 200
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Unparsed returns answer (which writes the envelope and returns the error
// it answered with) wrapped to log a request that net/http refused before any
// handler ran (see middleware/httpguard). Nothing of the request could be
// read, so the answer gets a fresh request id and the line no http_route.
func Unparsed(logger *slog.Logger, answer func(w http.ResponseWriter, status int, reason string) error) func(http.ResponseWriter, int, string) {
	return func(w http.ResponseWriter, httpStatus int, reason string) {
		start := time.Now()
		id := requestid.New()
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		err := answer(rec, httpStatus, reason)
		attrs := []slog.Attr{
			slog.String("request_id", id),
			slog.String("code", status.Code(err).String()),
			slog.Int("http_status", rec.status),
		}
		write(context.Background(), logger, start, &entry{}, attrs, err)
	}
}
