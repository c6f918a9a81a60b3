package ratelimit_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/workspace/service/ratelimit"
	"github.com/example/workspace/service/ratelimit/ratelimittest"
	"github.com/example/workspace/service/ratelimit/redistest"
)

const (
	outageStarts = "rate limiter: redis unreachable, using in-memory limits"
	outageEnds   = "rate limiter: redis reachable again, using shared limits"
)

// logBuffer collects log output from concurrent calls.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// count reports how many lines contain msg.
func (b *logBuffer) count(msg string) int {
	return strings.Count(b.String(), msg)
}

func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, nil)), b
}

// TestFailoverRedisOutage stops a real Redis under a Failover and starts it
// again: the calls go on answering from memory, quickly, and go back to Redis
// once it is up.
func TestFailoverRedisOutage(t *testing.T) {
	server := redistest.Start(t)
	client, err := ratelimit.NewRedisClient(server.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	primary := ratelimit.NewRedis(client)
	logger, logs := newLogger()
	f := ratelimit.NewFailover(primary, ratelimit.NewMemory(time.Now), ratelimit.WithLogger(logger))
	ctx := t.Context()

	allow := func(what string) (ratelimit.Decision, time.Duration) {
		t.Helper()
		start := time.Now()
		d, err := f.Allow(ctx, "ws_a", ratelimit.Free)
		took := time.Since(start)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return d, took
	}

	// Checked by the day count, which unlike the minute's cannot reset
	// between the calls (but at midnight).
	usedInRedis := func() int {
		t.Helper()
		u, err := primary.Usage(ctx, "ws_a", ratelimit.Free)
		if err != nil {
			t.Fatalf("Usage from Redis: %v", err)
		}
		return u.Day.Used
	}
	for i := range 5 {
		if d, _ := allow("with Redis up"); !d.Allowed {
			t.Fatalf("call %d with Redis up: %+v", i+1, d)
		}
	}
	if f.Degraded() || f.Fallbacks() != 0 || usedInRedis() != 5 {
		t.Fatalf("with Redis up: Degraded %t, Fallbacks %d, Redis counted %d", f.Degraded(), f.Fallbacks(), usedInRedis())
	}

	server.Stop()
	for i := range 20 {
		d, took := allow("with Redis down")
		if took > ratelimit.DefaultFailoverTimeout+200*time.Millisecond {
			t.Errorf("call %d with Redis down took %v", i+1, took)
		}
		// The memory limiter starts afresh, not knowing Redis' 5.
		if i == 0 && (!d.Allowed || d.Remaining != 59) {
			t.Fatalf("first call with Redis down: %+v, want the in-memory limiter's first decision", d)
		}
		if !f.Degraded() {
			t.Fatalf("call %d with Redis down: not Degraded", i+1)
		}
	}
	if n := f.Fallbacks(); n != 20 {
		t.Fatalf("Fallbacks = %d after 20 calls with Redis down, want 20", n)
	}
	if n := logs.count(outageStarts); n != 1 {
		t.Fatalf("the outage's start was logged %d times, want once; logs:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "error=") {
		t.Fatalf("the outage's start was logged without the error:\n%s", logs)
	}

	// The same port again, as a restarted Redis would be. It is empty: no
	// persistence.
	server.Start(t)
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for f.Degraded() {
		if time.Now().After(deadline) {
			t.Fatalf("still Degraded 10s after Redis came back; logs:\n%s", logs)
		}
		<-tick.C
		allow("while Redis comes back")
	}
	// Only the call that found Redis back counted there.
	if n := usedInRedis(); n != 1 {
		t.Fatalf("Redis counted %d after it came back, want 1", n)
	}
	fallbacks := f.Fallbacks()
	if d, _ := allow("after Redis came back"); !d.Allowed || f.Fallbacks() != fallbacks || usedInRedis() != 2 {
		t.Fatalf("after Redis came back: %+v, Fallbacks %d (was %d), Redis counted %d, want 2", d, f.Fallbacks(), fallbacks, usedInRedis())
	}
	if n := logs.count(outageEnds); n != 1 {
		t.Fatalf("the outage's end was logged %d times, want once; logs:\n%s", n, logs)
	}
	if n := logs.count(outageStarts); n != 1 {
		t.Fatalf("the outage's start was logged %d times, want once; logs:\n%s", n, logs)
	}

	// Redis forgetting the script (as at the restart above) is no error.
	if err := client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if d, err := primary.Allow(ctx, "ws_a", ratelimit.Free); err != nil || !d.Allowed || usedInRedis() != 3 {
		t.Fatalf("Allow after SCRIPT FLUSH: %+v, %v", d, err)
	}
}

// stubLimiter is a primary whose answers the test controls.
type stubLimiter struct {
	calls atomic.Int64
	allow func(ctx context.Context) (ratelimit.Decision, error)
}

func (s *stubLimiter) Allow(ctx context.Context, _ string, _ ratelimit.Plan) (ratelimit.Decision, error) {
	s.calls.Add(1)
	return s.allow(ctx)
}

func (s *stubLimiter) Usage(context.Context, string, ratelimit.Plan) (ratelimit.Usage, error) {
	return ratelimit.Usage{}, errors.New("stub: no usage")
}

// primaryDecision marks the stub's answers apart from the fallback's.
var primaryDecision = ratelimit.Decision{Allowed: true, Window: "stub", Limit: 7, Remaining: 6}

// TestFailoverPrimaryIgnoringContext: a primary that hangs without looking at
// its context still cannot hold a call past the timeout.
func TestFailoverPrimaryIgnoringContext(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	primary := &stubLimiter{allow: func(context.Context) (ratelimit.Decision, error) {
		<-release
		return primaryDecision, nil
	}}
	logger, logs := newLogger()
	clock := ratelimittest.NewClock(time.Date(2030, 3, 14, 10, 0, 0, 0, time.UTC))
	f := ratelimit.NewFailover(primary, ratelimit.NewMemory(clock.Now), ratelimit.WithTimeout(20*time.Millisecond), ratelimit.WithLogger(logger))

	start := time.Now()
	d, err := f.Allow(t.Context(), "ws_a", ratelimit.Free)
	took := time.Since(start)
	if err != nil || d.Window != ratelimit.WindowMinute || d.Remaining != 59 {
		t.Fatalf("got %+v, %v; want the fallback's decision", d, err)
	}
	if took < 20*time.Millisecond || took > 2*time.Second {
		t.Fatalf("took %v with a 20ms timeout", took)
	}
	if !f.Degraded() || f.Fallbacks() != 1 || logs.count(outageStarts) != 1 {
		t.Fatalf("Degraded %t, Fallbacks %d, logs:\n%s", f.Degraded(), f.Fallbacks(), logs)
	}
	if !strings.Contains(logs.String(), "context deadline exceeded") {
		t.Fatalf("the log should give the timeout as the error:\n%s", logs)
	}
}

// TestFailoverProbesOneAtATime: while the primary is failing one call at a
// time tries it, the others answer from the fallback at once, and the first
// success ends the outage.
func TestFailoverProbesOneAtATime(t *testing.T) {
	var (
		mode    atomic.Int32 // 0: fail, 1: block until released, then answer
		entered = make(chan struct{}, 1)
		release = make(chan struct{})
	)
	primary := &stubLimiter{allow: func(ctx context.Context) (ratelimit.Decision, error) {
		if mode.Load() == 0 {
			return ratelimit.Decision{}, errors.New("stub: connection refused")
		}
		entered <- struct{}{}
		<-release
		return primaryDecision, nil
	}}
	logger, logs := newLogger()
	clock := ratelimittest.NewClock(time.Date(2030, 3, 14, 10, 0, 0, 0, time.UTC))
	f := ratelimit.NewFailover(primary, ratelimit.NewMemory(clock.Now), ratelimit.WithTimeout(time.Minute), ratelimit.WithLogger(logger))
	ctx := t.Context()

	if d, err := f.Allow(ctx, "ws_a", ratelimit.Free); err != nil || d.Window != ratelimit.WindowMinute {
		t.Fatalf("primary failing: %+v, %v", d, err)
	}
	if !f.Degraded() || !strings.Contains(logs.String(), "connection refused") {
		t.Fatalf("Degraded %t after a failure; logs:\n%s", f.Degraded(), logs)
	}

	mode.Store(1)
	probe := make(chan ratelimit.Decision)
	go func() {
		d, _ := f.Allow(ctx, "ws_a", ratelimit.Free)
		probe <- d
	}()
	<-entered // the probe is inside the primary
	calls := primary.calls.Load()
	for range 10 {
		d, err := f.Allow(ctx, "ws_a", ratelimit.Free)
		if err != nil || d.Window != ratelimit.WindowMinute {
			t.Fatalf("during a probe: %+v, %v; want the fallback's decision", d, err)
		}
	}
	if n := primary.calls.Load(); n != calls {
		t.Fatalf("the primary was called %d more times during a probe, want 0", n-calls)
	}
	if !f.Degraded() {
		t.Fatal("not Degraded during a probe")
	}

	close(release)
	if d := <-probe; d != primaryDecision {
		t.Fatalf("the successful probe answered %+v, want the primary's decision", d)
	}
	if f.Degraded() || f.Fallbacks() != 11 {
		t.Fatalf("after a successful probe: Degraded %t, Fallbacks %d (want 11)", f.Degraded(), f.Fallbacks())
	}
	if logs.count(outageStarts) != 1 || logs.count(outageEnds) != 1 {
		t.Fatalf("want the outage logged once as it started and once as it ended:\n%s", logs)
	}
}

// TestFailoverCallerGaveUp: a call whose own context is done is not taken for an
// outage of the primary.
func TestFailoverCallerGaveUp(t *testing.T) {
	primary := &stubLimiter{allow: func(ctx context.Context) (ratelimit.Decision, error) {
		<-ctx.Done()
		return ratelimit.Decision{}, ctx.Err()
	}}
	logger, logs := newLogger()
	f := ratelimit.NewFailover(primary, ratelimit.NewMemory(time.Now), ratelimit.WithLogger(logger))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := f.Allow(ctx, "ws_a", ratelimit.Free); err != nil {
		t.Fatalf("Allow: %v, want the fallback's decision", err)
	}
	if f.Degraded() || logs.String() != "" {
		t.Fatalf("a cancelled call made the Failover Degraded (%t); logs:\n%s", f.Degraded(), logs)
	}
}
