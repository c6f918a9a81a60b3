package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/sqlite"
)

// TestCrashEventLogSQLite drives concurrent task creates and updates at the
// real server on a SQLite file, kills it with SIGKILL mid-stream, restarts
// it on the file, and reads the log through the store package: every
// acknowledged write has exactly one event, every event is of a change that
// is stored, and the log is 1…n with no gap, going on after the restart.
func TestCrashEventLogSQLite(t *testing.T) {
	db := t.TempDir() + "/events.db"
	out, errOut, code := cli(t, []string{"WORKSPACE_DATABASE=" + db}, "workspaces", "create", "--name", "events", "--plan", "enterprise")
	if code != 0 {
		t.Fatalf("workspaces create: %d %s", code, errOut)
	}
	key := strings.Fields(out)[1]
	p := startServe(t, db)
	l := &crashLoad{addr: p.httpAddr, key: key, client: &http.Client{Timeout: 30 * time.Second}}

	const workers, killAfter = 8, 300
	type write struct{ typ, taskID, title string }
	var mu sync.Mutex
	var acked []write
	var n atomic.Int64
	reached := make(chan struct{})
	var once sync.Once
	ack := func(w write) {
		mu.Lock()
		acked = append(acked, w)
		mu.Unlock()
		if n.Add(1) == killAfter {
			once.Do(func() { close(reached) })
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			status, proj, ok := l.send("POST", "/v1/projects", fmt.Sprintf(`{"name":"w%d"}`, w))
			if !ok {
				return
			}
			if status != 201 {
				t.Errorf("create project: %d", status)
				return
			}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				title := fmt.Sprintf("w%d t%d", w, i)
				status, task, ok := l.send("POST", "/v1/tasks", fmt.Sprintf(`{"project_id":%q,"title":%q}`, proj["id"], title))
				if !ok {
					return
				}
				if status != 201 {
					t.Errorf("create task: %d", status)
					return
				}
				id := task["id"].(string)
				ack(write{store.EventTaskCreated, id, title})
				for u := range 2 {
					title := fmt.Sprintf("w%d t%d u%d", w, i, u)
					status, _, ok := l.send("PATCH", "/v1/tasks/"+id, fmt.Sprintf(`{"title":%q}`, title))
					if !ok {
						return
					}
					if status != 200 {
						t.Errorf("update task: %d", status)
						return
					}
					ack(write{store.EventTaskUpdated, id, title})
				}
			}
		})
	}
	select {
	case <-reached:
	case err := <-p.done:
		t.Fatalf("server exited under load: %v\n%s", err, p.log())
	case <-time.After(2 * time.Minute):
		t.Fatalf("only %d writes acknowledged in 2 minutes", n.Load())
	}
	if err := p.cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown at all
		t.Fatal(err)
	}
	<-p.done
	close(stop)
	wg.Wait()

	// Restarted on the same file, the server takes writes again.
	again := startServe(t, db)
	l.addr = again.httpAddr
	if status, _, ok := l.send("POST", "/v1/projects", `{"name":"after the crash"}`); !ok || status != 201 {
		t.Fatalf("create project after restart: %d", status)
	}
	again.stop(t, syscall.SIGTERM)

	ctx := context.Background()
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var events []store.Event
	wsID := onlyWorkspace(t, db)
	for after := int64(0); ; {
		page, total, err := st.ListEvents(ctx, wsID, store.EventFilter{After: after}, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			if total != 0 {
				t.Fatalf("empty page after %d, total %d", after, total)
			}
			break
		}
		events = append(events, page...)
		after = page[len(page)-1].Seq
	}
	count := map[write]int{}
	lastTitle := map[string]string{} // a task's title by its last event
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d: a gap or a repeat", i, e.Seq)
		}
		if e.Data.Task != nil {
			count[write{e.Type, e.Data.Task.ID, e.Data.Task.Title}]++
			lastTitle[e.Data.Task.ID] = e.Data.Task.Title
		}
	}
	for _, w := range acked {
		if c := count[w]; c != 1 {
			t.Errorf("acknowledged %s of %s (%q): %d events, want 1", w.typ, w.taskID, w.title, c)
		}
	}
	// No event without its change: each task an event names is stored as
	// its last event has it, and no stored task lacks its created event.
	for id, title := range lastTitle {
		task, err := st.GetTask(ctx, wsID, id)
		if err != nil {
			t.Errorf("task %s has events but: %v", id, err)
			continue
		}
		if task.Title != title {
			t.Errorf("task %s: stored title %q, last event's %q", id, task.Title, title)
		}
	}
	_, total, err := st.ListTasks(ctx, wsID, store.TaskFilter{}, store.Page{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if total != len(lastTitle) {
		t.Errorf("%d tasks stored, %d with events", total, len(lastTitle))
	}
	for w, c := range count {
		if c != 1 {
			t.Errorf("%s of %s (%q): %d events", w.typ, w.taskID, w.title, c)
		}
	}
	last := events[len(events)-1]
	if last.Type != store.EventProjectCreated || last.Data.Project.Name != "after the crash" {
		t.Errorf("last event %s, want the project created after the restart", last.Type)
	}
	t.Logf("SIGKILL after %d acknowledged writes (%d workers); %d events, 1…%d without a gap; %d tasks, each with its events",
		len(acked), workers, len(events), len(events), total)
}

// onlyWorkspace reads the id of the one workspace in the file.
func onlyWorkspace(t *testing.T, db string) string {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var id string
	if err := conn.QueryRow(`SELECT id FROM workspaces`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}
