package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/postgres/pgtest"
)

// openReplicas opens n Stores on one database: replicas of one deployment.
func openReplicas(t *testing.T, url string, n int) []*Store {
	t.Helper()
	var out []*Store
	for range n {
		s, err := Open(t.Context(), url)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		out = append(out, s)
	}
	return out
}

// TestEventsReplicasGapless has two replicas write one workspace's tasks at
// once, from several goroutines each: the log is 1…n with no gap or repeat,
// and every acknowledged write's receipt names an event of its own.
func TestEventsReplicasGapless(t *testing.T) {
	ctx := t.Context()
	replicas := openReplicas(t, pgtest.NewDatabase(t), 2)
	a := replicas[0]
	ws := store.Workspace{ID: "ws_A", Name: "A", Plan: "free", CreatedAt: time.Now()}
	if err := a.CreateWorkspace(ctx, ws); err != nil {
		t.Fatal(err)
	}
	p := store.Project{ID: "proj_1", WorkspaceID: ws.ID, Name: "P", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := a.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	const perReplica, each = 4, 30
	var mu sync.Mutex
	seqs := map[int64]string{1: "project"}
	var wg sync.WaitGroup
	for r, s := range replicas {
		for g := range perReplica {
			wg.Go(func() {
				for i := range each {
					id := fmt.Sprintf("task_r%dg%dn%02d", r, g, i)
					rctx, rec := store.WithEventReceipt(ctx)
					now := time.Now()
					var err error
					if i%3 == 2 {
						_, err = s.UpdateTask(rctx, ws.ID, fmt.Sprintf("task_r%dg%dn%02d", r, g, i-1), func(t *store.Task) error {
							t.Status = "done"
							return nil
						})
						id += "-update"
					} else {
						err = s.CreateTask(rctx, store.Task{ID: id, WorkspaceID: ws.ID, ProjectID: p.ID, Title: id,
							Status: "todo", CreatedAt: now, UpdatedAt: now})
					}
					if err != nil {
						t.Errorf("%s: %v", id, err)
						return
					}
					mu.Lock()
					if prev, dup := seqs[rec.Seq()]; dup {
						t.Errorf("seq %d acknowledged to %s and %s", rec.Seq(), prev, id)
					}
					seqs[rec.Seq()] = id
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	var all []store.Event
	for after := int64(0); ; {
		page, _, err := replicas[1].ListEvents(ctx, ws.ID, store.EventFilter{After: after}, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1].Seq
	}
	if len(all) != len(seqs) {
		t.Errorf("%d events, %d acknowledged", len(all), len(seqs))
	}
	for i, e := range all {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: a gap or a repeat", i, e.Seq)
		}
		if _, ok := seqs[e.Seq]; !ok {
			t.Errorf("seq %d (%s) was acknowledged to no write", e.Seq, e.Type)
		}
	}
}

// TestFollowEventsAcrossReplicas: a follower on one replica hears the
// writes of another, through LISTEN/NOTIFY.
func TestFollowEventsAcrossReplicas(t *testing.T) {
	ctx := t.Context()
	replicas := openReplicas(t, pgtest.NewDatabase(t), 2)
	a, b := replicas[0], replicas[1]
	ws := store.Workspace{ID: "ws_A", Name: "A", Plan: "free", CreatedAt: time.Now()}
	if err := b.CreateWorkspace(ctx, ws); err != nil {
		t.Fatal(err)
	}
	notes := make(chan [2]any, 256)
	go func() {
		_ = a.FollowEvents(ctx, func(ws string, seq int64) {
			select {
			case notes <- [2]any{ws, seq}:
			default:
			}
		})
	}()
	// Listening is announced by notify("", 0); a write on b after it is heard.
	waitNote(t, notes, func(n [2]any) bool { return n[0] == "" })
	rctx, rec := store.WithEventReceipt(ctx)
	now := time.Now()
	if err := b.CreateProject(rctx, store.Project{ID: "proj_1", WorkspaceID: ws.ID, Name: "P", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	waitNote(t, notes, func(n [2]any) bool { return n[0] == ws.ID && n[1] == rec.Seq() })
}

// TestFollowEventsReconnects: when the follower's connection breaks, it
// connects again and says notifications may have been missed.
func TestFollowEventsReconnects(t *testing.T) {
	ctx := t.Context()
	url, proxy := pgtest.NewProxy(t, pgtest.NewDatabase(t))
	s := openReplicas(t, url, 1)[0]
	notes := make(chan [2]any, 256)
	done := make(chan error, 1)
	go func() {
		done <- s.FollowEvents(ctx, func(ws string, seq int64) {
			select {
			case notes <- [2]any{ws, seq}:
			default:
			}
		})
	}()
	waitNote(t, notes, func(n [2]any) bool { return n[0] == "" })
	proxy.Cut()
	proxy.Restore()
	waitNote(t, notes, func(n [2]any) bool { return n[0] == "" })
	// And Close ends it.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("FollowEvents after Close: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("FollowEvents did not return on Close")
	}
}

func waitNote(t *testing.T, notes <-chan [2]any, ok func([2]any) bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case n := <-notes:
			if ok(n) {
				return
			}
		case <-deadline:
			t.Fatal("the notification did not come")
		}
	}
}
