package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/example/workspace/internal/ids"
	"github.com/example/workspace/server"
	"github.com/example/workspace/service/admin"
	"github.com/example/workspace/store"
)

// The pages mode measures one page of 20 tasks in workspaces of several
// sizes: `workspace-bench pages --database FILE --sizes 20,100000,1000000`.
// The workspaces are loaded once, through the store directly (the API's rate
// limit would take hours for a million tasks), into the database file given,
// and reused by every later run on it; a sidecar file FILE.pages.json
// remembers them. Then a server (--workspaced, or one built from the tree)
// serves that database and the tool sends its requests one at a time, so
// that each latency is a page's own.

// pagesWorkspace is one loaded workspace.
type pagesWorkspace struct {
	Tasks     int      `json:"tasks"`
	Workspace string   `json:"workspace"`
	Key       string   `json:"key"`
	Projects  []string `json:"projects"`
}

// pagesProjects is how many projects a loaded workspace's tasks are spread
// over, round robin, and pagesStatuses the statuses they cycle through.
const pagesProjects = 10

// pagesBatch is how many tasks one load write inserts.
const pagesBatch = 500

var pagesStatuses = []string{"todo", "in_progress", "completed"}

type pagesOptions struct {
	database    string
	sizes       []int
	samples     int
	deepSamples int
	workspaced  string
	pin         bool
	loaders     int
}

func runPages(ctx context.Context, args []string, out io.Writer) error {
	var o pagesOptions
	fs := flag.NewFlagSet("workspace-bench pages", flag.ContinueOnError)
	fs.StringVar(&o.database, "database", "", "SQLite file or postgres:// URL holding (or to hold) the loaded workspaces; required")
	sizes := fs.String("sizes", "20,100000,1000000", "workspace sizes, in tasks")
	fs.IntVar(&o.samples, "samples", 200, "requests per measured page at offset 0")
	fs.IntVar(&o.deepSamples, "deep-samples", 20, "requests per measured page at a deep offset")
	fs.StringVar(&o.workspaced, "workspaced", "", "workspaced binary to serve the database (default: go build ./cmd/workspaced)")
	fs.BoolVar(&o.pin, "pin", true, "pin the server to core 0 and the load to the last core (taskset)")
	fs.IntVar(&o.loaders, "loaders", 8, "concurrent batches of 500 tasks (CreateTasks) while loading")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.database == "" {
		return errors.New("pages: --database is required")
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("pages: bad size %q", s)
		}
		o.sizes = append(o.sizes, n)
	}

	wss, err := loadPagesWorkspaces(ctx, o, out)
	if err != nil {
		return err
	}

	b := &bench{o: options{database: o.database, workspaced: o.workspaced}, out: out}
	var note string
	b.pinned, note = pinSelf(o.pin)
	fmt.Fprintln(out, "# workspace-bench pages:", note)
	if b.dir, err = os.MkdirTemp("", "workspace-bench-"); err != nil {
		return err
	}
	defer b.close()
	if err := b.startServer(ctx); err != nil {
		return err
	}

	client := newHTTPClient(1)
	// Every cell is a size and a page. The pages at offset 0 take their
	// samples in turns across the sizes, so that the machine's load at any
	// moment weighs on every size alike and their ratio holds; the deep
	// pages, slow by nature, are measured one cell after the other.
	type cell struct {
		n             int
		key, name     string
		url           string
		total         int
		deep          bool
		lat           []time.Duration
		reportedTotal int
	}
	var cells []*cell
	for _, n := range o.sizes {
		ws := wss[n]
		p := ws.Projects[0]
		inProject := (n + pagesProjects - 1) / pagesProjects
		add := func(name, query string, total int, deep bool) {
			cells = append(cells, &cell{n: n, key: ws.Key, name: name, url: b.httpURL + "/v1/tasks?limit=20" + query, total: total, deep: deep})
		}
		add("offset 0", "", n, false)
		add("offset 0, project", "&project_id="+p, inProject, false)
		add("offset 0, status", "&status=todo", (n+2)/3, false)
		add("offset 0, project+status", "&project_id="+p+"&status=todo", (n+29)/30, false)
		if n > 20 { // a workspace of one page has no deep page
			add(fmt.Sprintf("offset %d", n-20), "&offset="+strconv.Itoa(n-20), n, true)
		}
		if inProject > 20 {
			add(fmt.Sprintf("offset %d, project", inProject-20), "&project_id="+p+"&offset="+strconv.Itoa(inProject-20), inProject, true)
		}
		// The same deep pages by cursor: the cursor that the page before
		// them hands out (an offset page's next_cursor), so that the cursor
		// page holds the rows of the deep offset beside it. Cheap, so
		// sampled in turns with the pages at offset 0.
		for _, d := range []struct {
			name, filter string
			depth, total int
		}{
			{"cursor at %d", "", n - 20, n},
			{"cursor at %d, project", "&project_id=" + p, inProject - 20, inProject},
			{"cursor at %d, project+status", "&project_id=" + p + "&status=todo", (n+29)/30 - 20, (n + 29) / 30},
		} {
			if d.depth < 20 {
				continue
			}
			tok, err := nextCursor(ctx, client, b.httpURL+"/v1/tasks?limit=20"+d.filter+"&offset="+strconv.Itoa(d.depth-20), ws.Key)
			if err != nil {
				return fmt.Errorf("%d tasks, %s: %w", n, d.name, err)
			}
			add(fmt.Sprintf(d.name, d.depth), d.filter+"&cursor="+url.QueryEscape(tok), d.total, false)
		}
	}
	measure := func(c *cell, record bool) error {
		d, total, err := fetchPage(ctx, client, c.url, c.key)
		if err != nil {
			return fmt.Errorf("%d tasks, %s: %w", c.n, c.name, err)
		}
		if total != c.total {
			return fmt.Errorf("%d tasks, %s: total %d, want %d", c.n, c.name, total, c.total)
		}
		c.reportedTotal = total
		if record {
			c.lat = append(c.lat, d)
		}
		return nil
	}
	for _, c := range cells { // warm-up: the server's caches, the file's pages
		for range 3 {
			if err := measure(c, false); err != nil {
				return err
			}
		}
	}
	for range o.samples {
		for _, c := range cells {
			if !c.deep {
				if err := measure(c, true); err != nil {
					return err
				}
			}
		}
	}
	for _, c := range cells {
		for c.deep && len(c.lat) < o.deepSamples {
			if err := measure(c, true); err != nil {
				return err
			}
		}
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tasks\tpage\ttotal\trequests\tp50\tp90\tp99\tmax\t")
	for _, c := range cells {
		slices.Sort(c.lat)
		r := result{lat: c.lat}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t\n", c.n, c.name, c.reportedTotal, len(c.lat),
			ms(r.pct(0.50)), ms(r.pct(0.90)), ms(r.pct(0.99)), ms(r.pct(1)))
	}
	return tw.Flush()
}

// fetchPage sends GET url once and returns its latency and the page's
// pagination.total. A 429 (the workspace's 1,000 a minute) waits for the
// window that Retry-After names and tries again, unmeasured.
func fetchPage(ctx context.Context, client *http.Client, url, key string) (time.Duration, int, error) {
	for {
		req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
		if err != nil {
			return 0, 0, err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		d := time.Since(start)
		if err != nil {
			return 0, 0, err
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			select {
			case <-time.After(time.Duration(wait+1) * time.Second):
			case <-ctx.Done():
				return 0, 0, ctx.Err()
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return 0, 0, fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, body)
		}
		var env struct {
			Pagination struct {
				Total int `json:"total"`
			} `json:"pagination"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			return 0, 0, err
		}
		return d, env.Pagination.Total, nil
	}
}

// nextCursor returns the next_cursor of the page at url.
func nextCursor(ctx context.Context, client *http.Client, url, key string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var env struct {
		Pagination struct {
			NextCursor string `json:"next_cursor"`
		} `json:"pagination"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	if env.Pagination.NextCursor == "" {
		return "", fmt.Errorf("GET %s: no next_cursor", url)
	}
	return env.Pagination.NextCursor, nil
}

// loadPagesWorkspaces returns the workspaces of the sizes asked for, loading
// those the sidecar file does not list yet.
func loadPagesWorkspaces(ctx context.Context, o pagesOptions, out io.Writer) (map[int]pagesWorkspace, error) {
	sidecar := o.database + ".pages.json"
	if strings.HasPrefix(o.database, "postgres") {
		sidecar = filepath.Join(os.TempDir(), "workspace-bench-pg.pages.json")
	}
	wss := map[int]pagesWorkspace{}
	if b, err := os.ReadFile(sidecar); err == nil {
		var list []pagesWorkspace
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("%s: %w", sidecar, err)
		}
		for _, ws := range list {
			wss[ws.Tasks] = ws
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var missing []int
	for _, n := range o.sizes {
		if _, ok := wss[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return wss, nil
	}
	st, err := server.OpenStore(ctx, o.database)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	for _, n := range missing {
		start := time.Now()
		ws, err := loadWorkspace(ctx, st, n, o.loaders)
		if err != nil {
			return nil, err
		}
		wss[n] = ws
		fmt.Fprintf(out, "# loaded a workspace of %d tasks in %v (%.0f tasks/s, through the store)\n",
			n, time.Since(start).Round(time.Millisecond), float64(n)/time.Since(start).Seconds())
		list := make([]pagesWorkspace, 0, len(wss))
		for _, ws := range wss {
			list = append(list, ws)
		}
		b, err := json.MarshalIndent(list, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(sidecar, b, 0o600); err != nil {
			return nil, err
		}
	}
	return wss, nil
}

// loadWorkspace creates an enterprise workspace with pagesProjects projects
// and n tasks spread over them, loaded in concurrent batches.
func loadWorkspace(ctx context.Context, st store.Store, n, loaders int) (pagesWorkspace, error) {
	c, err := admin.New(st, time.Now).CreateWorkspace(ctx, admin.WorkspaceSpec{
		Name: fmt.Sprintf("pages %d", n), Plan: "enterprise", KeyName: "bench"})
	if err != nil {
		return pagesWorkspace{}, err
	}
	ws := pagesWorkspace{Tasks: n, Workspace: c.Workspace.ID, Key: c.Secret}
	base := time.Now().UTC().Truncate(time.Second)
	for i := range pagesProjects {
		p := store.Project{ID: ids.New("proj_"), WorkspaceID: ws.Workspace, Name: fmt.Sprintf("Project %d", i),
			CreatedAt: base, UpdatedAt: base}
		if err := st.CreateProject(ctx, p); err != nil {
			return pagesWorkspace{}, err
		}
		ws.Projects = append(ws.Projects, p.ID)
	}
	// Batches of pagesBatch tasks (the store's CreateTasks: one write and
	// one transaction each), several at a time, so that the SQLite group
	// committer and the PostgreSQL pool share their commits: on PostgreSQL a
	// batch is one round trip for its inserts, where one task a write loaded
	// ~400 tasks a second here.
	var done atomic.Int64
	batches := (n + pagesBatch - 1) / pagesBatch
	err = parallel(min(loaders, batches), batches, func(b int) error {
		lo, hi := b*pagesBatch, min((b+1)*pagesBatch, n)
		tasks := make([]store.Task, 0, hi-lo)
		for i := lo; i < hi; i++ {
			at := base.Add(time.Duration(i) * time.Microsecond)
			tasks = append(tasks, store.Task{ID: ids.New("task_"), WorkspaceID: ws.Workspace, ProjectID: ws.Projects[i%pagesProjects],
				Title: "Task " + strconv.Itoa(i), Status: pagesStatuses[i%len(pagesStatuses)], CreatedAt: at, UpdatedAt: at})
		}
		if err := st.CreateTasks(ctx, tasks); err != nil {
			return err
		}
		if d := done.Add(int64(len(tasks))); d/100_000 != (d-int64(len(tasks)))/100_000 {
			fmt.Fprintf(os.Stderr, "# %d of %d tasks\n", d, n)
		}
		return nil
	})
	return ws, err
}
