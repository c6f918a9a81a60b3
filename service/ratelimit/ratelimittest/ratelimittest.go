// Package ratelimittest is the conformance suite that every ratelimit.Limiter implementation runs.
package ratelimittest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/example/workspace/service/ratelimit"
)

// Clock is a fake clock for limiters under test. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock d forward and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// Run runs the suite against the limiters newLimiter makes; each subtest gets a
// fresh limiter and its own clock.
func Run(t *testing.T, newLimiter func(t *testing.T, now func() time.Time) ratelimit.Limiter) {
	tests := []struct {
		name string
		run  func(t *testing.T, h *harness)
	}{
		{"FreeMinuteLimit", testFreeMinuteLimit},
		{"MinuteResetsOnTheMinute", testMinuteResetsOnTheMinute},
		{"DayWindowBinds", testDayWindowBinds},
		{"RefusalsCountNowhere", testRefusalsCountNowhere},
		{"WorkspacesDoNotShare", testWorkspacesDoNotShare},
		{"EnterpriseHasNoDayLimit", testEnterpriseHasNoDayLimit},
		{"UsageDoesNotCount", testUsageDoesNotCount},
		{"DayResetsAtMidnightUTC", testDayResetsAtMidnightUTC},
		{"ConcurrentCallsAdmitExactlyTheLimit", testConcurrent},
		{"RetryAfter", testRetryAfter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A weekday morning, on the minute, far from any day boundary.
			clock := NewClock(time.Date(2030, 3, 14, 10, 0, 0, 0, time.UTC))
			h := &harness{t: t, clock: clock, l: newLimiter(t, clock.Now)}
			tt.run(t, h)
		})
	}
}

// harness holds one subtest's limiter and clock.
type harness struct {
	t     *testing.T
	clock *Clock
	l     ratelimit.Limiter
}

// at sets the clock to t and returns t.
func (h *harness) at(t time.Time) time.Time {
	h.clock.Set(t)
	return t
}

func (h *harness) allow(ws string, plan ratelimit.Plan) ratelimit.Decision {
	h.t.Helper()
	d, err := h.l.Allow(h.t.Context(), ws, plan)
	if err != nil {
		h.t.Fatalf("Allow(%q, %s) at %s: %v", ws, plan.Name, h.clock.Now().Format(time.RFC3339Nano), err)
	}
	return d
}

func (h *harness) usage(ws string, plan ratelimit.Plan) ratelimit.Usage {
	h.t.Helper()
	u, err := h.l.Usage(h.t.Context(), ws, plan)
	if err != nil {
		h.t.Fatalf("Usage(%q, %s): %v", ws, plan.Name, err)
	}
	return u
}

// spend makes n requests that must all be admitted.
func (h *harness) spend(ws string, plan ratelimit.Plan, n int) {
	h.t.Helper()
	for i := range n {
		if d := h.allow(ws, plan); !d.Allowed {
			h.t.Fatalf("request %d of %d at %s refused: %+v", i+1, n, h.clock.Now().Format(time.RFC3339Nano), d)
		}
	}
}

// spendDay makes n admitted requests of a free-like plan over consecutive
// minutes from the clock's minute, at most PerMinute in each, and leaves the
// clock at the start of the minute after the last one.
func (h *harness) spendDay(ws string, plan ratelimit.Plan, n int) {
	h.t.Helper()
	h.clock.Set(ratelimit.MinuteStart(h.clock.Now()))
	for n > 0 {
		k := min(n, plan.PerMinute)
		h.spend(ws, plan, k)
		n -= k
		h.clock.Advance(time.Minute)
	}
}

func checkDecision(t *testing.T, what string, got, want ratelimit.Decision) {
	t.Helper()
	if got.Allowed != want.Allowed || got.Window != want.Window || got.Limit != want.Limit ||
		got.Remaining != want.Remaining || !got.Reset.Equal(want.Reset) {
		t.Fatalf("%s:\n got  %s\n want %s", what, fmtDecision(got), fmtDecision(want))
	}
}

func fmtDecision(d ratelimit.Decision) string {
	return fmt.Sprintf("{Allowed:%t Window:%s Limit:%d Remaining:%d Reset:%s}",
		d.Allowed, d.Window, d.Limit, d.Remaining, d.Reset.UTC().Format(time.RFC3339Nano))
}

func checkUsage(t *testing.T, what string, got, want ratelimit.Usage) {
	t.Helper()
	eq := func(a, b ratelimit.WindowUsage) bool {
		return a.Limit == b.Limit && a.Used == b.Used && a.Reset.Equal(b.Reset)
	}
	if !eq(got.Minute, want.Minute) || !eq(got.Day, want.Day) {
		t.Fatalf("%s:\n got  %s\n want %s", what, fmtUsage(got), fmtUsage(want))
	}
}

func fmtUsage(u ratelimit.Usage) string {
	w := func(x ratelimit.WindowUsage) string {
		return fmt.Sprintf("{Limit:%d Used:%d Reset:%s}", x.Limit, x.Used, x.Reset.UTC().Format(time.RFC3339Nano))
	}
	return "{Minute:" + w(u.Minute) + " Day:" + w(u.Day) + "}"
}

func nextMinute(t time.Time) time.Time { return ratelimit.MinuteStart(t).Add(time.Minute) }
func nextDay(t time.Time) time.Time    { return ratelimit.DayStart(t).AddDate(0, 0, 1) }
