package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
)

// TestGracefulShutdownUnderLoad sends SIGTERM while REST and gRPC clients
// keep the server busy. The clients act as a load balancer would: they stop
// starting requests once health says NOT_SERVING. Every request they started
// must succeed, the shutdown must go NOT_SERVING → HTTP drained → gRPC
// drained → store closed, and the process must exit cleanly within its drain
// delay and timeout.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	const (
		drainDelay      = 500 * time.Millisecond
		shutdownTimeout = 10 * time.Second
		restWorkers     = 4
		grpcWorkers     = 4
		termAfter       = 150 // requests answered before SIGTERM
	)
	db := t.TempDir() + "/shutdown.db"
	out, errOut, code := cli(t, []string{"WORKSPACE_DATABASE=" + db}, "workspaces", "create", "--name", "load", "--plan", "enterprise")
	if code != 0 {
		t.Fatalf("workspaces create: %d %s", code, errOut)
	}
	key := strings.Fields(out)[1]
	p := launch(t, []string{"WORKSPACE_DATABASE=" + db},
		"--shutdown-timeout", shutdownTimeout.String(), "--drain-delay", drainDelay.String())
	p.wait(t)

	conn, err := grpc.NewClient(p.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	watch, err := health.Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if first, err := watch.Recv(); err != nil || first.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health Watch first status: %v %v, want SERVING", first, err)
	}
	notServing := make(chan time.Time, 1)
	go func() {
		for {
			r, err := watch.Recv()
			if err != nil {
				return // the stream ends when the server drains
			}
			if r.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
				notServing <- time.Now()
				return
			}
		}
	}()

	var stopped atomic.Bool // set when NOT_SERVING is seen: start nothing new
	var answered, failed, spanning atomic.Int64
	var sigAt atomic.Int64 // unix nanos of SIGTERM
	enough := make(chan struct{})
	var enoughOnce sync.Once
	record := func(startedAt time.Time, err error) {
		if err != nil {
			failed.Add(1)
			t.Errorf("request failed during shutdown: %v", err)
			return
		}
		if s := sigAt.Load(); s != 0 && startedAt.UnixNano() < s {
			spanning.Add(1) // started before SIGTERM, answered after
		}
		if answered.Add(1) == termAfter {
			enoughOnce.Do(func() { close(enough) })
		}
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+key)
	client := &http.Client{Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	for w := range restWorkers {
		wg.Go(func() {
			for i := 0; !stopped.Load(); i++ {
				start := time.Now()
				var req *http.Request
				if i%2 == 0 {
					req, _ = http.NewRequest("POST", "http://"+p.httpAddr+"/v1/projects", strings.NewReader(fmt.Sprintf(`{"name":"rest %d %d"}`, w, i)))
				} else {
					req, _ = http.NewRequest("GET", "http://"+p.httpAddr+"/v1/projects?limit=50", nil)
				}
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 && resp.StatusCode != 201 {
						err = fmt.Errorf("REST %s: %d", req.Method, resp.StatusCode)
					}
				}
				record(start, err)
			}
		})
	}
	projects := workspacev1.NewProjectServiceClient(conn)
	for w := range grpcWorkers {
		wg.Go(func() {
			for i := 0; !stopped.Load(); i++ {
				start := time.Now()
				var err error
				if i%2 == 0 {
					_, err = projects.CreateProject(ctx, &workspacev1.CreateProjectRequest{Name: fmt.Sprintf("grpc %d %d", w, i)})
				} else {
					_, err = projects.ListProjects(ctx, &workspacev1.ListProjectsRequest{})
				}
				record(start, err)
			}
		})
	}

	select {
	case <-enough:
	case <-time.After(2 * time.Minute):
		t.Fatalf("only %d requests answered in 2 minutes", answered.Load())
	}
	// One more request is in flight through the whole drain: its body is
	// held back until the HTTP server has started draining, and its create
	// then runs through gRPC, which must still be up.
	bodyR, bodyW := io.Pipe()
	slowDone := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+p.httpAddr+"/v1/projects", bodyR)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 201 {
				err = fmt.Errorf("held request: %d %s", resp.StatusCode, b)
			}
		}
		slowDone <- err
	}()
	if _, err := io.WriteString(bodyW, `{"name":"held through`); err != nil {
		t.Fatal(err)
	}
	sigAt.Store(time.Now().UnixNano())
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var seen time.Time
	select {
	case seen = <-notServing:
	case <-time.After(shutdownTimeout):
		t.Fatalf("health did not turn NOT_SERVING after SIGTERM")
	}
	stopped.Store(true)
	// During the drain delay the server still answers, and says NOT_SERVING.
	if r, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health Check during the drain: %v %v, want NOT_SERVING", r, err)
	}
	wg.Wait()
	p.waitLog(t, "shutting down: draining HTTP", drainDelay+shutdownTimeout)
	if _, err := io.WriteString(bodyW, ` the drain"}`); err != nil {
		t.Errorf("finishing the held request's body: %v", err)
	}
	bodyW.Close()
	if err := <-slowDone; err != nil {
		failed.Add(1)
		t.Errorf("request in flight through the HTTP drain: %v", err)
	} else {
		spanning.Add(1)
	}
	var exitErr error
	select {
	case exitErr = <-p.done:
	case <-time.After(drainDelay + shutdownTimeout + 5*time.Second):
		t.Fatalf("still running %v after SIGTERM", time.Since(sent))
	}
	exitAfter := time.Since(sent)
	if exitErr != nil {
		t.Errorf("exit after SIGTERM: %v, want a clean exit\n%s", exitErr, p.log())
	}
	if exitAfter > drainDelay+shutdownTimeout {
		t.Errorf("exited %v after SIGTERM, over the drain delay plus timeout %v", exitAfter, drainDelay+shutdownTimeout)
	}

	// The stages, in order, and a clean store close.
	stages := []string{"shutting down: health NOT_SERVING", "shutting down: draining HTTP", "shutting down: HTTP drained, draining gRPC", "shut down: gRPC drained, store closed"}
	log := p.log()
	last := -1
	for _, s := range stages {
		i := strings.Index(log, s)
		if i < 0 || i < last {
			t.Errorf("log stage %q missing or out of order:\n%s", s, log)
		}
		last = i
	}
	t.Logf("SIGTERM after %d answered requests (%d REST + %d gRPC workers): NOT_SERVING seen after %v; %d requests answered in all, %d of them started before SIGTERM and answered after (one held open until the HTTP drain had begun); %d failed; exit %v after SIGTERM (drain delay %v, timeout %v)",
		termAfter, restWorkers, grpcWorkers, seen.Sub(sent).Round(time.Millisecond), answered.Load(), spanning.Load(), failed.Load(), exitAfter.Round(time.Millisecond), drainDelay, shutdownTimeout)
}
