package auth

import (
	"context"
	"strings"

	"google.golang.org/grpc"

	"github.com/example/workspace/apierror"
)

// APIPrefix is the start of every full method name of the API; other services
// on the server (health, reflection) need no key.
const APIPrefix = "/workspace.v1."

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
