package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	_ "modernc.org/sqlite" // the bare insert loop's driver

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/internal/ids"
	"github.com/example/workspace/server"
	"github.com/example/workspace/service/admin"
)

// tenant is one enterprise workspace of the benchmark and its seeded data.
type tenant struct {
	key     string
	project string
	tasks   []string
	md      context.Context // carries the key for gRPC
	task    string          // body of a create-task request
	cursor  string          // the cursor of its second page of tasks (list-tasks-cursor)
	// statusUpdates numbers the tenant's status-task requests: the n-th
	// sets task n%20 to "completed" on even rounds, "todo" on odd ones, so
	// that each one changes the status.
	statusUpdates atomic.Int64
}

type proc struct {
	cmd  *exec.Cmd
	pid  int
	addr string
}

type bench struct {
	o                  options
	out                io.Writer
	dir                string
	pinned             bool
	server             *proc // nil when targeting a running server
	httpURL            string
	grpcAdr            string
	bareHTTP, bareGRPC *proc
	tenants            []tenant
	extra              []*proc // the watch mode's servers
}

func newBench(ctx context.Context, o options, out io.Writer) (*bench, error) {
	b := &bench{o: o, out: out}
	var note string
	b.pinned, note = pinSelf(o.pin)
	fmt.Fprintln(out, "# workspace-bench:", note)
	var err error
	if b.dir, err = os.MkdirTemp("", "workspace-bench-"); err != nil {
		return nil, err
	}
	if o.httpTarget != "" {
		b.httpURL, b.grpcAdr = strings.TrimSuffix(o.httpTarget, "/"), o.grpcTarget
	} else {
		o.database = filepath.Join(b.dir, "bench.db")
		b.o.database = o.database
		if err := b.startServer(ctx); err != nil {
			b.close()
			return nil, err
		}
	}
	if b.bareHTTP, err = b.startBaseline(ctx, "http"); err != nil {
		b.close()
		return nil, err
	}
	if b.bareGRPC, err = b.startBaseline(ctx, "grpc"); err != nil {
		b.close()
		return nil, err
	}
	if err := b.seed(ctx); err != nil {
		b.close()
		return nil, err
	}
	if contains(o.scenarios, "list-tasks-cursor") {
		if err := b.seedCursors(ctx); err != nil {
			b.close()
			return nil, fmt.Errorf("seeding cursors: %w", err)
		}
	}
	return b, nil
}

// pinnedCommand runs name on core 0 when pinning is on.
func (b *bench) pinnedCommand(name string, args ...string) *exec.Cmd {
	if b.pinned {
		return exec.Command("taskset", append([]string{"-c", "0", name}, args...)...)
	}
	return exec.Command(name, args...)
}

var servingLine = regexp.MustCompile(`msg=serving http=(\S+) grpc=(\S+)`)

func (b *bench) startServer(ctx context.Context) error {
	bin := b.o.workspaced
	if bin == "" {
		bin = filepath.Join(b.dir, "workspaced")
		fmt.Fprintln(b.out, "# building ./cmd/workspaced")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/workspaced")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building workspaced (run from the repository root, or pass --workspaced): %w", err)
		}
	}
	cmd := b.pinnedCommand(bin, "serve", "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--database", b.o.database)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	b.server = &proc{cmd: cmd, pid: cmd.Process.Pid}
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		if m := servingLine.FindStringSubmatch(lines.Text()); m != nil {
			b.httpURL, b.grpcAdr = "http://"+m[1], m[2]
			break
		}
	}
	if b.httpURL == "" {
		return errors.New("workspaced did not start")
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }() // the access log
	return nil
}

func (b *bench) startBaseline(_ context.Context, kind string) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := b.pinnedCommand(self, "baseline", kind)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("baseline %s did not start: %w", kind, err)
	}
	return &proc{cmd: cmd, pid: cmd.Process.Pid, addr: strings.TrimSpace(addr)}, nil
}

// seed creates the enterprise workspaces and keys in the store with the
// CLI's operations, and their data through the public REST API: a project and 20 tasks
// each, so that a page of tasks is full.
func (b *bench) seed(ctx context.Context) error {
	start := time.Now()
	st, err := server.OpenStore(ctx, b.o.database)
	if err != nil {
		return err
	}
	b.tenants = make([]tenant, b.o.workspaces)
	ops := admin.New(st, time.Now)
	err = parallel(64, len(b.tenants), func(i int) error {
		c, err := ops.CreateWorkspace(ctx, admin.WorkspaceSpec{Name: fmt.Sprintf("bench %d", i), Plan: "enterprise", KeyName: "bench"})
		if err != nil {
			return err
		}
		b.tenants[i].key = c.Secret
		b.tenants[i].md = metadata.NewOutgoingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+c.Secret))
		return nil
	})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("seeding workspaces: %w", err)
	}
	client := newHTTPClient(b.o.concurrency)
	create := func(key, path, body string) (string, error) {
		req, _ := http.NewRequestWithContext(ctx, "POST", b.httpURL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var env struct {
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || resp.StatusCode != 201 {
			return "", fmt.Errorf("POST %s: %d %v", path, resp.StatusCode, err)
		}
		return env.Data.ID, nil
	}
	err = parallel(b.o.concurrency, len(b.tenants), func(i int) error {
		t := &b.tenants[i]
		var err error
		if t.project, err = create(t.key, "/v1/projects", `{"name":"Benchmark project"}`); err != nil {
			return err
		}
		t.task = `{"title":"Benchmark task","project_id":"` + t.project + `"}`
		for j := 0; j < 20; j++ {
			id, err := create(t.key, "/v1/tasks", t.task)
			if err != nil {
				return err
			}
			t.tasks = append(t.tasks, id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("seeding data through the API: %w", err)
	}
	fmt.Fprintf(b.out, "# seeded %d enterprise workspaces, each with a project and 20 tasks, in %v\n", len(b.tenants), time.Since(start).Round(time.Millisecond))
	return nil
}

func parallel(workers, n int, f func(i int) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// request describes one scenario's next request for a tenant.
type request struct {
	method, path, body string
	grpc               func(ctx context.Context, cc grpc.ClientConnInterface, t *tenant) error
}

func scenarioRequest(name string, t *tenant, r *rand.Rand) request {
	getProject := request{method: "GET", path: "/v1/projects/" + t.project, grpc: func(ctx context.Context, cc grpc.ClientConnInterface, t *tenant) error {
		_, err := workspacev1.NewProjectServiceClient(cc).GetProject(ctx, &workspacev1.GetProjectRequest{Id: t.project})
		return err
	}}
	listTasks := request{method: "GET", path: "/v1/tasks?limit=20", grpc: func(ctx context.Context, cc grpc.ClientConnInterface, _ *tenant) error {
		limit := int32(20)
		_, err := workspacev1.NewTaskServiceClient(cc).ListTasks(ctx, &workspacev1.ListTasksRequest{Limit: &limit})
		return err
	}}
	createTask := request{method: "POST", path: "/v1/tasks", body: t.task, grpc: func(ctx context.Context, cc grpc.ClientConnInterface, t *tenant) error {
		_, err := workspacev1.NewTaskServiceClient(cc).CreateTask(ctx, &workspacev1.CreateTaskRequest{ProjectId: t.project, Title: "Benchmark task"})
		return err
	}}
	task := t.tasks[r.IntN(len(t.tasks))]
	updateTask := request{method: "PUT", path: "/v1/tasks/" + task, body: `{"status": "completed"}`, grpc: func(ctx context.Context, cc grpc.ClientConnInterface, _ *tenant) error {
		s := "completed"
		_, err := workspacev1.NewTaskServiceClient(cc).UpdateTask(ctx, &workspacev1.UpdateTaskRequest{Id: task, Task: &workspacev1.TaskUpdate{Status: &s}})
		return err
	}}
	if name == "status-task" {
		n := t.statusUpdates.Add(1) - 1
		task, s := t.tasks[n%int64(len(t.tasks))], "completed"
		if n/int64(len(t.tasks))%2 == 1 {
			s = "todo"
		}
		return request{method: "PUT", path: "/v1/tasks/" + task, body: `{"status": "` + s + `"}`, grpc: func(ctx context.Context, cc grpc.ClientConnInterface, _ *tenant) error {
			_, err := workspacev1.NewTaskServiceClient(cc).UpdateTask(ctx, &workspacev1.UpdateTaskRequest{Id: task, Task: &workspacev1.TaskUpdate{Status: &s}})
			return err
		}}
	}
	switch name {
	case "get-project":
		return getProject
	case "list-tasks":
		return listTasks
	case "create-task":
		return createTask
	case "update-task":
		return updateTask
	case "list-tasks-cursor":
		return cursorRequest(t)
	}
	// mixed: 80% reads.
	switch n := r.IntN(10); {
	case n < 4:
		return getProject
	case n < 8:
		return listTasks
	case n < 9:
		return createTask
	}
	return updateTask
}

// dialAll opens n connections to addr, so that the load's streams spread over
// several HTTP/2 connections as many clients' would.
func dialAll(addr string, n int) ([]*grpc.ClientConn, error) {
	conns := make([]*grpc.ClientConn, 0, n)
	for i := 0; i < n; i++ {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			closeAll(conns)
			return nil, err
		}
		conns = append(conns, cc)
	}
	return conns, nil
}

func closeAll(conns []*grpc.ClientConn) {
	for _, cc := range conns {
		_ = cc.Close()
	}
}

func grpcOutcome(err error) outcome {
	switch status.Code(err) {
	case codes.OK:
		return ok
	case codes.ResourceExhausted:
		return refused
	}
	return failed
}

type row struct {
	surface, scenario string
	res               result
	ratio             float64 // to the surface's baseline; 0 for baselines
}

func (b *bench) measure(ctx context.Context) error {
	c := b.o.concurrency
	client := newHTTPClient(c)
	conns, err := dialAll(b.grpcAdr, b.o.grpcConns)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	bareConns, err := dialAll(b.bareGRPC.addr, b.o.grpcConns)
	if err != nil {
		return err
	}
	defer closeAll(bareConns)
	serverPID := 0
	if b.server != nil {
		serverPID = b.server.pid
	}
	rngs := sync.Pool{New: func() any { return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())) }}
	// pick spreads requests over the tenants in turn, so that each stays far
	// below its plan's limit.
	pick := func(scenario string, seq int64) (*tenant, request) {
		t := &b.tenants[seq%int64(len(b.tenants))]
		r := rngs.Get().(*rand.Rand)
		defer rngs.Put(r)
		return t, scenarioRequest(scenario, t, r)
	}

	var rows []row
	var bareREST, bareGRPC result
	if contains(b.o.surfaces, "rest") {
		bareURL := "http://" + b.bareHTTP.addr + "/v1/projects/x"
		bareREST = load(ctx, b.bareHTTP.pid, c, b.o.warmup, b.o.duration, func(ctx context.Context, _ int64) outcome {
			return restDo(ctx, client, "GET", bareURL, "", "")
		})
		rows = append(rows, row{surface: "rest", scenario: "baseline net/http", res: bareREST})
	}
	if contains(b.o.surfaces, "grpc") {
		bareGRPC = load(ctx, b.bareGRPC.pid, c, b.o.warmup, b.o.duration, func(ctx context.Context, seq int64) outcome {
			_, err := workspacev1.NewProjectServiceClient(bareConns[seq%int64(len(bareConns))]).GetProject(ctx, &workspacev1.GetProjectRequest{Id: "x"})
			return grpcOutcome(err)
		})
		rows = append(rows, row{surface: "grpc", scenario: "baseline grpc-go", res: bareGRPC})
	}
	for _, sc := range b.o.scenarios {
		if contains(b.o.surfaces, "rest") {
			res := load(ctx, serverPID, c, b.o.warmup, b.o.duration, func(ctx context.Context, seq int64) outcome {
				t, req := pick(sc, seq)
				return restDo(ctx, client, req.method, b.httpURL+req.path, t.key, req.body)
			})
			rows = append(rows, row{surface: "rest", scenario: sc, res: res, ratio: res.rate() / bareREST.rate()})
		}
		if contains(b.o.surfaces, "grpc") {
			res := load(ctx, serverPID, c, b.o.warmup, b.o.duration, func(ctx context.Context, seq int64) outcome {
				t, req := pick(sc, seq)
				return grpcOutcome(req.grpc(t.md, conns[seq%int64(len(conns))], t))
			})
			rows = append(rows, row{surface: "grpc", scenario: sc, res: res, ratio: res.rate() / bareGRPC.rate()})
		}
	}
	b.report(rows)

	if contains(b.o.scenarios, "create-task") && contains(b.o.surfaces, "rest") && b.server != nil {
		inserts, err := autocommitInserts(ctx, filepath.Join(b.dir, "autocommit.db"), b.o.duration)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.surface == "rest" && r.scenario == "create-task" {
				fmt.Fprintf(b.out, "\ndurable writes: REST create-task %.0f/s vs bare autocommit INSERT loop (SQLite, synchronous=FULL, same disk) %.0f/s: ratio %.2f\n",
					r.res.rate(), inserts, r.res.rate()/inserts)
			}
		}
	}
	if b.server != nil {
		if rss, err := peakRSS(b.server.pid); err == nil {
			fmt.Fprintf(b.out, "server peak RSS: %.1f MiB\n", float64(rss)/(1<<20))
		}
	}
	return nil
}

func (b *bench) report(rows []row) {
	fmt.Fprintf(b.out, "\n%d concurrent, %v measured after %v warm-up, %d workspaces\n\n", b.o.concurrency, b.o.duration, b.o.warmup, len(b.tenants))
	tw := tabwriter.NewWriter(b.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "surface\tscenario\treq/s\tratio\tp50\tp90\tp99\tmax\terrors\t429s\tCPU/req\t")
	for _, r := range rows {
		ratio := "baseline"
		if r.ratio != 0 {
			ratio = fmt.Sprintf("%.2f", r.ratio)
		}
		cpu := "-"
		if r.res.cpu > 0 {
			cpu = fmt.Sprintf("%.1fµs", float64(r.res.cpuPerRequest().Nanoseconds())/1000)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t\n", r.surface, r.scenario, r.res.rate(), ratio,
			ms(r.res.pct(0.50)), ms(r.res.pct(0.90)), ms(r.res.pct(0.99)), ms(r.res.pct(1)), r.res.errors, r.res.refused, cpu)
	}
	_ = tw.Flush()
	for _, r := range rows {
		if r.res.refused > 0 {
			fmt.Fprintln(b.out, "\nsome requests were refused by the rate limiter: raise --workspaces")
			break
		}
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

// autocommitInserts is the durable-write baseline: one INSERT per transaction,
// WAL and synchronous=FULL as the server uses, for d.
func autocommitInserts(ctx context.Context, path string, d time.Duration) (float64, error) {
	// A fresh file for each measurement, so that every run starts alike.
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, err
		}
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id TEXT PRIMARY KEY, body TEXT NOT NULL)`); err != nil {
		return 0, err
	}
	stmt, err := db.PrepareContext(ctx, `INSERT INTO t (id, body) VALUES (?, ?)`)
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	n := 0
	start := time.Now()
	for time.Since(start) < d && ctx.Err() == nil {
		if _, err := stmt.ExecContext(ctx, ids.New("task_"), `{"title":"Benchmark task"}`); err != nil {
			return 0, err
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func (b *bench) close() {
	for _, p := range append([]*proc{b.server, b.bareHTTP, b.bareGRPC}, b.extra...) {
		if p != nil {
			_ = p.cmd.Process.Signal(os.Interrupt)
			_ = p.cmd.Wait()
		}
	}
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}
