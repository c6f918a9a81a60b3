// Command workspace-bench measures the Workspace API under load against two
// baselines it runs itself — a bare net/http JSON handler and a bare grpc-go
// handler — and prints every result as a ratio to its baseline. Its pages
// mode (`workspace-bench pages`, pages.go) measures one page of tasks in
// workspaces of 20 to a million tasks; its watch mode (`workspace-bench
// watch`, watch.go) the event stream's delivery latency and memory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "workspace-bench:", err)
		os.Exit(1)
	}
}

type options struct {
	duration    time.Duration
	warmup      time.Duration
	concurrency int
	grpcConns   int
	workspaces  int
	scenarios   []string
	surfaces    []string
	runs        int
	pin         bool

	// A server already running, instead of one the tool starts.
	httpTarget string
	grpcTarget string
	database   string // its database, for seeding workspaces and keys
	workspaced string // binary to start; built from the repo when empty
}

var (
	// defaultScenarios run unless --scenarios says otherwise.
	defaultScenarios = []string{"get-project", "list-tasks", "create-task", "update-task", "mixed"}
	// allScenarios adds those run on request: list-tasks-cursor, the page
	// after a cursor (limit 10, after the first 10 of a tenant's 20 tasks),
	// and status-task, an update that always changes a task's status (and so
	// its counters), where the seed's update-task sets "completed" again and
	// again.
	allScenarios = append(slices.Clone(defaultScenarios), "list-tasks-cursor", "status-task")
)

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) > 0 && args[0] == "baseline" {
		// Internal: the tool re-executes itself to run a baseline server in a
		// process of its own, pinned like the real one.
		return serveBaseline(ctx, args[1:])
	}
	if len(args) > 0 && args[0] == "pages" {
		return runPages(ctx, args[1:], out)
	}
	if len(args) > 0 && args[0] == "watch" {
		return runWatch(ctx, args[1:], out)
	}
	var o options
	fs := flag.NewFlagSet("workspace-bench", flag.ContinueOnError)
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured time per scenario")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured time before each scenario")
	fs.IntVar(&o.concurrency, "c", 50, "concurrent requests (REST: keep-alive HTTP/1.1 connections)")
	fs.IntVar(&o.grpcConns, "grpc-conns", 4, "gRPC connections the concurrent streams share")
	fs.IntVar(&o.workspaces, "workspaces", 1500, "enterprise workspaces to spread load over (1,000 requests a minute each)")
	scen := fs.String("scenarios", strings.Join(defaultScenarios, ","), "scenarios to run: "+strings.Join(allScenarios, ", "))
	surf := fs.String("surfaces", "rest,grpc", "surfaces to load: rest, grpc")
	fs.IntVar(&o.runs, "runs", 1, "repeat the whole measurement this many times")
	fs.BoolVar(&o.pin, "pin", true, "pin the server to core 0 and the load to the last core (taskset)")
	fs.StringVar(&o.httpTarget, "http-target", "", "REST base URL of a running server (e.g. http://127.0.0.1:8080); default: start one")
	fs.StringVar(&o.grpcTarget, "grpc-target", "", "gRPC address of that running server")
	fs.StringVar(&o.database, "database", "", "the running server's --database, to create the benchmark's workspaces in")
	fs.StringVar(&o.workspaced, "workspaced", "", "workspaced binary to start (default: go build ./cmd/workspaced)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.scenarios = strings.Split(*scen, ",")
	o.surfaces = strings.Split(*surf, ",")
	for _, s := range o.scenarios {
		if !contains(allScenarios, s) {
			return fmt.Errorf("unknown scenario %q", s)
		}
	}
	if (o.httpTarget == "") != (o.database == "") && o.httpTarget != "" {
		return errors.New("--http-target needs --database (to create the benchmark's workspaces) and --grpc-target")
	}

	b, err := newBench(ctx, o, out)
	if err != nil {
		return err
	}
	defer b.close()
	for i := 0; i < o.runs; i++ {
		if o.runs > 1 {
			fmt.Fprintf(out, "\n### run %d of %d\n", i+1, o.runs)
		}
		if err := b.measure(ctx); err != nil {
			return err
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// pinning reports whether taskset can pin processes, and pins this process
// (the load) to the last core so that the server can have core 0.
func pinSelf(pin bool) (bool, string) {
	if !pin {
		return false, "not pinned (--pin=false): server and load share the cores"
	}
	if _, err := exec.LookPath("taskset"); err != nil || runtime.NumCPU() < 2 {
		return false, "taskset not found or one core only: server and load share the cores"
	}
	core := fmt.Sprint(runtime.NumCPU() - 1)
	if err := exec.Command("taskset", "-a", "-p", "-c", core, fmt.Sprint(os.Getpid())).Run(); err != nil {
		return false, "taskset failed (" + err.Error() + "): server and load share the cores"
	}
	runtime.GOMAXPROCS(1)
	return true, "server pinned to core 0, load to core " + core + " (taskset)"
}
