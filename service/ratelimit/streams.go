package ratelimit

import (
	"errors"
	"sync"
)

// ErrTooManyStreams refuses a stream beyond its plan's Streams.
var ErrTooManyStreams = errors.New("too many open streams")

// Streams counts the open event streams of each workspace on this server.
//
// The bound is per server, not shared by replicas: a workspace behind two
// replicas may hold twice its plan's streams. Sharing it would take a count
// that survives neither a crash nor a network split by itself (a Redis
// counter left high by a replica killed with open streams refuses streams
// until something repairs it; leases renewed by every replica for every
// stream cost a write per stream per period). Streams are cheap here (an
// idle one is a few KiB), the bound exists to stop one workspace from
// holding an unbounded number, and a load balancer spreads a workspace's
// streams; per server is the bound that is always exact.
type Streams struct {
	mu   sync.Mutex
	open map[string]int
}

// NewStreams returns an empty count.
func NewStreams() *Streams { return &Streams{open: map[string]int{}} }

// Open counts one more stream of the workspace, or refuses it with
// ErrTooManyStreams when plan.Streams are open already. release (idempotent)
// ends the count of the stream.
func (s *Streams) Open(workspaceID string, plan Plan) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[workspaceID] >= plan.Streams {
		return nil, ErrTooManyStreams
	}
	s.open[workspaceID]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.open[workspaceID]--; s.open[workspaceID] <= 0 {
				delete(s.open, workspaceID)
			}
		})
	}, nil
}

// Count is how many streams the workspace holds open now.
func (s *Streams) Count(workspaceID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open[workspaceID]
}
