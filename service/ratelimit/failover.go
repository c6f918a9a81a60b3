package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultFailoverTimeout bounds each call to a Failover's primary unless
// WithTimeout says otherwise. It is a bound on a reachable but slow Redis, not
// the time an outage takes to detect (a refused or black-holed connection
// fails sooner, at the client's dial timeout): a timeout short enough to fire
// under a burst on a busy replica would hand requests to the per-replica
// fallback, and replicas together would then admit more than the quota.
const DefaultFailoverTimeout = time.Second

// Failover is a Limiter that asks a primary (Redis) and, when the primary fails
// or is slower than the timeout, answers from a fallback (in memory) instead,
// so that an outage of Redis degrades the limits to per-replica ones rather
// than failing or stalling every request.
//
// While the primary is failing, only one call at a time tries it again; the
// others go straight to the fallback, so an unreachable Redis that swallows
// packets costs at most one request the timeout at a time. The first call that
// the primary answers ends the outage.
type Failover struct {
	primary, fallback Limiter
	timeout           time.Duration
	log               *slog.Logger

	fallbacks atomic.Uint64
	degraded  atomic.Bool
	// probing is set while a call tries a failing primary.
	probing atomic.Bool

	// mu serialises changes of degraded, so that each outage is logged once
	// when it starts and once when it ends.
	mu sync.Mutex
	// epoch counts those changes. A call only changes the state if none
	// happened since it started, so that a call started before the outage
	// ended cannot reopen it by failing late.
	epoch atomic.Uint64
	// since is when the current outage started, and fallbacksBefore the
	// fallback count then, for the log line that ends it.
	since           time.Time
	fallbacksBefore uint64
}

// FailoverOption configures NewFailover.
type FailoverOption func(*Failover)

// WithTimeout bounds each call to the primary (default DefaultFailoverTimeout;
// so does a d that is not positive).
func WithTimeout(d time.Duration) FailoverOption {
	return func(f *Failover) {
		if d > 0 {
			f.timeout = d
		}
	}
}

// WithLogger logs the outages to l (default slog.Default()).
func WithLogger(l *slog.Logger) FailoverOption {
	return func(f *Failover) { f.log = l }
}

// NewFailover returns a limiter that uses primary and falls back to fallback
// while primary fails.
func NewFailover(primary, fallback Limiter, opts ...FailoverOption) *Failover {
	f := &Failover{primary: primary, fallback: fallback, timeout: DefaultFailoverTimeout}
	for _, opt := range opts {
		opt(f)
	}
	if f.log == nil {
		f.log = slog.Default()
	}
	return f
}

// Fallbacks reports how many Allow decisions the fallback has made.
func (f *Failover) Fallbacks() uint64 { return f.fallbacks.Load() }

// Degraded reports whether the primary is failing, so the fallback answers.
func (f *Failover) Degraded() bool { return f.degraded.Load() }

// Allow asks the primary, or the fallback if the primary fails or is failing.
func (f *Failover) Allow(ctx context.Context, workspaceID string, plan Plan) (Decision, error) {
	d, err := callPrimary(ctx, f, func(ctx context.Context) (Decision, error) {
		return f.primary.Allow(ctx, workspaceID, plan)
	})
	if err == nil {
		return d, nil
	}
	f.fallbacks.Add(1)
	return f.fallback.Allow(ctx, workspaceID, plan)
}

// Usage asks the primary, or the fallback if the primary fails or is failing.
func (f *Failover) Usage(ctx context.Context, workspaceID string, plan Plan) (Usage, error) {
	u, err := callPrimary(ctx, f, func(ctx context.Context) (Usage, error) {
		return f.primary.Usage(ctx, workspaceID, plan)
	})
	if err == nil {
		return u, nil
	}
	return f.fallback.Usage(ctx, workspaceID, plan)
}

// skippedError stands for the primary's answer when a call does not ask it
// because another call is already trying the failing primary.
type skippedError struct{}

func (skippedError) Error() string { return "ratelimit: primary is failing" }

// callPrimary calls the primary through call within the timeout and records
// whether it answered. An error means the fallback must answer.
func callPrimary[T any](ctx context.Context, f *Failover, call func(context.Context) (T, error)) (T, error) {
	var zero T
	epoch := f.epoch.Load()
	if f.degraded.Load() {
		if !f.probing.CompareAndSwap(false, true) {
			return zero, skippedError{}
		}
		defer f.probing.Store(false)
	}

	pctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	// The call runs in its own goroutine so that a primary that ignores its
	// context still cannot hold the request past the timeout; cancel stops it
	// as soon as it does look.
	done := make(chan result, 1)
	go func() {
		v, err := call(pctx)
		done <- result{v, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-pctx.Done():
		r.err = pctx.Err()
	}

	if r.err != nil && ctx.Err() != nil {
		// The caller gave up (its deadline passed or it was cancelled): that
		// says nothing about the primary's health.
		return zero, r.err
	}
	f.observe(epoch, r.err)
	return r.v, r.err
}

// observe records that a call started in epoch got err from the primary, and
// logs when that starts or ends an outage.
func (f *Failover) observe(epoch uint64, err error) {
	failing := err != nil
	if f.degraded.Load() == failing {
		return // the common case: no change, no lock
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.degraded.Load() == failing || f.epoch.Load() != epoch {
		return
	}
	f.epoch.Add(1)
	f.degraded.Store(failing)
	if failing {
		f.since = time.Now()
		f.fallbacksBefore = f.fallbacks.Load()
		f.log.Warn("rate limiter: redis unreachable, using in-memory limits", "error", err)
		return
	}
	f.log.Info("rate limiter: redis reachable again, using shared limits",
		"outage", time.Since(f.since).Round(time.Millisecond),
		"fallbacks", f.fallbacks.Load()-f.fallbacksBefore)
}
