package auth

import (
	"context"

	"google.golang.org/grpc"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/apimethod"
)

// AuthorizeInterceptor refuses a call whose key lacks the method's scope with
// FORBIDDEN and details.required_scope, the method's scope in the method
// table; methods outside the table (health, reflection) need no key. An API
// call that reaches it unauthenticated is refused too (fail closed).
func AuthorizeInterceptor(methods *apimethod.Table) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		m, ok := methods.Lookup(info.FullMethod)
		if !ok {
			return handler(ctx, req)
		}
		need := m.Scope
		p, authenticated := FromContext(ctx)
		if !authenticated {
			return nil, apierror.New(apierror.CodeForbidden, "This method is not available", nil)
		}
		if !Allows(p.Scopes, need) {
			return nil, apierror.New(apierror.CodeForbidden,
				"This API key lacks the "+need+" scope", map[string]string{"required_scope": need})
		}
		return handler(ctx, req)
	}
}

// AuthorizeStreamInterceptor is AuthorizeInterceptor for streams: a stream
// is refused before it starts when its key lacks the method's scope.
func AuthorizeStreamInterceptor(methods *apimethod.Table) grpc.StreamServerInterceptor {
	unary := AuthorizeInterceptor(methods)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		_, err := unary(ss.Context(), nil, &grpc.UnaryServerInfo{FullMethod: info.FullMethod}, func(context.Context, any) (any, error) {
			return nil, handler(srv, ss)
		})
		return err
	}
}
