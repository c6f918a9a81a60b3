package ratelimit

import "context"

// Observer is told about every decision a limiter makes: the plan it applied
// and the Decision (Allowed, and the Window it describes — for a refusal, the
// window that refused). It must be quick and safe for concurrent use.
type Observer func(plan Plan, d Decision)

// Observe returns a Limiter that reports each Allow decision of l to obs.
// Errors are not decisions and are not reported; Usage counts nothing and is
// passed through. It is how metrics see the limiter without this package
// knowing about them.
func Observe(l Limiter, obs Observer) Limiter {
	return observed{Limiter: l, obs: obs}
}

type observed struct {
	Limiter
	obs Observer
}

func (o observed) Allow(ctx context.Context, workspaceID string, plan Plan) (Decision, error) {
	d, err := o.Limiter.Allow(ctx, workspaceID, plan)
	if err == nil {
		o.obs(plan, d)
	}
	return d, err
}
