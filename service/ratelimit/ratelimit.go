// Package ratelimit owns the plans' request quotas: the Limiter interface, its
// in-memory and Redis implementations, and Check, which counts a request and
// shapes its headers and 429 (service/admission calls it).
package ratelimit

import (
	"context"
	"fmt"
	"time"
)

// Window names, as they appear in error details ("window").
const (
	WindowMinute = "minute"
	WindowDay    = "day"
)

// Plan is a workspace's plan and its quotas.
type Plan struct {
	Name      string
	PerMinute int
	PerDay    int // 0: no daily limit
	// Streams bounds the event streams (WatchEvents, SSE) a workspace may
	// hold open at once on one server (see Streams).
	Streams int
}

// The plans of CONTRACT §8.
var (
	Free       = Plan{Name: "free", PerMinute: 60, PerDay: 1000, Streams: 5}
	Pro        = Plan{Name: "pro", PerMinute: 300, PerDay: 50000, Streams: 50}
	Enterprise = Plan{Name: "enterprise", PerMinute: 1000, PerDay: 0, Streams: 1000}
)

// PlanNamed returns the plan called name ("free", "pro" or "enterprise").
func PlanNamed(name string) (Plan, error) {
	switch name {
	case Free.Name:
		return Free, nil
	case Pro.Name:
		return Pro, nil
	case Enterprise.Name:
		return Enterprise, nil
	}
	return Plan{}, fmt.Errorf("unknown plan %q (want free, pro or enterprise)", name)
}

// Decision is the outcome of one Allow call.
type Decision struct {
	// Allowed is false when either window is full; then nothing was counted.
	Allowed bool
	// Window is what the rate-limit headers describe. When allowed, it is the
	// window with fewer requests left (the minute window on a tie or when the day
	// is unlimited). When refused, it is the window that refused; if both are
	// full, the day window, whose reset is the one that matters.
	Window string
	// Limit is Window's limit.
	Limit int
	// Remaining is how many more requests Window admits after this one.
	Remaining int
	// Reset is when Window ends.
	Reset time.Time
}

// RetryAfter is how long a refused caller should wait, rounded up to whole
// seconds and at least one second.
func (d Decision) RetryAfter(now time.Time) time.Duration {
	wait := d.Reset.Sub(now)
	secs := (wait + time.Second - 1) / time.Second
	if secs < 1 {
		secs = 1
	}
	return secs * time.Second
}

// WindowUsage is one window's count now.
type WindowUsage struct {
	Limit int // 0: unlimited
	Used  int
	Reset time.Time
}

// Usage is a workspace's count in both windows.
type Usage struct {
	Minute WindowUsage
	Day    WindowUsage
}

// Limiter counts requests per workspace in fixed windows: the minute window
// starts on the minute, the day window at 00:00 UTC. Both windows apply; a
// request is admitted only if both have room, and a refused request counts in
// neither. No window ever admits more than its limit, however many calls run at
// once. Implementations are safe for concurrent use.
type Limiter interface {
	// Allow counts one request of the workspace if both windows have room.
	Allow(ctx context.Context, workspaceID string, plan Plan) (Decision, error)
	// Usage reports the workspace's counts without counting anything.
	Usage(ctx context.Context, workspaceID string, plan Plan) (Usage, error)
}

// MinuteStart and DayStart give the start of the fixed windows containing t.
func MinuteStart(t time.Time) time.Time { return t.UTC().Truncate(time.Minute) }

// DayStart is the 00:00 UTC that starts t's day.
func DayStart(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// decide turns the counts before this request into a Decision. It is shared by
// every implementation so that they agree on which window the headers describe.
func decide(plan Plan, minuteUsed, dayUsed int, now time.Time) Decision {
	minuteReset := MinuteStart(now).Add(time.Minute)
	dayReset := DayStart(now).AddDate(0, 0, 1)
	dayFull := plan.PerDay > 0 && dayUsed >= plan.PerDay
	minuteFull := minuteUsed >= plan.PerMinute
	switch {
	case dayFull:
		return Decision{Window: WindowDay, Limit: plan.PerDay, Remaining: 0, Reset: dayReset}
	case minuteFull:
		return Decision{Window: WindowMinute, Limit: plan.PerMinute, Remaining: 0, Reset: minuteReset}
	}
	minuteLeft := plan.PerMinute - minuteUsed - 1
	if plan.PerDay > 0 {
		if dayLeft := plan.PerDay - dayUsed - 1; dayLeft < minuteLeft {
			return Decision{Allowed: true, Window: WindowDay, Limit: plan.PerDay, Remaining: dayLeft, Reset: dayReset}
		}
	}
	return Decision{Allowed: true, Window: WindowMinute, Limit: plan.PerMinute, Remaining: minuteLeft, Reset: minuteReset}
}
