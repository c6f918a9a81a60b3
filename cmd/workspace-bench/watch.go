package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/example/workspace/server"
	"github.com/example/workspace/service/admin"
)

// The watch mode measures the event stream: `workspace-bench watch`.
//
//   - commit-to-delivery latency, p50 and p99, of SSE watchers of one
//     workspace (1 and 1,000 of them) on one server over SQLite: from the
//     moment the writer sends the write (its commit follows within the
//     write's own round trip, reported beside it) to the moment a watcher
//     has read the event off its stream (one machine, one clock; the API's
//     timestamps are whole seconds, too coarse to start from);
//   - the same with the watchers on a second server over the same
//     PostgreSQL database as the writer's server (--postgres), so that each
//     event crosses replicas by LISTEN/NOTIFY;
//   - the server's memory per idle watcher: its heap (go_memstats_heap_alloc_bytes
//     on /metrics, after the watchers' streams have settled) and its resident
//     set (VmRSS) before and after opening the watchers, divided by their
//     number.
//
// The writes go one at a time, --interval apart, so that the latency is the
// stream's and not a queue of writes.

type watchOptions struct {
	watchers   []int
	events     int
	interval   time.Duration
	postgres   string
	workspaced string
	pin        bool
}

func runWatch(ctx context.Context, args []string, out io.Writer) error {
	var o watchOptions
	fs := flag.NewFlagSet("workspace-bench watch", flag.ContinueOnError)
	counts := fs.String("watchers", "1,1000", "numbers of concurrent SSE watchers of the one workspace")
	fs.IntVar(&o.events, "events", 200, "events written per measurement")
	fs.DurationVar(&o.interval, "interval", 20*time.Millisecond, "pause between two writes")
	fs.StringVar(&o.postgres, "postgres", "", "an empty PostgreSQL database's URL: also measure across two replicas on it")
	fs.StringVar(&o.workspaced, "workspaced", "", "workspaced binary (default: go build ./cmd/workspaced)")
	fs.BoolVar(&o.pin, "pin", true, "pin the servers to core 0 and the load to the last core (taskset)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, s := range strings.Split(*counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 1000 {
			return fmt.Errorf("watch: bad watcher count %q (1 to 1000: the enterprise plan's bound)", s)
		}
		o.watchers = append(o.watchers, n)
	}
	b := &bench{o: options{workspaced: o.workspaced}, out: out}
	var note string
	b.pinned, note = pinSelf(o.pin)
	fmt.Fprintln(out, "# workspace-bench watch:", note)
	var err error
	if b.dir, err = os.MkdirTemp("", "workspace-bench-"); err != nil {
		return err
	}
	defer b.close()
	bin, err := b.binary(ctx)
	if err != nil {
		return err
	}

	// One server over SQLite.
	db := filepath.Join(b.dir, "watch.db")
	if _, err := enterpriseWorkspace(ctx, db); err != nil { // creates the database
		return err
	}
	srv, err := b.startWorkspaced(ctx, bin, db)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n## one server, SQLite\n\n%s", watchHeader)
	for _, n := range o.watchers {
		ws, err := enterpriseWorkspace(ctx, db)
		if err != nil {
			return err
		}
		r, err := measureWatch(ctx, srv, srv, ws, n, o)
		if err != nil {
			return err
		}
		r.print(out)
	}
	if o.postgres == "" {
		return nil
	}

	// Two replicas on one PostgreSQL: writes through the first, watchers on
	// the second.
	if _, err := enterpriseWorkspace(ctx, o.postgres); err != nil { // migrates the database
		return err
	}
	writer, err := b.startWorkspaced(ctx, bin, o.postgres)
	if err != nil {
		return err
	}
	reader, err := b.startWorkspaced(ctx, bin, o.postgres)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n## two replicas, PostgreSQL (written on one, watched on the other)\n\n%s", watchHeader)
	for _, n := range o.watchers {
		ws, err := enterpriseWorkspace(ctx, o.postgres)
		if err != nil {
			return err
		}
		r, err := measureWatch(ctx, writer, reader, ws, n, o)
		if err != nil {
			return err
		}
		r.print(out)
	}
	return nil
}

// watched is the workspace a measurement's watchers follow.
type watched struct {
	key  string
	head int64 // its log's last seq when created
}

// enterpriseWorkspace creates an enterprise workspace (1,000 streams, 1,000
// requests a minute) in the database, through the CLI's operations (as
// another process, which the servers' polls notice), one per measurement so
// that each has its whole minute of requests.
func enterpriseWorkspace(ctx context.Context, database string) (watched, error) {
	st, err := server.OpenStore(ctx, database)
	if err != nil {
		return watched{}, err
	}
	defer st.Close()
	c, err := admin.New(st, time.Now).CreateWorkspace(ctx, admin.WorkspaceSpec{Name: "watch bench", Plan: "enterprise", KeyName: "bench"})
	if err != nil {
		return watched{}, err
	}
	head, err := st.EventHead(ctx, c.Workspace.ID)
	if err != nil {
		return watched{}, err
	}
	return watched{key: c.Secret, head: head.LastSeq}, nil
}

// binary returns the workspaced to run, built from the tree if not given.
func (b *bench) binary(ctx context.Context) (string, error) {
	if b.o.workspaced != "" {
		return b.o.workspaced, nil
	}
	bin := filepath.Join(b.dir, "workspaced")
	fmt.Fprintln(b.out, "# building ./cmd/workspaced")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/workspaced")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building workspaced (run from the repository root, or pass --workspaced): %w", err)
	}
	b.o.workspaced = bin
	return bin, nil
}

// watchServer is a running workspaced.
type watchServer struct {
	proc
	httpURL, adminURL string
}

var servingAdmin = regexp.MustCompile(`msg=serving http=(\S+) grpc=\S+ admin=(\S+)`)

func (b *bench) startWorkspaced(ctx context.Context, bin, database string) (*watchServer, error) {
	cmd := b.pinnedCommand(bin, "serve", "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--database", database)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &watchServer{proc: proc{cmd: cmd, pid: cmd.Process.Pid}}
	b.extra = append(b.extra, &s.proc)
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		if m := servingAdmin.FindStringSubmatch(lines.Text()); m != nil {
			s.httpURL, s.adminURL = "http://"+m[1], "http://"+m[2]
			break
		}
	}
	if s.httpURL == "" {
		return nil, errors.New("workspaced did not start")
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	return s, nil
}

type watchResult struct {
	watchers, events    int
	p50, p99, max       time.Duration
	heapPer, rssPer     float64
	writeP50            time.Duration
	missing, duplicates int
}

func (r watchResult) print(out io.Writer) {
	fmt.Fprintf(out, "| %d | %d | %s | %s | %s | %s | %s | %s |\n", r.watchers, r.events, ms(r.writeP50), ms(r.p50), ms(r.p99), ms(r.max), kib(r.heapPer), kib(r.rssPer))
	if r.missing > 0 || r.duplicates > 0 {
		fmt.Fprintf(out, "|   | **%d deliveries missing, %d repeated** | | | | | | |\n", r.missing, r.duplicates)
	}
}

const watchHeader = "| watchers | events | write round trip p50 | send → delivery p50 | p99 | max | server heap / idle watcher | server RSS / idle watcher |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n"

func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }

// measureWatch opens n SSE watchers on reader, writes o.events projects
// through writer, and measures each delivery.
func measureWatch(ctx context.Context, writer, reader *watchServer, ws watched, n int, o watchOptions) (watchResult, error) {
	key := ws.key
	res := watchResult{watchers: n, events: o.events}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	heap0, rss0, err := serverMemory(ctx, reader)
	if err != nil {
		return res, err
	}
	// The watchers start after the log's present end.
	after := ws.head
	write := func() (int64, error) {
		req, _ := http.NewRequestWithContext(ctx, "POST", writer.httpURL+"/v1/projects", strings.NewReader(`{"name":"watched"}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			return 0, fmt.Errorf("write: %d", resp.StatusCode)
		}
		return strconv.ParseInt(resp.Header.Get("X-Event-Seq"), 10, 64)
	}

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type delivery struct {
		seq int64
		at  time.Time
	}
	results := make([][]delivery, n)
	lastSeen := make([]atomic.Int64, n) // progress, read while they run
	var wg sync.WaitGroup
	opened := make(chan error, n)
	var resetAt time.Time
	var resetMu sync.Mutex
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(wctx, "GET", reader.httpURL+"/v1/events/stream?after="+strconv.FormatInt(after, 10), nil)
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := client.Do(req)
			if err != nil {
				opened <- err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				b, _ := io.ReadAll(resp.Body)
				opened <- fmt.Errorf("stream %d: %d %s", i, resp.StatusCode, b)
				return
			}
			if rem, _ := strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining")); rem < o.events+10 {
				reset, _ := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
				resetMu.Lock()
				if t := time.Unix(reset, 0); t.After(resetAt) {
					resetAt = t
				}
				resetMu.Unlock()
			}
			opened <- nil
			r := bufio.NewReader(resp.Body)
			var seq int64
			for {
				line, err := r.ReadSlice('\n')
				if err != nil {
					return
				}
				switch {
				case len(line) > 4 && string(line[:4]) == "id: ":
					seq, _ = strconv.ParseInt(strings.TrimSpace(string(line[4:])), 10, 64)
				case len(line) > 6 && string(line[:6]) == "data: ":
					results[i] = append(results[i], delivery{seq: seq, at: time.Now()})
					lastSeen[i].Store(seq)
				}
			}
		}(i)
	}
	for i := 0; i < n; i++ {
		if err := <-opened; err != nil {
			cancel()
			wg.Wait()
			return res, err
		}
	}
	// The idle watchers' cost, once the streams have settled.
	time.Sleep(2 * time.Second)
	heap1, rss1, err := serverMemory(ctx, reader)
	if err != nil {
		return res, err
	}
	res.heapPer, res.rssPer = float64(heap1-heap0)/float64(n), float64(rss1-rss0)/float64(n)
	// Opening the watchers used the minute's requests: wait for the next.
	if !resetAt.IsZero() {
		time.Sleep(time.Until(resetAt) + 100*time.Millisecond)
	}

	var seqs []int64
	sentAt := map[int64]time.Time{}
	var rtts []time.Duration
	for i := 0; i < o.events; i++ {
		start := time.Now()
		seq, err := write()
		if err != nil {
			return res, err
		}
		rtts = append(rtts, time.Since(start))
		seqs = append(seqs, seq)
		sentAt[seq] = start
		time.Sleep(o.interval)
	}
	// Every watcher gets every event, or the wait ends.
	last := seqs[len(seqs)-1]
	deadline := time.Now().Add(30 * time.Second)
	for {
		done := 0
		for i := range lastSeen {
			if lastSeen[i].Load() >= last {
				done++
			}
		}
		if done == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	var lats []time.Duration
	for i := range results {
		seen := map[int64]bool{}
		for _, d := range results[i] {
			if seen[d.seq] {
				res.duplicates++
			}
			seen[d.seq] = true
			if t, ok := sentAt[d.seq]; ok {
				lats = append(lats, d.at.Sub(t))
			}
		}
		for s := range sentAt {
			if !seen[s] {
				res.missing++
			}
		}
	}
	slices.Sort(rtts)
	res.writeP50 = rtts[len(rtts)/2]
	slices.Sort(lats)
	if len(lats) > 0 {
		res.p50, res.p99, res.max = lats[len(lats)/2], lats[len(lats)*99/100], lats[len(lats)-1]
	}
	return res, nil
}

// serverMemory reads the server's heap (its /metrics) and resident set.
func serverMemory(ctx context.Context, s *watchServer) (heap, rss int64, err error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", s.adminURL+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_alloc_bytes "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			heap = int64(f)
		}
	}
	rss, err = currentRSS(s.pid)
	return heap, rss, err
}
