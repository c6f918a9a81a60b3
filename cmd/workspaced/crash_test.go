package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/example/workspace/store/postgres/pgtest"
	_ "github.com/example/workspace/store/sqlite" // registers the "sqlite" driver for the integrity check
)

// ackedRecord is what the server last acknowledged about one record, and
// the change it was sent when the crash came, if one was in flight.
type ackedRecord struct {
	path     string         // /v1/projects/{id} or /v1/tasks/{id}
	data     map[string]any // the acknowledged data object
	inFlight map[string]any // fields of an update that got no answer
}

// crashLoad is the load driven at a server until it is killed.
type crashLoad struct {
	addr, key string
	client    *http.Client

	mu      sync.Mutex
	records map[string]*ackedRecord
	acked   atomic.Int64 // writes answered 200/201
	// reached is closed when acked reaches target.
	target  int64
	reached chan struct{}
	once    sync.Once
}

// send performs one write; ok is false if no answer came (the server died).
func (l *crashLoad) send(method, path, body string) (status int, data map[string]any, ok bool) {
	req, _ := http.NewRequest(method, "http://"+l.addr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+l.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, nil, false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, false
	}
	var env struct {
		Data map[string]any `json:"data"`
	}
	_ = json.Unmarshal(b, &env)
	return resp.StatusCode, env.Data, true
}

// worker creates a project, a task in it, completes the task and renames the
// project, over and over, recording every acknowledged state, until a request
// gets no answer.
func (l *crashLoad) worker(t *testing.T, w int, stop <-chan struct{}) {
	ack := func(path string, data map[string]any) {
		l.mu.Lock()
		l.records[path] = &ackedRecord{path: path, data: data}
		l.mu.Unlock()
		if l.acked.Add(1) == l.target {
			l.once.Do(func() { close(l.reached) })
		}
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		status, p, ok := l.send("POST", "/v1/projects", fmt.Sprintf(`{"name":"w%d p%d","description":"crash test"}`, w, i))
		if !ok {
			return
		}
		if status != 201 {
			t.Errorf("create project: %d", status)
			return
		}
		projectPath := "/v1/projects/" + p["id"].(string)
		ack(projectPath, p)

		status, task, ok := l.send("POST", "/v1/tasks", fmt.Sprintf(`{"project_id":%q,"title":"w%d t%d"}`, p["id"], w, i))
		if !ok {
			return
		}
		if status != 201 {
			t.Errorf("create task: %d", status)
			return
		}
		taskPath := "/v1/tasks/" + task["id"].(string)
		ack(taskPath, task)

		for _, u := range []struct {
			path, body string
			change     map[string]any
		}{
			{taskPath, `{"status":"completed"}`, map[string]any{"status": "completed"}},
			{projectPath, fmt.Sprintf(`{"name":"w%d p%d renamed"}`, w, i), map[string]any{"name": fmt.Sprintf("w%d p%d renamed", w, i)}},
		} {
			l.mu.Lock()
			l.records[u.path].inFlight = u.change
			l.mu.Unlock()
			status, data, ok := l.send("PATCH", u.path, u.body)
			if !ok {
				return // the change stays in flight: applied or not
			}
			if status != 200 {
				t.Errorf("update %s: %d", u.path, status)
				return
			}
			ack(u.path, data)
		}
	}
}

// crashAndCheck drives writes at a server on db, kills it with SIGKILL once
// killAfter writes have been acknowledged (with more in flight), restarts it
// and checks every acknowledged write.
func crashAndCheck(t *testing.T, db string, afterKill func()) {
	out, errOut, code := cli(t, []string{"WORKSPACE_DATABASE=" + db}, "workspaces", "create", "--name", "crash", "--plan", "enterprise")
	if code != 0 {
		t.Fatalf("workspaces create: %d %s", code, errOut)
	}
	key := strings.Fields(out)[1]
	p := startServe(t, db)

	const workers, killAfter = 8, 300
	l := &crashLoad{addr: p.httpAddr, key: key, client: &http.Client{Timeout: 30 * time.Second},
		records: map[string]*ackedRecord{}, target: killAfter, reached: make(chan struct{})}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { l.worker(t, w, stop) })
	}
	// Kill once enough writes are acknowledged; the workers are mid-request.
	select {
	case <-l.reached:
	case err := <-p.done:
		t.Fatalf("server exited under load: %v\n%s", err, p.log())
	case <-time.After(2 * time.Minute):
		t.Fatalf("only %d writes acknowledged in 2 minutes", l.acked.Load())
	}
	if err := p.cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown at all
		t.Fatal(err)
	}
	<-p.done
	close(stop)
	wg.Wait()
	ackedAtKill := l.acked.Load()
	if afterKill != nil {
		afterKill()
	}

	again := startServe(t, db)
	l.addr = again.httpAddr
	present, uncertain := 0, 0
	for path, rec := range l.records {
		status, data, ok := l.send("GET", path, "")
		if !ok || status != 200 {
			t.Errorf("%s: acknowledged, but after the crash: %d", path, status)
			continue
		}
		if rec.inFlight == nil {
			if !reflect.DeepEqual(data, rec.data) {
				t.Errorf("%s: after the crash %v, acknowledged %v", path, data, rec.data)
				continue
			}
			present++
			continue
		}
		// An update was in flight: the record is as acknowledged, or has
		// exactly that change on top (committed, answer lost).
		uncertain++
		if reflect.DeepEqual(data, rec.data) {
			continue
		}
		for k, v := range rec.inFlight {
			if data[k] != v {
				t.Errorf("%s: after the crash %v, neither the acknowledged %v nor it with %v", path, data, rec.data, rec.inFlight)
			}
		}
		for _, k := range []string{"id", "created_at", "project_id", "title", "description"} {
			if rec.data[k] != nil && data[k] != rec.data[k] {
				t.Errorf("%s: %s changed from %v to %v", path, k, rec.data[k], data[k])
			}
		}
	}
	t.Logf("SIGKILL after %d acknowledged writes (%d workers, creates and updates of projects and tasks): %d records, %d present exactly as acknowledged, %d with an update in flight at the kill (as acknowledged or with that update), %d missing or different",
		ackedAtKill, workers, len(l.records), present, uncertain, len(l.records)-present-uncertain)
	again.stop(t, syscall.SIGTERM)
}

func TestCrashDurabilitySQLite(t *testing.T) {
	db := t.TempDir() + "/crash.db"
	check := func(when string) {
		conn, err := sql.Open("sqlite", "file:"+db)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var result string
		if err := conn.QueryRowContext(context.Background(), "PRAGMA integrity_check").Scan(&result); err != nil {
			t.Fatalf("integrity_check %s: %v", when, err)
		}
		if result != "ok" {
			t.Errorf("PRAGMA integrity_check %s: %q", when, result)
		}
		var fk bytes.Buffer
		rows, err := conn.QueryContext(context.Background(), "PRAGMA foreign_key_check")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			fk.WriteString("violation;")
		}
		rows.Close()
		if fk.Len() > 0 {
			t.Errorf("PRAGMA foreign_key_check %s: %s", when, fk.String())
		}
		t.Logf("PRAGMA integrity_check %s: %s; foreign_key_check: clean", when, result)
	}
	crashAndCheck(t, db, func() { check("after SIGKILL") })
	check("after restart and shutdown")
}

func TestCrashDurabilityPostgres(t *testing.T) {
	crashAndCheck(t, pgtest.NewDatabase(t), nil)
}
