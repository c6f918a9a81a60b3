package ratelimit

// MemoryLen reports how many workspaces m holds, for the tests of its sweep.
func MemoryLen(m *Memory) int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.counts)
		s.mu.Unlock()
	}
	return n
}
