package ratelimittest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/example/workspace/service/ratelimit"
)

// Small plans make the day window cheap to fill.
var (
	// tinyBoth fills its day in two full minutes, so both windows are full at once.
	tinyBoth = ratelimit.Plan{Name: "tiny-both", PerMinute: 3, PerDay: 6}
	// tinyDay fills its day before its second minute is full.
	tinyDay = ratelimit.Plan{Name: "tiny-day", PerMinute: 3, PerDay: 4}
)

// testFreeMinuteLimit: the free plan admits exactly 60 in a minute, counting
// Remaining down from 59 to 0, then refuses on the minute window.
func testFreeMinuteLimit(t *testing.T, h *harness) {
	now := h.clock.Advance(5 * time.Second) // 10:00:05
	reset := nextMinute(now)
	for i := range 60 {
		checkDecision(t, fmt.Sprint("request ", i+1), h.allow("ws_a", ratelimit.Free),
			ratelimit.Decision{Allowed: true, Window: ratelimit.WindowMinute, Limit: 60, Remaining: 59 - i, Reset: reset})
	}
	refused := ratelimit.Decision{Window: ratelimit.WindowMinute, Limit: 60, Remaining: 0, Reset: reset}
	checkDecision(t, "request 61", h.allow("ws_a", ratelimit.Free), refused)
	h.clock.Advance(20 * time.Second)
	checkDecision(t, "request 62, 20s later", h.allow("ws_a", ratelimit.Free), refused)
}

// testMinuteResetsOnTheMinute: a full minute window stays full to its last
// nanosecond and is empty from the next minute's first.
func testMinuteResetsOnTheMinute(t *testing.T, h *harness) {
	start := h.clock.Now() // 10:00:00
	h.spend("ws_a", ratelimit.Free, 60)
	reset := start.Add(time.Minute)

	h.clock.Set(start.Add(59*time.Second + 999*time.Millisecond))
	checkDecision(t, "at 10:00:59.999", h.allow("ws_a", ratelimit.Free),
		ratelimit.Decision{Window: ratelimit.WindowMinute, Limit: 60, Reset: reset})
	h.clock.Set(reset.Add(-time.Nanosecond))
	checkDecision(t, "at 10:00:59.999999999", h.allow("ws_a", ratelimit.Free),
		ratelimit.Decision{Window: ratelimit.WindowMinute, Limit: 60, Reset: reset})

	h.clock.Set(reset)
	checkDecision(t, "at 10:01:00", h.allow("ws_a", ratelimit.Free),
		ratelimit.Decision{Allowed: true, Window: ratelimit.WindowMinute, Limit: 60, Remaining: 59, Reset: reset.Add(time.Minute)})
	checkUsage(t, "usage at 10:01:00", h.usage("ws_a", ratelimit.Free), ratelimit.Usage{
		Minute: ratelimit.WindowUsage{Limit: 60, Used: 1, Reset: reset.Add(time.Minute)},
		Day:    ratelimit.WindowUsage{Limit: 1000, Used: 61, Reset: nextDay(reset)},
	})
}

// testDayWindowBinds: once the day has fewer requests left than the minute, the
// decision describes the day window, and a full day refuses even at the start
// of a fresh minute.
func testDayWindowBinds(t *testing.T, h *harness) {
	free := ratelimit.Free
	dayReset := nextDay(h.clock.Now())

	h.spendDay("ws_a", free, 940) // 10:00–10:15, clock now 10:16:00
	// 59 left in both windows: a tie, which the minute window describes.
	now := h.clock.Now()
	checkDecision(t, "request 941 (tie)", h.allow("ws_a", free),
		ratelimit.Decision{Allowed: true, Window: ratelimit.WindowMinute, Limit: 60, Remaining: 59, Reset: nextMinute(now)})
	h.spend("ws_a", free, 9) // 950 used

	now = h.at(ratelimit.MinuteStart(now).Add(time.Minute + 30*time.Second)) // 10:17:30
	for i := range 50 {
		checkDecision(t, fmt.Sprint("request ", 951+i), h.allow("ws_a", free),
			ratelimit.Decision{Allowed: true, Window: ratelimit.WindowDay, Limit: 1000, Remaining: 49 - i, Reset: dayReset})
	}
	refused := ratelimit.Decision{Window: ratelimit.WindowDay, Limit: 1000, Remaining: 0, Reset: dayReset}
	// The minute window still has 10 left: the day refuses.
	checkDecision(t, "request 1001", h.allow("ws_a", free), refused)
	h.clock.Set(nextMinute(now)) // 10:18:00
	checkDecision(t, "request 1001 at a fresh minute", h.allow("ws_a", free), refused)
	checkUsage(t, "usage after the day is full", h.usage("ws_a", free), ratelimit.Usage{
		Minute: ratelimit.WindowUsage{Limit: 60, Used: 0, Reset: nextMinute(h.clock.Now())},
		Day:    ratelimit.WindowUsage{Limit: 1000, Used: 1000, Reset: dayReset},
	})

	// Both windows full at once: the day window, whose reset matters, refuses.
	h.spendDay("ws_b", tinyBoth, 6)
	h.clock.Advance(-time.Minute) // back into the minute that filled both
	checkDecision(t, "both windows full", h.allow("ws_b", tinyBoth),
		ratelimit.Decision{Window: ratelimit.WindowDay, Limit: 6, Remaining: 0, Reset: dayReset})
}

// testRefusalsCountNowhere: a refused request counts in neither window, whichever
// window refused it.
func testRefusalsCountNowhere(t *testing.T, h *harness) {
	start := h.clock.Advance(10 * time.Second) // 10:00:10
	h.spend("ws_a", ratelimit.Free, 60)
	for i := range 200 {
		if d := h.allow("ws_a", ratelimit.Free); d.Allowed || d.Window != ratelimit.WindowMinute {
			t.Fatalf("hammering a full minute, request %d: %s", 61+i, fmtDecision(d))
		}
	}
	checkUsage(t, "usage after 200 refusals", h.usage("ws_a", ratelimit.Free), ratelimit.Usage{
		Minute: ratelimit.WindowUsage{Limit: 60, Used: 60, Reset: nextMinute(start)},
		Day:    ratelimit.WindowUsage{Limit: 1000, Used: 60, Reset: nextDay(start)},
	})
	h.clock.Set(nextMinute(start))
	checkDecision(t, "first request of the next minute", h.allow("ws_a", ratelimit.Free),
		ratelimit.Decision{Allowed: true, Window: ratelimit.WindowMinute, Limit: 60, Remaining: 59, Reset: nextMinute(h.clock.Now())})

	// Refused by the day: nothing counts in the minute either.
	h.spendDay("ws_b", tinyDay, 4) // 3 in one minute, 1 in the next; clock after it
	h.clock.Advance(-time.Minute)  // back into the minute with 1 used
	for range 5 {
		if d := h.allow("ws_b", tinyDay); d.Allowed || d.Window != ratelimit.WindowDay {
			t.Fatalf("full day: %s", fmtDecision(d))
		}
	}
	now := h.clock.Now()
	checkUsage(t, "usage after day refusals", h.usage("ws_b", tinyDay), ratelimit.Usage{
		Minute: ratelimit.WindowUsage{Limit: 3, Used: 1, Reset: nextMinute(now)},
		Day:    ratelimit.WindowUsage{Limit: 4, Used: 4, Reset: nextDay(now)},
	})
}

// testWorkspacesDoNotShare: one workspace's requests leave another's quota alone.
func testWorkspacesDoNotShare(t *testing.T, h *harness) {
	now := h.clock.Now()
	h.spend("ws_a", ratelimit.Free, 60)
	// Besides ws_b, names that careless key building could mix up with ws_a.
	for _, ws := range []string{"ws_b", "ws_a:m", "ws_a}", "ws_"} {
		checkDecision(t, ws+" after ws_a used its minute", h.allow(ws, ratelimit.Free),
			ratelimit.Decision{Allowed: true, Window: ratelimit.WindowMinute, Limit: 60, Remaining: 59, Reset: nextMinute(now)})
	}
	if d := h.allow("ws_a", ratelimit.Free); d.Allowed {
		t.Fatalf("ws_a admitted beyond its minute: %s", fmtDecision(d))
	}
	checkUsage(t, "usage of ws_a", h.usage("ws_a", ratelimit.Free), ratelimit.Usage{
		Minute: ratelimit.WindowUsage{Limit: 60, Used: 60, Reset: nextMinute(now)},
		Day:    ratelimit.WindowUsage{Limit: 1000, Used: 60, Reset: nextDay(now)},
	})
	checkUsage(t, "usage of ws_b", h.usage("ws_b", ratelimit.Free), ratelimit.Usage{
		Minute: ratelimit.WindowUsage{Limit: 60, Used: 1, Reset: nextMinute(now)},
		Day:    ratelimit.WindowUsage{Limit: 1000, Used: 1, Reset: nextDay(now)},
	})
}

// testEnterpriseHasNoDayLimit: with PerDay 0 only the minute window limits, and
// it is the window the decisions describe.
func testEnterpriseHasNoDayLimit(t *testing.T, h *harness) {
	ent := ratelimit.Enterprise
	for m := range 2 {
		now := h.clock.Now()
		for i := range 1000 {
			d := h.allow("ws_a", ent)
			if !d.Allowed || d.Window != ratelimit.WindowMinute || d.Limit != 1000 || d.Remaining != 999-i || !d.Reset.Equal(nextMinute(now)) {
				t.Fatalf("minute %d, request %d: %s", m, i+1, fmtDecision(d))
			}
		}
		checkDecision(t, fmt.Sprint("request 1001 of minute ", m), h.allow("ws_a", ent),
			ratelimit.Decision{Window: ratelimit.WindowMinute, Limit: 1000, Remaining: 0, Reset: nextMinute(now)})
		h.clock.Advance(time.Minute)
	}
	now := h.clock.Now()
	checkUsage(t, "usage", h.usage("ws_a", ent), ratelimit.Usage{
		Minute: ratelimit.WindowUsage{Limit: 1000, Used: 0, Reset: nextMinute(now)},
		Day:    ratelimit.WindowUsage{Limit: 0, Used: 2000, Reset: nextDay(now)},
	})
}

// testUsageDoesNotCount: Usage reports the counts and changes none.
func testUsageDoesNotCount(t *testing.T, h *harness) {
	now := h.clock.Now()
	want := ratelimit.Usage{
		Minute: ratelimit.WindowUsage{Limit: 60, Used: 0, Reset: nextMinute(now)},
		Day:    ratelimit.WindowUsage{Limit: 1000, Used: 0, Reset: nextDay(now)},
	}
	for range 100 {
		checkUsage(t, "usage of a new workspace", h.usage("ws_a", ratelimit.Free), want)
	}
	for i := range 3 {
		checkDecision(t, fmt.Sprint("request ", i+1), h.allow("ws_a", ratelimit.Free),
			ratelimit.Decision{Allowed: true, Window: ratelimit.WindowMinute, Limit: 60, Remaining: 59 - i, Reset: nextMinute(now)})
		want.Minute.Used++
		want.Day.Used++
		for range 50 {
			checkUsage(t, fmt.Sprint("usage after request ", i+1), h.usage("ws_a", ratelimit.Free), want)
		}
	}
	// The plan only supplies the limits.
	checkUsage(t, "usage under the pro plan", h.usage("ws_a", ratelimit.Pro), ratelimit.Usage{
		Minute: ratelimit.WindowUsage{Limit: 300, Used: 3, Reset: nextMinute(now)},
		Day:    ratelimit.WindowUsage{Limit: 50000, Used: 3, Reset: nextDay(now)},
	})
}

// testDayResetsAtMidnightUTC: a full day stays full to 23:59:59.999999999 UTC and
// is empty at 00:00 UTC, whatever the clock's time zone.
func testDayResetsAtMidnightUTC(t *testing.T, h *harness) {
	// The clock reads in UTC+05:30, so a limiter that took the date in the
	// clock's zone would start its day at 18:30 UTC.
	ist := time.FixedZone("IST", 5*3600+1800)
	h.clock.Set(time.Date(2030, 3, 14, 23, 40, 0, 0, time.UTC).In(ist))
	h.spendDay("ws_a", ratelimit.Free, 1000) // 23:40–23:56 UTC
	midnight := time.Date(2030, 3, 15, 0, 0, 0, 0, time.UTC)
	refused := ratelimit.Decision{Window: ratelimit.WindowDay, Limit: 1000, Remaining: 0, Reset: midnight}
	checkDecision(t, "request 1001 at 23:57", h.allow("ws_a", ratelimit.Free), refused)
	h.clock.Set(midnight.Add(-time.Nanosecond).In(ist))
	checkDecision(t, "at 23:59:59.999999999", h.allow("ws_a", ratelimit.Free), refused)

	h.clock.Set(midnight.In(ist))
	checkDecision(t, "at 00:00:00", h.allow("ws_a", ratelimit.Free),
		ratelimit.Decision{Allowed: true, Window: ratelimit.WindowMinute, Limit: 60, Remaining: 59, Reset: midnight.Add(time.Minute)})
	checkUsage(t, "usage at 00:00:00", h.usage("ws_a", ratelimit.Free), ratelimit.Usage{
		Minute: ratelimit.WindowUsage{Limit: 60, Used: 1, Reset: midnight.Add(time.Minute)},
		Day:    ratelimit.WindowUsage{Limit: 1000, Used: 1, Reset: midnight.AddDate(0, 0, 1)},
	})
}

// Burst makes n calls of allow at once (their goroutines are released
// together) and returns each call's decision and error by its index.
func Burst(n int, allow func(i int) (ratelimit.Decision, error)) ([]ratelimit.Decision, []error) {
	var (
		wg        sync.WaitGroup
		start     = make(chan struct{})
		decisions = make([]ratelimit.Decision, n)
		errs      = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			decisions[i], errs[i] = allow(i)
		})
	}
	close(start)
	wg.Wait()
	return decisions, errs
}

// testConcurrent: 300 calls released at once against a free workspace admit
// exactly 60, each with a different Remaining.
func testConcurrent(t *testing.T, h *harness) {
	const calls = 300
	now := h.clock.Advance(30 * time.Second)
	decisions, errs := Burst(calls, func(int) (ratelimit.Decision, error) {
		return h.l.Allow(t.Context(), "ws_a", ratelimit.Free)
	})

	var remaining []int
	for i, d := range decisions {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		switch {
		case d.Allowed:
			remaining = append(remaining, d.Remaining)
		case d.Window != ratelimit.WindowMinute || d.Remaining != 0:
			t.Fatalf("call %d refused wrongly: %s", i, fmtDecision(d))
		}
	}
	if len(remaining) != 60 {
		t.Fatalf("%d calls at once admitted %d, want 60", calls, len(remaining))
	}
	slices.Sort(remaining)
	for i, r := range remaining {
		if r != i {
			t.Fatalf("admitted calls' Remaining values are %v, want each of 0..59 once", remaining)
		}
	}
	checkUsage(t, "usage after the race", h.usage("ws_a", ratelimit.Free), ratelimit.Usage{
		Minute: ratelimit.WindowUsage{Limit: 60, Used: 60, Reset: nextMinute(now)},
		Day:    ratelimit.WindowUsage{Limit: 1000, Used: 60, Reset: nextDay(now)},
	})
}

// testRetryAfter: a refusal's RetryAfter is the time to its Reset rounded up to
// whole seconds, at least one.
func testRetryAfter(t *testing.T, h *harness) {
	start := h.clock.Now() // 10:00:00
	h.clock.Set(start.Add(500 * time.Millisecond))
	h.spend("ws_a", ratelimit.Free, 60)
	for _, c := range []struct {
		at   time.Duration // after 10:00:00
		want time.Duration
	}{
		{500 * time.Millisecond, 60 * time.Second}, // 59.5 s rounds up
		{30 * time.Second, 30 * time.Second},       // exact: not rounded
		{30*time.Second + time.Nanosecond, 30 * time.Second},
		{59*time.Second + 999*time.Millisecond, time.Second},
	} {
		now := h.at(start.Add(c.at))
		d := h.allow("ws_a", ratelimit.Free)
		if d.Allowed {
			t.Fatalf("at +%v: admitted beyond the minute: %s", c.at, fmtDecision(d))
		}
		if got := d.RetryAfter(now); got != c.want {
			t.Errorf("at +%v: RetryAfter = %v, want %v (decision %s)", c.at, got, c.want, fmtDecision(d))
		}
	}
	h.clock.Set(start)
	if d := h.allow("ws_a", ratelimit.Free); d.RetryAfter(d.Reset) != time.Second || d.RetryAfter(d.Reset.Add(time.Hour)) != time.Second {
		t.Errorf("RetryAfter at or after Reset should be 1s, got %v and %v", d.RetryAfter(d.Reset), d.RetryAfter(d.Reset.Add(time.Hour)))
	}

	// A refusal by the day waits for midnight UTC: 13:58:59.5 from 10:01:00.5,
	// rounded up.
	h.clock.Set(start.Add(500 * time.Millisecond))
	h.spend("ws_b", tinyDay, 3)
	h.clock.Advance(time.Minute)
	h.spend("ws_b", tinyDay, 1)
	now := h.clock.Now()
	d := h.allow("ws_b", tinyDay)
	if d.Allowed || d.Window != ratelimit.WindowDay {
		t.Fatalf("full day: %s", fmtDecision(d))
	}
	if got, want := d.RetryAfter(now), 14*time.Hour-time.Minute; got != want {
		t.Errorf("day refusal at 10:01:00.5: RetryAfter = %v, want %v", got, want)
	}
}
