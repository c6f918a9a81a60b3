// Package admission lets a request of the API in or refuses it, the same way
// on every path: its API key is authenticated, then the request is counted
// against its workspace's plan. The interceptor chain and the gateway's own
// refusals both ask it, so that a known key gets the same answer and headers
// whichever path its request took.
package admission

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/internal/grpcstream"
	"github.com/example/workspace/middleware/accesslog"
	"github.com/example/workspace/service/auth"
	"github.com/example/workspace/service/ratelimit"
)

// MetadataAuthorization is the gRPC metadata that carries the key (REST's
// Authorization header, forwarded by the gateway).
const MetadataAuthorization = "authorization"

// Admission authenticates, then rate-limits.
type Admission struct {
	authn   *auth.Authenticator
	limiter ratelimit.Limiter
	now     func() time.Time
}

// New returns the admission of authn's keys against limiter's quotas; now is
// the clock of Retry-After.
func New(authn *auth.Authenticator, limiter ratelimit.Limiter, now func() time.Time) *Admission {
	return &Admission{authn: authn, limiter: limiter, now: now}
}

// Admit decides on a request whose Authorization header had the values
// authorization (all of them). It returns the caller, the rate-limit header
// metadata to send (a refusal by the limiter has them too) and the error that
// refuses the request, if any: VALIDATION_ERROR for more than one value (see
// CheckAuthorization), UNAUTHORIZED (both counted against no one),
// RATE_LIMITED, or a store failure. The caller and its count are added to the
// request's log line.
func (a *Admission) Admit(ctx context.Context, authorization []string) (auth.Principal, metadata.MD, error) {
	if e := CheckAuthorization(authorization); e != nil {
		return auth.Principal{}, nil, e
	}
	var header string
	if len(authorization) > 0 {
		header = authorization[0]
	}
	p, err := a.authn.Authenticate(ctx, header)
	if err != nil {
		return auth.Principal{}, nil, apierror.From(err)
	}
	accesslog.AddAttrs(ctx, slog.String("workspace_id", p.WorkspaceID), slog.String("key_id", p.KeyID))
	md, err := ratelimit.Check(ctx, a.limiter, p, a.now())
	if err != nil {
		return auth.Principal{}, md, err
	}
	return p, md, nil
}

// CheckAuthorization refuses a request that sent its Authorization header (or
// authorization metadata) more than once, whatever the values: the header is
// a singleton (RFC 9110 §5.3), and if the first won, two layers (a proxy and
// this server) could disagree about who the caller is. It is a 400 naming the
// header, not a 401: the request is malformed, and sending credentials again,
// which a 401's challenge invites, would not help; nobody's quota is counted,
// since the caller is not known.
func CheckAuthorization(values []string) *apierror.Error {
	if len(values) > 1 {
		return apierror.Validation(MetadataAuthorization, "Send one Authorization header, not several")
	}
	return nil
}

// UnaryServerInterceptor admits every API call (isAPI; health and reflection
// need no key) before anything else of the API runs, puts its Principal in the
// context and sends its rate-limit headers. Scopes are checked after it
// (auth.AuthorizeInterceptor), so that a 403 is counted and carries the
// headers like every other answer to a known key.
func (a *Admission) UnaryServerInterceptor(isAPI func(fullMethod string) bool) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !isAPI(info.FullMethod) {
			return handler(ctx, req)
		}
		p, md, err := a.Admit(ctx, metadata.ValueFromIncomingContext(ctx, MetadataAuthorization))
		if md != nil {
			_ = grpc.SetHeader(ctx, md)
		}
		if err != nil {
			return nil, err
		}
		return handler(auth.NewContext(ctx, p), req)
	}
}

// StreamServerInterceptor admits every API stream as UnaryServerInterceptor
// admits a call: opening a stream is one request, authenticated and counted
// once. The stream's context also carries a Recheck of its key, which a
// long-lived stream calls now and then so that a key revoked or expired
// while the stream is open ends it (see RecheckFrom).
func (a *Admission) StreamServerInterceptor(isAPI func(fullMethod string) bool) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if !isAPI(info.FullMethod) {
			return handler(srv, ss)
		}
		ctx := ss.Context()
		values := metadata.ValueFromIncomingContext(ctx, MetadataAuthorization)
		p, md, err := a.Admit(ctx, values)
		if md != nil {
			_ = ss.SetHeader(md)
		}
		if err != nil {
			return err
		}
		header := values[0] // Admit refused every other count
		recheck := Recheck(func(ctx context.Context) error {
			_, err := a.authn.Authenticate(ctx, header)
			return apierror.From(err)
		})
		ctx = context.WithValue(auth.NewContext(ctx, p), recheckKey{}, recheck)
		return handler(srv, grpcstream.WithContext(ss, ctx))
	}
}

// Recheck authenticates a stream's key again (through the authenticator and
// its cache, so at most as stale as any request's answer): nil while the key
// is still good, UNAUTHORIZED once it was revoked or expired, or a store
// failure.
type Recheck func(ctx context.Context) error

type recheckKey struct{}

// RecheckFrom returns the Recheck of the stream whose context ctx is, if it
// was admitted by StreamServerInterceptor.
func RecheckFrom(ctx context.Context) (Recheck, bool) {
	r, ok := ctx.Value(recheckKey{}).(Recheck)
	return r, ok
}
