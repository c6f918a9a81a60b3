// Package accesslog writes one structured log line per request: per gRPC call
// (REST calls included, since the gateway calls through gRPC), with what later
// interceptors learnt about the caller, and per REST request that the gateway
// refuses before it becomes a call.
package accesslog

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/middleware/requestid"
)

// MetadataHTTPRoute is the incoming metadata by which the REST gateway tells
// the call which route it came in on, as "METHOD /v1/pattern" (for example
// "GET /v1/projects/{id}"). It only labels the log line, and only when
// WithHTTPRoute's trust function accepts the call's origin.
const MetadataHTTPRoute = "x-http-route"

// entry collects attributes from interceptors that run inside this one; their
// contexts are children, so they cannot hand values back any other way.
type entry struct {
	mu    sync.Mutex
	attrs []slog.Attr
}

type ctxKey struct{}

// AddAttrs adds attributes to the current request's log line; a no-op outside
// a logged request.
func AddAttrs(ctx context.Context, attrs ...slog.Attr) {
	e, ok := ctx.Value(ctxKey{}).(*entry)
	if !ok {
		return
	}
	e.mu.Lock()
	e.attrs = append(e.attrs, attrs...)
	e.mu.Unlock()
}

// HTTPStatusFunc tells the HTTP status a REST client gets for a call of
// fullMethod that ended with err.
type HTTPStatusFunc func(fullMethod string, err error) int

// Option configures UnaryServerInterceptor.
type Option func(*options)

type options struct {
	httpStatus HTTPStatusFunc
	fromGW     func(context.Context) bool
}

// WithHTTPRoute logs http_route and http_status on calls that fromGateway
// says the REST gateway made (any other client could send MetadataHTTPRoute
// too), with the status as httpStatus computes it — the gateway's own
// mapping, so the two agree. Without this option no call has them.
func WithHTTPRoute(fromGateway func(context.Context) bool, httpStatus HTTPStatusFunc) Option {
	return func(o *options) { o.fromGW, o.httpStatus = fromGateway, httpStatus }
}

// UnaryServerInterceptor logs each call once it has finished: INFO for answers
// to the client's request, ERROR for internal failures (with their cause, which
// the client never sees). A call from the REST gateway also carries its
// http_route and http_status.
func UnaryServerInterceptor(logger *slog.Logger, opts ...Option) grpc.UnaryServerInterceptor {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		e := &entry{}
		resp, err := handler(context.WithValue(ctx, ctxKey{}, e), req)
		attrs := make([]slog.Attr, 0, 12)
		attrs = append(attrs,
			slog.String("request_id", requestid.FromContext(ctx)),
			slog.String("rpc", info.FullMethod),
			slog.String("code", status.Code(err).String()),
		)
		if o.fromGW != nil && o.fromGW(ctx) {
			if route := metadata.ValueFromIncomingContext(ctx, MetadataHTTPRoute); len(route) > 0 {
				attrs = append(attrs, slog.String("http_route", route[0]),
					slog.Int("http_status", o.httpStatus(info.FullMethod, err)))
			}
		}
		write(ctx, logger, start, e, attrs, err)
		return resp, err
	}
}

// Line is the log line of a request that never becomes a gRPC call: the REST
// gateway's refusals (unknown route, wrong method, bad or oversized body).
type Line struct {
	start time.Time
	e     *entry
}

// Start begins a Line; attributes added with AddAttrs to the returned context
// (by authentication and the rate limit) land on it.
func Start(ctx context.Context) (context.Context, *Line) {
	e := &entry{}
	return context.WithValue(ctx, ctxKey{}, e), &Line{start: time.Now(), e: e}
}

// End writes the line once: attrs first, then what was added along the way,
// then err (the refusal) if any.
func (l *Line) End(ctx context.Context, logger *slog.Logger, err error, attrs ...slog.Attr) {
	write(ctx, logger, l.start, l.e, attrs, err)
}

func write(ctx context.Context, logger *slog.Logger, start time.Time, e *entry, attrs []slog.Attr, err error) {
	attrs = append(attrs, slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000))
	e.mu.Lock()
	attrs = append(attrs, e.attrs...)
	e.mu.Unlock()
	level := slog.LevelInfo
	if err != nil {
		msg := err.Error()
		if ae, ok := apierror.As(err); ok {
			msg = ae.LogString()
		}
		attrs = append(attrs, slog.String("error", msg))
		if code := status.Code(err); code == codes.Internal || code == codes.Unknown {
			level = slog.LevelError
		}
	}
	logger.LogAttrs(ctx, level, "request", attrs...)
}
