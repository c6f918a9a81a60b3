package server

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/service/accesslog"
	"github.com/example/workspace/service/auth"
	"github.com/example/workspace/service/idempotency"
	"github.com/example/workspace/service/ratelimit"
	"github.com/example/workspace/service/requestid"
	"github.com/example/workspace/service/wire"
	"github.com/example/workspace/store"
)

// unaryChain is the one interceptor chain of the API, in this order:
//
//  1. request id — first, so every later step and every answer has it;
//  2. access log — sees the final outcome of everything below, panics included;
//  3. recovery — a panic below becomes INTERNAL_ERROR (with its stack logged);
//  4. authenticate — the key becomes a principal; a 401 costs no quota;
//  5. rate limit — keyed on the principal's workspace, before any real work;
//  6. authorize — the method's scope; after the limiter so a 403 is counted
//     and carries the rate-limit headers like every other authenticated answer;
//  7. decoding — a request that did not decode (see service/wire) is a 400
//     here, where request validation belongs: after authentication, rate
//     limit and scope, as every other bad input;
//  8. idempotency — last, right before the handler: its keys are scoped to the
//     principal's workspace (so after authentication); a key lacking the
//     scope gets its 403 and never a replay of someone's create (so after
//     authorization); a retry is a request like any other and counts against
//     the plan (so after the limiter, as Stripe counts retries); and only the
//     handler's own outcome is recorded, with no later step to change it.
//
// Input validation happens in the handlers, which know the fields.
func unaryChain(logger *slog.Logger, authn *auth.Authenticator, limiter ratelimit.Limiter, scopes map[string]string, st store.Store, now func() time.Time) []grpc.UnaryServerInterceptor {
	return []grpc.UnaryServerInterceptor{
		requestid.UnaryServerInterceptor(),
		accesslog.UnaryServerInterceptor(logger),
		recovery.UnaryServerInterceptor(recovery.WithRecoveryHandlerContext(panicHandler(logger))),
		auth.AuthenticateInterceptor(authn, func(ctx context.Context, p auth.Principal) {
			accesslog.AddAttrs(ctx, slog.String("workspace_id", p.WorkspaceID), slog.String("key_id", p.KeyID))
		}),
		ratelimit.UnaryServerInterceptor(limiter, now),
		auth.AuthorizeInterceptor(scopes),
		wire.UnaryServerInterceptor(),
		idempotency.UnaryServerInterceptor(st, now),
	}
}

// streamChain serves the streaming services (health watch, reflection), which
// need no key. Their streams end when the server drains, so that a client
// watching health cannot hold GracefulStop open.
func streamChain(logger *slog.Logger, draining <-chan struct{}) []grpc.StreamServerInterceptor {
	return []grpc.StreamServerInterceptor{
		requestid.StreamServerInterceptor(),
		recovery.StreamServerInterceptor(recovery.WithRecoveryHandlerContext(panicHandler(logger))),
		endOnDrain(draining),
	}
}

func endOnDrain(draining <-chan struct{}) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, cancel := context.WithCancel(ss.Context())
		defer cancel()
		go func() {
			select {
			case <-draining:
				cancel()
			case <-ctx.Done():
			}
		}()
		return handler(srv, &streamWithContext{ServerStream: ss, ctx: ctx})
	}
}

type streamWithContext struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *streamWithContext) Context() context.Context { return s.ctx }

func panicHandler(logger *slog.Logger) recovery.RecoveryHandlerFuncContext {
	return func(ctx context.Context, p any) error {
		logger.ErrorContext(ctx, "panic", slog.String("request_id", requestid.FromContext(ctx)),
			slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
		return apierror.Internal(fmt.Errorf("panic: %v", p))
	}
}
