package server

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/apimethod"
	"github.com/example/workspace/internal/grpcstream"
	"github.com/example/workspace/middleware/accesslog"
	"github.com/example/workspace/middleware/requestid"
	"github.com/example/workspace/middleware/wire"
	"github.com/example/workspace/service/admission"
	"github.com/example/workspace/service/auth"
	"github.com/example/workspace/service/eventseq"
	"github.com/example/workspace/service/idempotency"
	"github.com/example/workspace/store"
)

// chainDeps are the components the interceptor chain is built from.
type chainDeps struct {
	logger  *slog.Logger
	metrics *grpcprom.ServerMetrics
	admit   *admission.Admission
	methods *apimethod.Table
	store   store.IdempotencyKeys
	now     func() time.Time
	// draining ends when the gRPC server starts to drain; stopping ends
	// when shutdown starts, before anything drains, with the error that the
	// API's streams end with.
	draining context.Context
	stopping context.Context
}

// unaryChain is the one interceptor chain of the API, in this order:
//
//  1. metrics — outermost, so that every call is counted with the code its
//     client finally gets (a 401 from authentication, a 429 from the limiter,
//     the INTERNAL that recovery makes of a panic), and its latency histogram
//     covers the whole chain, not just the handler. Inside recovery it would
//     miss the panics; after auth it would miss the refusals.
//  2. request id — first of the API's own steps, so every later step and
//     every answer has it;
//  3. access log — sees the final outcome of everything below, panics included
//     (a native call's line; a REST request's call adds to its HTTP line);
//  4. recovery — a panic below becomes INTERNAL_ERROR (with its stack logged);
//     5–6. admission — authenticate (the key becomes a principal; a 401 costs
//     no quota), then rate limit (keyed on the principal's workspace, before
//     any real work): service/admission, which the gateway's own refusals ask
//     too;
//  7. authorize — the method's scope; after the limiter so a 403 is counted
//     and carries the rate-limit headers like every other authenticated answer;
//  8. decoding — a request that did not decode (see middleware/wire) is a 400
//     here, where request validation belongs: after authentication, rate
//     limit and scope, as every other bad input;
//  9. event origin — the request id and the caller's key, which the event
//     log records with every write, and the receipt whose seq the answer
//     carries (x-event-seq): after authentication (the key), before
//     idempotency, whose replays answer the original seq through it;
//  10. idempotency — last, right before the handler: its keys are scoped to the
//     principal's workspace (so after authentication); a key lacking the
//     scope gets its 403 and never a replay of someone's create (so after
//     authorization); a retry is a request like any other and counts against
//     the plan (so after the limiter, as Stripe counts retries); and only the
//     handler's own outcome is recorded, with no later step to change it.
//
// Input validation happens in the handlers, which know the fields.
func unaryChain(d chainDeps) []grpc.UnaryServerInterceptor {
	return []grpc.UnaryServerInterceptor{
		d.metrics.UnaryServerInterceptor(),
		requestid.UnaryServerInterceptor(),
		accesslog.UnaryServerInterceptor(d.logger),
		recovery.UnaryServerInterceptor(recovery.WithRecoveryHandlerContext(panicHandler(d.logger))),
		d.admit.UnaryServerInterceptor(d.methods.Has),
		auth.AuthorizeInterceptor(d.methods),
		wire.UnaryServerInterceptor(),
		eventseq.UnaryServerInterceptor(),
		idempotency.UnaryServerInterceptor(d.store, d.now, d.methods),
	}
}

// streamChain is the chain of streams: the API's (WatchEvents) and those
// that need no key (health watch, reflection). It mirrors unaryChain, for
// the same reasons, in the same order: metrics, request id, access log (one
// line when the stream ends), recovery, then the end of streams on shutdown,
// admission (opening a stream is one request: authenticated, then counted)
// and the scope. Idempotency and decoding have nothing to do for a stream.
func streamChain(d chainDeps) []grpc.StreamServerInterceptor {
	return []grpc.StreamServerInterceptor{
		d.metrics.StreamServerInterceptor(),
		requestid.StreamServerInterceptor(),
		accesslog.StreamServerInterceptor(d.logger, d.methods.Has),
		recovery.StreamServerInterceptor(recovery.WithRecoveryHandlerContext(panicHandler(d.logger))),
		endOnShutdown(d.draining, d.stopping, d.methods.Has),
		d.admit.StreamServerInterceptor(d.methods.Has),
		auth.AuthorizeStreamInterceptor(d.methods),
	}
}

// endOnShutdown ends streams when the server shuts down, so that neither
// GracefulStop nor the HTTP server's Shutdown waits for them: the API's when
// shutdown starts (their clients resume on another replica; context.Cause is
// the UNAVAILABLE they end with), the others (a health Watch) when gRPC
// starts to drain, after they were told NOT_SERVING. It costs no goroutine
// per stream (context.AfterFunc).
func endOnShutdown(draining, stopping context.Context, isAPI func(string) bool) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ends := draining
		if isAPI(info.FullMethod) {
			ends = stopping
		}
		ctx, cancel := context.WithCancelCause(ss.Context())
		defer cancel(nil)
		stop := context.AfterFunc(ends, func() { cancel(context.Cause(ends)) })
		defer stop()
		return handler(srv, grpcstream.WithContext(ss, ctx))
	}
}

func panicHandler(logger *slog.Logger) recovery.RecoveryHandlerFuncContext {
	return func(ctx context.Context, p any) error {
		logger.ErrorContext(ctx, "panic", slog.String("request_id", requestid.FromContext(ctx)),
			slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
		return apierror.Internal(fmt.Errorf("panic: %v", p))
	}
}

// chainUnary composes interceptors into one, first outermost, as
// grpc.ChainUnaryInterceptor does for the server, for the in-process channel
// that takes a single interceptor.
func chainUnary(chain ...grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		next := handler
		for i := len(chain) - 1; i >= 0; i-- {
			interceptor, inner := chain[i], next
			next = func(ctx context.Context, req any) (any, error) { return interceptor(ctx, req, info, inner) }
		}
		return next(ctx, req)
	}
}

// chainStream composes stream interceptors into one, first outermost, for
// the in-process channel.
func chainStream(chain ...grpc.StreamServerInterceptor) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		next := handler
		for i := len(chain) - 1; i >= 0; i-- {
			interceptor, inner := chain[i], next
			next = func(srv any, ss grpc.ServerStream) error { return interceptor(srv, ss, info, inner) }
		}
		return next(srv, ss)
	}
}
