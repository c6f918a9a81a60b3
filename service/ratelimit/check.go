package ratelimit

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/middleware/accesslog"
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

// Check counts one request of p's workspace. It returns the rate-limit header
// metadata to send — on a refusal too, with retry-after — and, on a refusal,
// a RATE_LIMITED error naming the window.
func Check(ctx context.Context, l Limiter, p auth.Principal, now time.Time) (metadata.MD, error) {
	plan, err := PlanNamed(p.Plan)
	if err != nil {
		return nil, apierror.Internal(err)
	}
	d, err := l.Allow(ctx, p.WorkspaceID, plan)
	if err != nil {
		return nil, apierror.From(err)
	}
	// One backing array for the three values; the keys are lower case
	// already, which metadata.Pairs would check on every request.
	vals := [...]string{strconv.Itoa(d.Limit), strconv.Itoa(d.Remaining), strconv.FormatInt(d.Reset.Unix(), 10)}
	md := metadata.MD{
		MetadataLimit:     vals[0:1:1],
		MetadataRemaining: vals[1:2:2],
		MetadataReset:     vals[2:3:3],
	}
	accesslog.AddAttrs(ctx, slog.Int("ratelimit_remaining", d.Remaining))
	if d.Allowed {
		return md, nil
	}
	retry := strconv.Itoa(int(d.RetryAfter(now) / time.Second))
	md.Set(MetadataRetryAfter, retry)
	return md, apierror.New(apierror.CodeRateLimited,
		"Rate limit exceeded: the "+plan.Name+" plan allows "+strconv.Itoa(d.Limit)+" requests per "+d.Window+"; retry after "+retry+" s",
		map[string]string{"window": d.Window})
}
