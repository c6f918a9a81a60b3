// Package accesslog writes one structured log line per request: per native gRPC
// call, and per REST request (written by an HTTP middleware, with the status
// really sent), with what later steps learnt about the caller.
package accesslog

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/internal/grpcstream"
	"github.com/example/workspace/middleware/requestid"
)

// entry collects what the steps of a request learn for its line; their
// contexts are children of the writer's, so they cannot hand values back any
// other way.
type entry struct {
	mu    sync.Mutex
	attrs []slog.Attr
	// rpc is the call a REST request became, if any.
	rpc string
	// pattern is the REST route's pattern ("/v1/projects/{id}"), if one matched.
	pattern string
	// outcome is the error the request ended with; outcomeSet tells a
	// success (nil) from no outcome recorded at all (a page, not the API).
	outcome    error
	outcomeSet bool
}

type ctxKey struct{}

func entryFrom(ctx context.Context) *entry {
	e, _ := ctx.Value(ctxKey{}).(*entry)
	return e
}

// AddAttrs adds attributes to the current request's log line; a no-op outside
// a logged request.
func AddAttrs(ctx context.Context, attrs ...slog.Attr) {
	e := entryFrom(ctx)
	if e == nil {
		return
	}
	e.mu.Lock()
	e.attrs = append(e.attrs, attrs...)
	e.mu.Unlock()
}

// SetRoutePattern records the REST route pattern that matched the request
// ("/v1/projects/{id}"); the line's http_route is the client's method and it.
func SetRoutePattern(ctx context.Context, pattern string) {
	if e := entryFrom(ctx); e != nil {
		e.mu.Lock()
		e.pattern = pattern
		e.mu.Unlock()
	}
}

// SetOutcome records the error a REST request ended with (nil: it succeeded),
// for the line's code and error: the gateway's own refusals record theirs, a
// call records its own.
func SetOutcome(ctx context.Context, err error) {
	if e := entryFrom(ctx); e != nil {
		e.mu.Lock()
		e.outcome, e.outcomeSet = err, true
		e.mu.Unlock()
	}
}

// UnaryServerInterceptor logs each native gRPC call once it has finished:
// INFO for answers to the client's request, ERROR for internal failures (with
// their cause, which the client never sees). A call made for a REST request
// (its context carries the HTTP middleware's line: only an in-process caller
// can put it there) is not logged here: it adds its rpc and outcome to that
// request's one line.
func UnaryServerInterceptor(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if e := entryFrom(ctx); e != nil {
			resp, err := handler(ctx, req)
			e.mu.Lock()
			e.rpc, e.outcome, e.outcomeSet = info.FullMethod, err, true
			e.mu.Unlock()
			return resp, err
		}
		start := time.Now()
		e := &entry{}
		resp, err := handler(context.WithValue(ctx, ctxKey{}, e), req)
		attrs := make([]slog.Attr, 0, 10)
		attrs = append(attrs,
			slog.String("request_id", requestid.FromContext(ctx)),
			slog.String("rpc", info.FullMethod),
			slog.String("code", status.Code(err).String()),
		)
		write(ctx, logger, start, e, attrs, err)
		return resp, err
	}
}

// StreamServerInterceptor logs each native gRPC stream of the API once it
// has ended, with how long it lasted; a stream opened for a REST request
// (Server-Sent Events, through the in-process channel) adds its rpc and
// outcome to that request's one line, which accesslog.HTTP writes when the
// response ends. Streams outside the API (isAPI false: health, reflection)
// are not logged.
func StreamServerInterceptor(logger *slog.Logger, isAPI func(fullMethod string) bool) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if !isAPI(info.FullMethod) {
			return handler(srv, ss)
		}
		ctx := ss.Context()
		if e := entryFrom(ctx); e != nil {
			err := handler(srv, ss)
			e.mu.Lock()
			e.rpc, e.outcome, e.outcomeSet = info.FullMethod, err, true
			e.mu.Unlock()
			return err
		}
		start := time.Now()
		e := &entry{}
		err := handler(srv, grpcstream.WithContext(ss, context.WithValue(ctx, ctxKey{}, e)))
		attrs := make([]slog.Attr, 0, 10)
		attrs = append(attrs,
			slog.String("request_id", requestid.FromContext(ctx)),
			slog.String("rpc", info.FullMethod),
			slog.String("code", status.Code(err).String()),
		)
		write(ctx, logger, start, e, attrs, err)
		return err
	}
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
