package storetest

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/example/workspace/store"
)

const (
	goroutines      = 8
	opsEach         = 25
	bootstrapRounds = 4
)

// testConcurrentTasks has goroutines create, update and delete tasks of their
// own in shared projects while a reader lists, then checks that the store
// holds exactly what was acknowledged. The reader checks that a page and its
// total come from the same moment: with a page large enough for everything,
// they must agree.
func testConcurrentTasks(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	var projects []store.Project
	for i := range 3 {
		projects = append(projects, mustProject(t, s, ws.ID, fmt.Sprintf("proj_%d", i), at(i)))
	}

	// Each goroutine owns its tasks, so what it was told is the final state
	// of exactly those tasks.
	kept := make([]map[string]store.Task, goroutines)
	deleted := make([][]string, goroutines)
	var writers sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		writers.Go(func() {
			mine := map[string]store.Task{}
			<-start
			id := func(i int) string { return fmt.Sprintf("task_g%dn%02d", g, i) }
			for i := range opsEach {
				task := newTask(ws.ID, projects[(g+i)%3].ID, id(i), "todo", at(g*100+i))
				if i%2 == 0 {
					task.DueAt = nil
				}
				if err := s.CreateTask(ctx, task); err != nil {
					t.Errorf("CreateTask(%s): %v", task.ID, err)
					return
				}
				mine[task.ID] = task
				if i%3 == 2 {
					prev := id(i - 1)
					got, err := s.UpdateTask(ctx, ws.ID, prev, func(cur *store.Task) error {
						cur.ProjectID = projects[(g+i+1)%3].ID
						cur.Title = "Updated " + prev
						cur.Status = "done"
						cur.CompletedAt = ptr(at(10_000 + g*100 + i))
						cur.UpdatedAt = at(20_000 + g*100 + i)
						return nil
					})
					if err != nil {
						t.Errorf("UpdateTask(%s): %v", prev, err)
						return
					}
					mine[prev] = got
				}
				if i%4 == 3 {
					victim := id(i - 2)
					if err := s.DeleteTask(ctx, ws.ID, victim); err != nil {
						t.Errorf("DeleteTask(%s): %v", victim, err)
						return
					}
					delete(mine, victim)
					deleted[g] = append(deleted[g], victim)
				}
			}
			kept[g] = mine
		})
	}

	done := make(chan struct{})
	var readers sync.WaitGroup
	reads := make([]int, 2)
	for r := range reads {
		readers.Go(func() {
			for {
				f := store.TaskFilter{}
				if r == 1 {
					f.ProjectID = projects[reads[r]%3].ID
				}
				got, total, err := s.ListTasks(ctx, ws.ID, f, store.Page{Limit: goroutines * opsEach})
				if err != nil {
					t.Errorf("ListTasks(%+v) during writes: %v", f, err)
					return
				}
				if len(got) != total {
					t.Errorf("ListTasks(%+v) during writes: %d tasks but total %d", f, len(got), total)
					return
				}
				reads[r]++
				select {
				case <-done:
					return
				default:
				}
			}
		})
	}
	close(start)
	writers.Wait()
	close(done)
	readers.Wait()
	if t.Failed() {
		return
	}

	var want []store.Task
	for g := range goroutines {
		for _, task := range kept[g] {
			want = append(want, task)
		}
	}
	got, total, err := s.ListTasks(ctx, ws.ID, store.TaskFilter{}, store.Page{Limit: 1000})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	if total != len(want) {
		t.Errorf("ListTasks: total %d, want %d", total, len(want))
	}
	checkRecords(t, "tasks after the concurrent writes", got, newestFirst(want, taskKey), taskID, checkTask)
	for _, p := range projects {
		var inProject []store.Task
		for _, task := range want {
			if task.ProjectID == p.ID {
				inProject = append(inProject, task)
			}
		}
		got, total, err := s.ListTasks(ctx, ws.ID, store.TaskFilter{ProjectID: p.ID}, store.Page{Limit: 1000})
		if err != nil {
			t.Fatalf("ListTasks(%s): %v", p.ID, err)
		}
		if total != len(inProject) {
			t.Errorf("ListTasks(%s): total %d, want %d", p.ID, total, len(inProject))
		}
		checkRecords(t, "tasks of "+p.ID, got, newestFirst(inProject, taskKey), taskID, checkTask)
	}
	// Paged, the same records in the same order, with the same total.
	checkPages(t, "ListTasks pages after the concurrent writes", mapIDs(newestFirst(want, taskKey), taskID), func(pg store.Page) ([]string, int, error) {
		got, total, err := s.ListTasks(ctx, ws.ID, store.TaskFilter{}, pg)
		return mapIDs(got, taskID), total, err
	})
	for _, task := range want {
		got, err := s.GetTask(ctx, ws.ID, task.ID)
		if err != nil {
			t.Fatalf("GetTask(%s): %v", task.ID, err)
		}
		checkTask(t, "GetTask", got, task)
	}
	for g := range goroutines {
		for _, id := range deleted[g] {
			_, err := s.GetTask(ctx, ws.ID, id)
			checkNotFound(t, "GetTask(deleted "+id+")", err, "task")
		}
	}
}

// testConcurrentUpdateProject increments a counter kept in a project from
// many goroutines: UpdateProject reads and writes in one transaction, so no
// increment may be lost and each must see a distinct value.
func testConcurrentUpdateProject(t *testing.T, s store.Store) {
	const each = 5
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	p := newProject(ws.ID, "proj_counter", at(0))
	p.Description = "0"
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatalf("CreateProject: %v", err)
	}

	seen := make([][]int, goroutines)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		wg.Go(func() {
			<-start
			for range each {
				got, err := s.UpdateProject(ctx, ws.ID, p.ID, func(cur *store.Project) error {
					n, err := strconv.Atoi(cur.Description)
					if err != nil {
						return err
					}
					cur.Description = strconv.Itoa(n + 1)
					return nil
				})
				if err != nil {
					t.Errorf("UpdateProject: %v", err)
					return
				}
				n, err := strconv.Atoi(got.Description)
				if err != nil {
					t.Errorf("UpdateProject returned description %q", got.Description)
					return
				}
				seen[g] = append(seen[g], n)
			}
		})
	}
	close(start)
	wg.Wait()

	var all []int
	for _, ns := range seen {
		all = append(all, ns...)
	}
	slices.Sort(all)
	for i, n := range all {
		if n != i+1 {
			t.Fatalf("UpdateProject returned counters %v, want 1 to %d once each", all, goroutines*each)
		}
	}
	got, err := s.GetProject(ctx, ws.ID, p.ID)
	if err != nil {
		t.Fatalf("GetProject: %v", err)
	}
	if want := strconv.Itoa(goroutines * each); got.Description != want {
		t.Errorf("counter = %s, want %s", got.Description, want)
	}
}

// testBootstrapConcurrent races Bootstrap calls on an empty store: exactly
// one may win, and only its workspace and key may exist afterwards.
func testBootstrapConcurrent(t *testing.T, s store.Store, round int) {
	ctx := t.Context()
	type attempt struct {
		ws  store.Workspace
		key store.APIKey
		ok  bool
		err error
	}
	attempts := make([]attempt, goroutines)
	for i := range attempts {
		ws := newWorkspace(fmt.Sprintf("ws_boot%d", i))
		attempts[i] = attempt{ws: ws, key: newKey(ws.ID, fmt.Sprintf("key_boot%d", i), at(i))}
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range attempts {
		wg.Go(func() {
			a := &attempts[i]
			<-start
			a.ok, a.err = s.Bootstrap(ctx, a.ws, a.key)
		})
	}
	close(start)
	wg.Wait()

	winners := 0
	for i, a := range attempts {
		if a.err != nil {
			t.Errorf("round %d: Bootstrap #%d: %v", round, i, a.err)
			continue
		}
		if !a.ok {
			checkNothingBootstrapped(t, s, a.ws, a.key)
			continue
		}
		winners++
		k, ws, err := s.LookupAPIKey(ctx, a.key.Hash)
		if err != nil {
			t.Errorf("LookupAPIKey(winner's key): %v", err)
			continue
		}
		checkKey(t, "winner's key", k, a.key)
		checkWorkspace(t, "winner's workspace", ws, a.ws)
	}
	if winners != 1 {
		t.Errorf("round %d: %d of %d concurrent Bootstrap calls reported true, want exactly 1", round, winners, goroutines)
	}
}

// testConcurrentOnce races goroutines on the same records: each task is
// deleted by exactly one of them, every revocation of a key returns the same
// first time, and concurrent touches leave the latest time, whatever the
// order in which they reach the store.
func testConcurrentOnce(t *testing.T, s store.Store) {
	const tasks = 10
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	p := mustProject(t, s, ws.ID, "proj_1", at(0))
	for i := range tasks {
		mustTask(t, s, ws.ID, p.ID, fmt.Sprintf("task_%02d", i), "todo", at(i))
	}
	k := mustKey(t, s, ws.ID, "key_1", at(0))

	deletedBy := make([][]int, goroutines)
	revokedAt := make([]store.APIKey, goroutines)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		wg.Go(func() {
			<-start
			if err := s.TouchAPIKey(ctx, k.ID, at(1000+g)); err != nil {
				t.Errorf("TouchAPIKey: %v", err)
			}
			got, err := s.RevokeAPIKey(ctx, ws.ID, k.ID, at(2000+g))
			if err != nil {
				t.Errorf("RevokeAPIKey: %v", err)
			}
			revokedAt[g] = got
			for i := range tasks {
				err := s.DeleteTask(ctx, ws.ID, fmt.Sprintf("task_%02d", i))
				if err == nil {
					deletedBy[g] = append(deletedBy[g], i)
					continue
				}
				checkNotFound(t, "DeleteTask(deleted by another goroutine)", err, "task")
			}
		})
	}
	close(start)
	wg.Wait()

	deletions := make([]int, tasks)
	for _, is := range deletedBy {
		for _, i := range is {
			deletions[i]++
		}
	}
	for i, n := range deletions {
		if n != 1 {
			t.Errorf("task_%02d: %d concurrent DeleteTask calls succeeded, want 1", i, n)
		}
	}
	stored, err := s.GetAPIKey(ctx, k.ID)
	if err != nil {
		t.Fatalf("GetAPIKey: %v", err)
	}
	if stored.RevokedAt == nil {
		t.Fatal("key not revoked")
	}
	for g, got := range revokedAt {
		if got.RevokedAt == nil || !got.RevokedAt.Equal(*stored.RevokedAt) {
			t.Errorf("RevokeAPIKey #%d returned RevokedAt %v, but %v is stored", g, got.RevokedAt, stored.RevokedAt)
		}
	}
	if want := at(1000 + goroutines - 1); stored.LastUsedAt == nil || !stored.LastUsedAt.Equal(want) {
		t.Errorf("LastUsedAt after concurrent touches = %v, want the latest, %v", stored.LastUsedAt, want)
	}
}

// testConcurrentProjects has goroutines create, rename and delete projects of
// their own while readers walk the list page by page; then the total, every
// page and every record must be what the writers were acknowledged.
func testConcurrentProjects(t *testing.T, s store.Store) {
	ctx := t.Context()
	ws := mustWorkspace(t, s, "ws_A")
	kept := make([]map[string]store.Project, goroutines)
	var deleted []string
	var mu sync.Mutex
	var writers sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		writers.Go(func() {
			mine := map[string]store.Project{}
			<-start
			for i := range opsEach {
				p := newProject(ws.ID, fmt.Sprintf("proj_g%dn%02d", g, i), at(g*1000+i))
				if err := s.CreateProject(ctx, p); err != nil {
					t.Errorf("CreateProject(%s): %v", p.ID, err)
					return
				}
				mine[p.ID] = p
				if i%3 == 1 {
					got, err := s.UpdateProject(ctx, ws.ID, p.ID, func(cur *store.Project) error {
						cur.Name = "Renamed " + cur.ID
						cur.UpdatedAt = at(50_000 + g*1000 + i)
						return nil
					})
					if err != nil {
						t.Errorf("UpdateProject(%s): %v", p.ID, err)
						return
					}
					mine[p.ID] = got
				}
				if i%4 == 2 {
					victim := fmt.Sprintf("proj_g%dn%02d", g, i-1)
					if err := s.DeleteProject(ctx, ws.ID, victim); err != nil {
						t.Errorf("DeleteProject(%s): %v", victim, err)
						return
					}
					delete(mine, victim)
					mu.Lock()
					deleted = append(deleted, victim)
					mu.Unlock()
				}
			}
			kept[g] = mine
		})
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			// A page and its total come from one snapshot: a full page
			// lies within the total, and a short one ends exactly at it.
			// (Pages apart may disagree: the list changes between them.)
			for offset := 0; ; offset += 7 {
				got, total, err := s.ListProjects(ctx, ws.ID, store.ProjectFilter{}, store.Page{Limit: 7, Offset: offset})
				if err != nil {
					t.Errorf("ListProjects during writes: %v", err)
					return
				}
				if len(got) > 7 || len(got) == 7 && offset+7 > total || len(got) > 0 && len(got) < 7 && offset+len(got) != total {
					t.Errorf("ListProjects during writes at %d: %d records, total %d", offset, len(got), total)
					return
				}
				if len(got) < 7 {
					break
				}
			}
			select {
			case <-done:
				return
			default:
			}
		}
	})
	close(start)
	writers.Wait()
	close(done)
	readers.Wait()
	if t.Failed() {
		return
	}
	var want []store.Project
	for g := range goroutines {
		for _, p := range kept[g] {
			want = append(want, p)
		}
	}
	want = newestFirst(want, projectKey)
	checkPages(t, "ListProjects after the concurrent writes", mapIDs(want, projectID), func(pg store.Page) ([]string, int, error) {
		got, total, err := s.ListProjects(ctx, ws.ID, store.ProjectFilter{}, pg)
		return mapIDs(got, projectID), total, err
	})
	got, total, err := s.ListProjects(ctx, ws.ID, store.ProjectFilter{}, store.Page{Limit: 1000})
	if err != nil || total != len(want) {
		t.Fatalf("ListProjects: total %d, %v; want %d", total, err, len(want))
	}
	checkRecords(t, "projects after the concurrent writes", got, want, projectID, checkProject)
	for _, id := range deleted {
		_, err := s.GetProject(ctx, ws.ID, id)
		checkNotFound(t, "GetProject(deleted "+id+")", err, "project")
	}
	t.Logf("%d goroutines: %d projects acknowledged and present, %d deleted and gone", goroutines, len(want), len(deleted))
}
