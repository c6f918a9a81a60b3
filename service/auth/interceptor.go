package auth

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/example/workspace/apierror"
)

// APIPrefix is the start of every full method name of the API; other services
// on the server (health, reflection) need no key.
const APIPrefix = "/workspace.v1."

// AuthenticateInterceptor authenticates every API call and puts the Principal
// in its context; health and reflection need no key. It does not check
// scopes: AuthorizeInterceptor does, after the rate limiter, so that a 403 is
// counted and carries rate-limit headers like every other answer to a known
// key.
func AuthenticateInterceptor(a *Authenticator, onPrincipal func(context.Context, Principal)) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !strings.HasPrefix(info.FullMethod, APIPrefix) {
			return handler(ctx, req)
		}
		var header string
		if v := metadata.ValueFromIncomingContext(ctx, "authorization"); len(v) > 0 {
			header = v[0]
		}
		p, err := a.Authenticate(ctx, header)
		if err != nil {
			return nil, apierror.From(err)
		}
		if onPrincipal != nil {
			onPrincipal(ctx, p)
		}
		return handler(NewContext(ctx, p), req)
	}
}

// AuthorizeInterceptor refuses a call whose key lacks the method's scope with
// FORBIDDEN and details.required_scope. A method of the API missing from scopes
// is refused too (fail closed).
func AuthorizeInterceptor(scopes map[string]string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !strings.HasPrefix(info.FullMethod, APIPrefix) {
			return handler(ctx, req)
		}
		need, ok := scopes[info.FullMethod]
		p, authenticated := FromContext(ctx)
		if !ok || !authenticated {
			return nil, apierror.New(apierror.CodeForbidden, "This method is not available", nil)
		}
		if !Allows(p.Scopes, need) {
			return nil, apierror.New(apierror.CodeForbidden,
				"This API key lacks the "+need+" scope", map[string]string{"required_scope": need})
		}
		return handler(ctx, req)
	}
}
