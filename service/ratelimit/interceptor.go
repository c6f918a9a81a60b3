package ratelimit

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/service/accesslog"
	"github.com/example/workspace/service/auth"
)

// The header metadata every answer to an authenticated call carries; the
// gateway turns them into the seed's X-RateLimit-* headers and Retry-After.
const (
	MetadataLimit      = "x-ratelimit-limit"
	MetadataRemaining  = "x-ratelimit-remaining"
	MetadataReset      = "x-ratelimit-reset"
	MetadataRetryAfter = "retry-after"
)

// UnaryServerInterceptor counts every authenticated API call against its
// workspace's plan. It runs after authentication (it keys on the workspace, and
// a 401 counts against no one) and before authorization and the handler, so
// that 403s and 404s are counted and carry the headers like any other answer.
func UnaryServerInterceptor(l Limiter, now func() time.Time) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !strings.HasPrefix(info.FullMethod, auth.APIPrefix) {
			return handler(ctx, req)
		}
		p, ok := auth.FromContext(ctx)
		if !ok {
			return nil, apierror.Internal(errNoPrincipal)
		}
		plan, err := PlanNamed(p.Plan)
		if err != nil {
			return nil, apierror.Internal(err)
		}
		d, err := l.Allow(ctx, p.WorkspaceID, plan)
		if err != nil {
			return nil, apierror.From(err)
		}
		md := metadata.Pairs(
			MetadataLimit, strconv.Itoa(d.Limit),
			MetadataRemaining, strconv.Itoa(d.Remaining),
			MetadataReset, strconv.FormatInt(d.Reset.Unix(), 10),
		)
		accesslog.AddAttrs(ctx, slog.Int("ratelimit_remaining", d.Remaining))
		if !d.Allowed {
			retry := d.RetryAfter(now())
			md.Set(MetadataRetryAfter, strconv.Itoa(int(retry/time.Second)))
			_ = grpc.SetHeader(ctx, md)
			return nil, apierror.New(apierror.CodeRateLimited,
				"Rate limit exceeded: the "+plan.Name+" plan allows "+strconv.Itoa(d.Limit)+" requests per "+d.Window+"; retry after "+strconv.Itoa(int(retry/time.Second))+" s",
				map[string]string{"window": d.Window})
		}
		_ = grpc.SetHeader(ctx, md)
		return handler(ctx, req)
	}
}

type wiringError string

func (e wiringError) Error() string { return string(e) }

const errNoPrincipal = wiringError("ratelimit: no principal in context; authentication must run first")
