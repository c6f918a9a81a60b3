package servertest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/example/workspace/server"
	"github.com/example/workspace/store"
	"github.com/example/workspace/store/sqlite"
)

// Spy wraps a real store: it counts the key look-ups and touches that
// authentication makes, can make CreateProject fail with a chosen error (or
// panic) to drive the error rows that a healthy store never produces, and can
// make Ping fail to drive readiness.
type Spy struct {
	store.Store
	Lookups atomic.Int64
	Touches atomic.Int64

	mu        sync.Mutex
	fault     error
	panicWith any
	pingFault error
	hold      *Hold
}

// Hold keeps CreateProject calls waiting inside the store until released.
type Hold struct {
	// Entered receives once per CreateProject call that has started waiting.
	Entered chan struct{}
	release chan struct{}
	once    sync.Once
}

// Release lets every held call, and every later one, proceed.
func (h *Hold) Release() { h.once.Do(func() { close(h.release) }) }

// HoldCreateProject makes CreateProject wait until the returned Hold is
// released (or the call's context ends), so that a test can act while a
// create is in flight without sleeping. Release it before the test ends.
func (s *Spy) HoldCreateProject() *Hold {
	h := &Hold{Entered: make(chan struct{}, 16), release: make(chan struct{})}
	s.mu.Lock()
	s.hold = h
	s.mu.Unlock()
	return h
}

// WithSpy starts the server on a SQLite store wrapped in a Spy.
func WithSpy(spy **Spy) Config {
	return func(c *server.Config) {
		st, err := sqlite.Open(context.Background(), c.Database)
		if err != nil {
			panic("servertest: opening SQLite: " + err.Error())
		}
		*spy = &Spy{Store: st}
		c.Store = *spy
	}
}

// FailCreateProject makes every CreateProject return err (nil to stop).
func (s *Spy) FailCreateProject(err error) {
	s.mu.Lock()
	s.fault = err
	s.mu.Unlock()
}

// PanicCreateProject makes every CreateProject panic with v (nil to stop).
func (s *Spy) PanicCreateProject(v any) {
	s.mu.Lock()
	s.panicWith = v
	s.mu.Unlock()
}

// FailPing makes every Ping return err (nil to stop), as an unreachable
// database would.
func (s *Spy) FailPing(err error) {
	s.mu.Lock()
	s.pingFault = err
	s.mu.Unlock()
}

// CreateProject fails with the injected fault, or panics with the injected
// value, if any.
func (s *Spy) CreateProject(ctx context.Context, p store.Project) error {
	s.mu.Lock()
	fault, panicWith, hold := s.fault, s.panicWith, s.hold
	s.mu.Unlock()
	if panicWith != nil {
		panic(panicWith)
	}
	if fault != nil {
		return fault
	}
	if hold != nil {
		hold.Entered <- struct{}{}
		select {
		case <-hold.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.Store.CreateProject(ctx, p)
}

// Ping fails with the injected fault, if any.
func (s *Spy) Ping(ctx context.Context) error {
	s.mu.Lock()
	fault := s.pingFault
	s.mu.Unlock()
	if fault != nil {
		return fault
	}
	return s.Store.Ping(ctx)
}

// LookupAPIKey counts and delegates.
func (s *Spy) LookupAPIKey(ctx context.Context, hash []byte) (store.APIKey, store.Workspace, error) {
	s.Lookups.Add(1)
	return s.Store.LookupAPIKey(ctx, hash)
}

// TouchAPIKey counts and delegates.
func (s *Spy) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	s.Touches.Add(1)
	return s.Store.TouchAPIKey(ctx, id, at)
}
