package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// memoryShards is how many independently locked maps a Memory spreads its
// workspaces over, so that requests of different workspaces rarely wait for
// one another. A power of two, so a hash picks a shard with a mask.
const memoryShards = 64

// Memory is a Limiter that keeps the counts in this process. It is exact for
// one replica only; it serves as the fallback when Redis is unreachable and as
// the limiter of single-replica deployments and tests.
type Memory struct {
	now  func() time.Time
	seed maphash.Seed
	// sweptDay is the Unix start of the day window of the last sweep. The
	// first call of a new day drops the workspaces of past days from every
	// shard, which bounds memory to the workspaces active in one day without
	// a background goroutine.
	sweptDay atomic.Int64
	shards   [memoryShards]memoryShard
}

type memoryShard struct {
	mu sync.Mutex
	// counts holds the workspaces seen in the current day window (and, for a
	// moment after midnight, the previous one).
	counts map[string]*memoryCount
	// _ keeps neighbouring shards' mutexes off one cache line, so that locks
	// of different shards don't slow each other down.
	_ [48]byte
}

// memoryCount is one workspace's counts. A window is identified by its Unix
// start; a count of an earlier window than the current one is stale (zero).
type memoryCount struct {
	minuteStart, dayStart int64
	minuteUsed, dayUsed   int
}

// NewMemory returns an empty in-memory limiter whose windows follow now
// (time.Now in production, a fake clock in tests).
func NewMemory(now func() time.Time) *Memory {
	m := &Memory{now: now, seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].counts = make(map[string]*memoryCount)
	}
	return m
}

func (m *Memory) shard(workspaceID string) *memoryShard {
	return &m.shards[maphash.String(m.seed, workspaceID)&(memoryShards-1)]
}

// Allow counts one request of the workspace if both windows have room. It never
// fails.
func (m *Memory) Allow(_ context.Context, workspaceID string, plan Plan) (Decision, error) {
	now := m.now()
	minute, day := MinuteStart(now).Unix(), DayStart(now).Unix()
	if day > m.sweptDay.Load() {
		m.sweep(day)
	}
	s := m.shard(workspaceID)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counts[workspaceID]
	if c == nil {
		c = &memoryCount{minuteStart: minute, dayStart: day}
		s.counts[workspaceID] = c
	}
	// Windows only move forward: if the clock steps back into an earlier
	// window, keep counting in the later one rather than starting afresh, which
	// could admit a window's quota twice.
	if minute > c.minuteStart {
		c.minuteStart, c.minuteUsed = minute, 0
	}
	if day > c.dayStart {
		c.dayStart, c.dayUsed = day, 0
	}
	d := decide(plan, c.minuteUsed, c.dayUsed, now)
	if d.Allowed {
		c.minuteUsed++
		c.dayUsed++
	}
	return d, nil
}

// sweep drops the workspaces whose day window (and so their minute window too)
// ended before day. Only the first caller of a day does the work; the others
// go on, since a stale count is reset when its workspace is next seen anyway.
func (m *Memory) sweep(day int64) {
	old := m.sweptDay.Load()
	if day <= old || !m.sweptDay.CompareAndSwap(old, day) {
		return
	}
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for id, c := range s.counts {
			if c.dayStart < day {
				delete(s.counts, id)
			}
		}
		s.mu.Unlock()
	}
}

// Usage reports the workspace's counts without counting anything. It never
// fails.
func (m *Memory) Usage(_ context.Context, workspaceID string, plan Plan) (Usage, error) {
	now := m.now()
	minute, day := MinuteStart(now), DayStart(now)
	u := Usage{
		Minute: WindowUsage{Limit: plan.PerMinute, Reset: minute.Add(time.Minute)},
		Day:    WindowUsage{Limit: plan.PerDay, Reset: day.AddDate(0, 0, 1)},
	}
	s := m.shard(workspaceID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.counts[workspaceID]; c != nil {
		// ">=" rather than "==" to match Allow, which keeps counting in a
		// later window when the clock steps back.
		if c.minuteStart >= minute.Unix() {
			u.Minute.Used = c.minuteUsed
		}
		if c.dayStart >= day.Unix() {
			u.Day.Used = c.dayUsed
		}
	}
	return u, nil
}
