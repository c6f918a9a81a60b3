package eventhub_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/example/workspace/service/eventhub"
	"github.com/example/workspace/store"
	"github.com/example/workspace/store/sqlite"
)

type fixture struct {
	t    *testing.T
	path string
	st   *sqlite.Store
	hub  *eventhub.Hub
	n    int
}

func newFixture(t *testing.T, buffer int) *fixture {
	t.Helper()
	ctx := context.Background()
	path := t.TempDir() + "/hub.db"
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	hub := eventhub.New(st, st, eventhub.Options{Buffer: buffer, PollInterval: 50 * time.Millisecond})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { hub.Run(runCtx); close(done) }()
	t.Cleanup(func() {
		stop()
		<-done
		_ = st.Close()
	})
	f := &fixture{t: t, path: path, st: st, hub: hub}
	for _, ws := range []string{"ws_a", "ws_b"} {
		now := time.Now().UTC().Truncate(time.Second)
		if err := st.CreateWorkspace(ctx, store.Workspace{ID: ws, Name: ws, Plan: "free", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// project writes one project.created event in ws.
func (f *fixture) project(ws string) {
	f.t.Helper()
	f.n++
	now := time.Now().UTC().Truncate(time.Second)
	if err := f.st.CreateProject(context.Background(), store.Project{ID: fmt.Sprintf("proj_%d", f.n), WorkspaceID: ws, Name: "p", CreatedAt: now, UpdatedAt: now}); err != nil {
		f.t.Fatal(err)
	}
}

// watch runs a Watch until it has received n events or ends; it returns
// what it received and how it ended.
func (f *fixture) watch(ctx context.Context, ws string, filter store.EventFilter, started chan<- struct{}, got chan<- store.Event) error {
	return f.hub.Watch(ctx, ws, filter, func() error {
		if started != nil {
			close(started)
		}
		return nil
	}, nil, nil, func(it *eventhub.Item) error {
		select {
		case got <- it.Event:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

func receive(t *testing.T, got <-chan store.Event, n int) []store.Event {
	t.Helper()
	var evs []store.Event
	deadline := time.After(10 * time.Second)
	for len(evs) < n {
		select {
		case ev := <-got:
			evs = append(evs, ev)
		case <-deadline:
			t.Fatalf("received %d events of %d", len(evs), n)
		}
	}
	return evs
}

func checkSeqs(t *testing.T, evs []store.Event, from int64) {
	t.Helper()
	for i, ev := range evs {
		if ev.Seq != from+int64(i) {
			t.Fatalf("event %d has seq %d, want %d (no gap, no repeat)", i, ev.Seq, from+int64(i))
		}
	}
}

// A watcher replays the log after its position, then follows it, without a
// gap or a repeat while writes go on, and sees no other workspace's events.
func TestReplayThenFollow(t *testing.T) {
	f := newFixture(t, 256)
	for i := 0; i < 150; i++ { // more than a page
		f.project("ws_a")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan store.Event)
	started := make(chan struct{})
	ended := make(chan error, 1)
	go func() { ended <- f.watch(ctx, "ws_a", store.EventFilter{After: 10}, started, got) }()
	<-started
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 100; i++ {
			f.project("ws_b")
			f.project("ws_a")
		}
	}()
	evs := receive(t, got, 240)
	wg.Wait()
	checkSeqs(t, evs, 11)
	for _, ev := range evs {
		if ev.WorkspaceID != "ws_a" {
			t.Fatalf("watcher of ws_a got an event of %s", ev.WorkspaceID)
		}
	}
	cancel()
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Errorf("Watch ended with %v", err)
	}
	waitFor(t, func() bool { topics, _ := f.hub.Topics(); return topics == 0 })
}

// A watcher that does not take its events is ended with ErrLagging once its
// buffer is full; another keeps receiving and the writers never wait.
func TestSlowWatcherLags(t *testing.T) {
	f := newFixture(t, 8)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fast := make(chan store.Event)
	slowStarted, fastStarted := make(chan struct{}), make(chan struct{})
	release := make(chan struct{})
	slowEnded := make(chan error, 1)
	go func() {
		// The slow one blocks on its first event until released, then
		// takes the others at once.
		first := true
		slowEnded <- f.hub.Watch(ctx, "ws_a", store.EventFilter{}, func() error { close(slowStarted); return nil }, nil, nil, func(*eventhub.Item) error {
			if first {
				first = false
				<-release
			}
			return nil
		})
	}()
	go func() { _ = f.watch(ctx, "ws_a", store.EventFilter{}, fastStarted, fast) }()
	<-slowStarted
	<-fastStarted
	waitFor(t, func() bool { _, w := f.hub.Topics(); return w == 2 })
	done := make(chan []store.Event)
	go func() { done <- receive(t, fast, 50) }()
	for i := 0; i < 50; i++ {
		f.project("ws_a")
	}
	checkSeqs(t, <-done, 1)
	_, watchers := f.hub.Topics()
	if watchers != 1 {
		t.Errorf("%d watchers after the slow one's buffer filled, want 1 (it is dropped)", watchers)
	}
	close(release)
	select {
	case err := <-slowEnded:
		if !errors.Is(err, eventhub.ErrLagging) {
			t.Fatalf("slow watcher ended with %v, want ErrLagging", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the slow watcher was not ended")
	}
}

// The types filter keeps only the events of those types, in the replay and
// live.
func TestTypesFilter(t *testing.T) {
	f := newFixture(t, 256)
	f.project("ws_a")
	ctx := context.Background()
	if _, err := f.st.UpdateProject(ctx, "ws_a", "proj_1", func(p *store.Project) error { p.Name = "renamed"; return nil }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan store.Event)
	started := make(chan struct{})
	go func() {
		_ = f.watch(ctx, "ws_a", store.EventFilter{Types: []string{store.EventProjectUpdated}}, started, got)
	}()
	<-started
	f.project("ws_a")
	if _, err := f.st.UpdateProject(ctx, "ws_a", "proj_2", func(p *store.Project) error { p.Name = "again"; return nil }); err != nil {
		t.Fatal(err)
	}
	evs := receive(t, got, 2)
	if evs[0].Seq != 2 || evs[1].Seq != 4 || evs[0].Type != store.EventProjectUpdated || evs[1].Type != store.EventProjectUpdated {
		t.Fatalf("got %v", evs)
	}
}

// Writes the feed does not tell (another process on the same SQLite file)
// reach the watcher through the poll of the workspace's head.
func TestPollFindsOtherProcessesWrites(t *testing.T) {
	f := newFixture(t, 256)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan store.Event)
	started := make(chan struct{})
	go func() { _ = f.watch(ctx, "ws_a", store.EventFilter{}, started, got) }()
	<-started
	other, err := sqlite.Open(ctx, f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	now := time.Now().UTC().Truncate(time.Second)
	if err := other.CreateProject(ctx, store.Project{ID: "proj_other", WorkspaceID: "ws_a", Name: "p", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if ev := receive(t, got, 1)[0]; ev.Data.Project == nil || ev.Data.Project.ID != "proj_other" {
		t.Fatalf("got %+v", ev)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
