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
	"github.com/example/workspace/service/ratelimit"
	"github.com/example/workspace/service/requestid"
)

// unaryChain is the one interceptor chain of the API, in this order:
//
//  1. request id — first, so every later step and every answer has it;
//  2. access log — sees the final outcome of everything below, panics included;
//  3. recovery — a panic below becomes INTERNAL_ERROR (with its stack logged);
//  4. authenticate — the key becomes a principal; a 401 costs no quota;
//  5. rate limit — keyed on the principal's workspace, before any real work;
//  6. authorize — the method's scope; after the limiter so a 403 is counted
//     and carries the rate-limit headers like every other authenticated answer.
//
// Input validation happens in the handlers, which know the fields.
func unaryChain(logger *slog.Logger, authn *auth.Authenticator, limiter ratelimit.Limiter, scopes map[string]string, now func() time.Time) []grpc.UnaryServerInterceptor {
	return []grpc.UnaryServerInterceptor{
		requestid.UnaryServerInterceptor(),
		accesslog.UnaryServerInterceptor(logger),
		recovery.UnaryServerInterceptor(recovery.WithRecoveryHandlerContext(panicHandler(logger))),
		auth.AuthenticateInterceptor(authn, func(ctx context.Context, p auth.Principal) {
			accesslog.AddAttrs(ctx, slog.String("workspace_id", p.WorkspaceID), slog.String("key_id", p.KeyID))
		}),
		ratelimit.UnaryServerInterceptor(limiter, now),
		auth.AuthorizeInterceptor(scopes),
	}
}

// streamChain serves the streaming services (health watch, reflection), which
// need no key.
func streamChain(logger *slog.Logger) []grpc.StreamServerInterceptor {
	return []grpc.StreamServerInterceptor{
		requestid.StreamServerInterceptor(),
		recovery.StreamServerInterceptor(recovery.WithRecoveryHandlerContext(panicHandler(logger))),
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
