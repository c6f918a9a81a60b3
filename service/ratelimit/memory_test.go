package ratelimit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/example/workspace/service/ratelimit"
	"github.com/example/workspace/service/ratelimit/ratelimittest"
)

func TestMemory(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T, now func() time.Time) ratelimit.Limiter {
		return ratelimit.NewMemory(now)
	})
}

// TestMemorySweep: workspaces are dropped once their day is over, so memory
// holds only the workspaces of the current day.
func TestMemorySweep(t *testing.T) {
	clock := ratelimittest.NewClock(time.Date(2030, 3, 14, 23, 59, 0, 0, time.UTC))
	m := ratelimit.NewMemory(clock.Now)
	ctx := t.Context()
	for i := range 1000 {
		if _, err := m.Allow(ctx, fmt.Sprintf("ws_%d", i), ratelimit.Free); err != nil {
			t.Fatal(err)
		}
	}
	if n := ratelimit.MemoryLen(m); n != 1000 {
		t.Fatalf("holds %d workspaces after 1000 were seen, want 1000", n)
	}
	// Usage must not add entries.
	if _, err := m.Usage(ctx, "ws_unseen", ratelimit.Free); err != nil {
		t.Fatal(err)
	}
	if n := ratelimit.MemoryLen(m); n != 1000 {
		t.Fatalf("holds %d workspaces after a Usage, want 1000", n)
	}

	// The next minute of the same day keeps them: their day counts matter.
	clock.Advance(30 * time.Second)
	for i := range 1000 {
		if _, err := m.Allow(ctx, fmt.Sprintf("other_%d", i), ratelimit.Free); err != nil {
			t.Fatal(err)
		}
	}
	if n := ratelimit.MemoryLen(m); n != 2000 {
		t.Fatalf("holds %d workspaces within the day, want 2000", n)
	}

	// The next day, calls for a few workspaces sweep out everyone else.
	clock.Advance(time.Minute)
	for i := range 10000 {
		if _, err := m.Allow(ctx, fmt.Sprintf("ws_%d", i%200), ratelimit.Free); err != nil {
			t.Fatal(err)
		}
	}
	if n := ratelimit.MemoryLen(m); n != 200 {
		t.Fatalf("holds %d workspaces the next day, want the 200 seen that day", n)
	}
	u, err := m.Usage(ctx, "ws_1", ratelimit.Free)
	if err != nil {
		t.Fatal(err)
	}
	if u.Day.Used != 50 || u.Minute.Used != 50 {
		t.Fatalf("ws_1 the next day: %+v, want 50 in each window", u)
	}
}

// TestMemoryClockStepsBack: a clock stepping back into an earlier minute must
// not reopen a full window.
func TestMemoryClockStepsBack(t *testing.T) {
	clock := ratelimittest.NewClock(time.Date(2030, 3, 14, 10, 0, 30, 0, time.UTC))
	m := ratelimit.NewMemory(clock.Now)
	ctx := t.Context()
	for range 60 {
		if d, _ := m.Allow(ctx, "ws_a", ratelimit.Free); !d.Allowed {
			t.Fatal("refused within the limit")
		}
	}
	clock.Advance(-time.Minute)
	if d, _ := m.Allow(ctx, "ws_a", ratelimit.Free); d.Allowed {
		t.Fatalf("admitted the 61st request after the clock stepped back: %+v", d)
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	benchAllow(b, ratelimit.NewMemory(time.Now))
}

// benchAllow measures Allow serially and in parallel over 1,024 enterprise
// workspaces (1,000 a minute each), so that nearly every call is admitted and
// so writes.
func benchAllow(b *testing.B, l ratelimit.Limiter) {
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprintf("ws_%d", i)
	}
	b.Run("serial", func(b *testing.B) {
		ctx := b.Context()
		i := 0
		for b.Loop() {
			if _, err := l.Allow(ctx, ids[i&1023], ratelimit.Enterprise); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		ctx := b.Context()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := l.Allow(ctx, ids[i&1023], ratelimit.Enterprise); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}
