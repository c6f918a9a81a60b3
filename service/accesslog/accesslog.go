// Package accesslog writes one structured log line per gRPC call (REST calls
// included, since the gateway calls through gRPC), with what later interceptors
// learnt about the caller.
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
	"github.com/example/workspace/service/requestid"
)

// entry collects attributes from interceptors that run inside this one; their
// contexts are children, so they cannot hand values back any other way.
type entry struct {
	mu    sync.Mutex
	attrs []slog.Attr
}

type ctxKey struct{}

// AddAttrs adds attributes to the current call's log line; a no-op outside a
// logged call.
func AddAttrs(ctx context.Context, attrs ...slog.Attr) {
	e, ok := ctx.Value(ctxKey{}).(*entry)
	if !ok {
		return
	}
	e.mu.Lock()
	e.attrs = append(e.attrs, attrs...)
	e.mu.Unlock()
}

// UnaryServerInterceptor logs each call once it has finished: INFO for answers
// to the client's request, ERROR for internal failures (with their cause, which
// the client never sees).
func UnaryServerInterceptor(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		e := &entry{}
		resp, err := handler(context.WithValue(ctx, ctxKey{}, e), req)
		code := status.Code(err)
		attrs := make([]slog.Attr, 0, 8+len(e.attrs))
		attrs = append(attrs,
			slog.String("request_id", requestid.FromContext(ctx)),
			slog.String("rpc", info.FullMethod),
			slog.String("code", code.String()),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		)
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
			if code == codes.Internal || code == codes.Unknown {
				level = slog.LevelError
			}
		}
		logger.LogAttrs(ctx, level, "request", attrs...)
		return resp, err
	}
}
