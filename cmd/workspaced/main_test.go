package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/example/workspace/store/sqlite"
)

// The test binary doubles as workspaced: with this variable set it runs main.
const beMain = "WORKSPACED_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(beMain) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func command(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), beMain+"=1"), env...)
	return cmd
}

// cli runs one command to completion.
func cli(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := command(t, env, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("running %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

var (
	keyLine     = regexp.MustCompile(`^wsk_[0-9A-Za-z]{38}$`)
	servingLine = regexp.MustCompile(`msg=serving http=(\S+) grpc=(\S+)`)
)

// proc is a running "workspaced serve" whose stderr is collected line by line.
type proc struct {
	cmd   *exec.Cmd
	ready chan struct{} // closed once it logs that it is serving
	done  chan error    // its exit
	lined chan struct{} // signalled (without blocking) after each new line

	mu       sync.Mutex
	lines    []string
	key      string // the admin key it printed, if any
	httpAddr string
	grpcAddr string
}

// launch starts "workspaced serve" on free loopback ports without waiting.
func launch(t *testing.T, env []string, flags ...string) *proc {
	t.Helper()
	p := &proc{
		cmd:   command(t, env, append([]string{"serve", "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, flags...)...),
		ready: make(chan struct{}),
		done:  make(chan error, 1),
		lined: make(chan struct{}, 1),
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			line := lines.Text()
			p.mu.Lock()
			p.lines = append(p.lines, line)
			if keyLine.MatchString(line) {
				p.key = line
			}
			if m := servingLine.FindStringSubmatch(line); m != nil && p.httpAddr == "" {
				p.httpAddr, p.grpcAddr = m[1], m[2]
				close(p.ready)
			}
			p.mu.Unlock()
			select {
			case p.lined <- struct{}{}:
			default:
			}
		}
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	return p
}

// wait blocks until p serves, failing the test if it exits first.
func (p *proc) wait(t *testing.T) {
	t.Helper()
	select {
	case <-p.ready:
	case err := <-p.done:
		t.Fatalf("serve exited before serving: %v\n%s", err, p.log())
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not start within a minute:\n%s", p.log())
	}
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// waitLog blocks until a log line contains s, failing the test after limit.
func (p *proc) waitLog(t *testing.T, s string, limit time.Duration) {
	t.Helper()
	timeout := time.After(limit)
	for p.count(s) == 0 {
		select {
		case <-p.lined:
		case <-timeout:
			t.Fatalf("no log line with %q within %v:\n%s", s, limit, p.log())
		}
	}
}

// count reports how many log lines contain s.
func (p *proc) count(s string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// stop sends sig and waits for a clean exit.
func (p *proc) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	if err := <-p.done; err != nil {
		t.Errorf("serve after %v: %v, want a clean exit\n%s", sig, err, p.log())
	}
}

// startServe starts serve on db and waits until it serves.
func startServe(t *testing.T, db string) *proc {
	t.Helper()
	p := launch(t, []string{"WORKSPACE_DATABASE=" + db})
	p.wait(t)
	return p
}

// get sends GET with a key to a served path.
func get(t *testing.T, addr, path, key string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

func TestServeFirstStartAndGracefulShutdown(t *testing.T) {
	db := t.TempDir() + "/workspace.db"
	p := startServe(t, db)
	if p.key == "" {
		t.Fatalf("the first start printed no admin key on a line of its own:\n%s", p.log())
	}
	if r := get(t, p.httpAddr, "/v1/projects", p.key); r.StatusCode != 200 {
		t.Fatalf("GET /v1/projects with the printed key: %d", r.StatusCode)
	}
	p.stop(t, syscall.SIGTERM)

	// A second start on the same database prints no key, and the first key
	// still works.
	again := startServe(t, db)
	if again.key != "" {
		t.Errorf("the second start printed a key")
	}
	if r := get(t, again.httpAddr, "/v1/projects", p.key); r.StatusCode != 200 {
		t.Errorf("first key after restart: %d", r.StatusCode)
	}
	again.stop(t, syscall.SIGINT)
}

func TestAdminCommands(t *testing.T) {
	db := t.TempDir() + "/admin.db"
	dbFlag := []string{"--database", db}

	out, _, code := cli(t, nil, append([]string{"migrate"}, dbFlag...)...)
	if code != 0 || !strings.Contains(out, "applied 0001") {
		t.Fatalf("migrate on a new database: %d %q", code, out)
	}
	if out, _, code = cli(t, nil, append([]string{"migrate"}, dbFlag...)...); code != 0 || !strings.Contains(out, "up to date") {
		t.Errorf("migrate again: %d %q", code, out)
	}

	out, _, code = cli(t, nil, append([]string{"workspaces", "create", "--name", "Acme", "--plan", "pro"}, dbFlag...)...)
	lines := strings.Fields(out)
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "ws_") || !keyLine.MatchString(lines[1]) {
		t.Fatalf("workspaces create: %d %q", code, out)
	}
	ws := lines[0]

	// The environment twin of --database is honoured.
	out, errOut, code := cli(t, []string{"WORKSPACE_DATABASE=" + db}, "keys", "create", "--workspace", ws, "--scopes", "write,read", "--name", "CI", "--expires-in", "720h")
	if code != 0 || !keyLine.MatchString(strings.TrimSpace(out)) {
		t.Fatalf("keys create: %d %q %q", code, out, errOut)
	}
	keyID := regexp.MustCompile(`key_[0-9A-Za-z]+`).FindString(errOut)

	if _, errOut, code = cli(t, nil, append([]string{"keys", "create", "--workspace", ws, "--scopes", "root"}, dbFlag...)...); code != 2 {
		t.Errorf("keys create with a bad scope: exit %d (%s), want 2", code, errOut)
	}
	if _, errOut, code = cli(t, nil, append([]string{"keys", "create", "--workspace", "ws_missing", "--scopes", "read"}, dbFlag...)...); code != 1 || !strings.Contains(errOut, "no such workspace") {
		t.Errorf("keys create in a missing workspace: exit %d %q", code, errOut)
	}
	if out, _, code = cli(t, nil, append([]string{"workspaces", "set-plan", ws, "enterprise"}, dbFlag...)...); code != 0 {
		t.Errorf("set-plan: %d %q", code, out)
	}
	if _, _, code = cli(t, nil, append([]string{"workspaces", "set-plan", ws, "platinum"}, dbFlag...)...); code != 2 {
		t.Errorf("set-plan to an unknown plan: exit %d, want 2", code)
	}
	if out, _, code = cli(t, nil, append([]string{"keys", "revoke", keyID}, dbFlag...)...); code != 0 || !strings.Contains(out, "revoked") {
		t.Errorf("keys revoke: %d %q", code, out)
	}

	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, err := st.GetWorkspace(context.Background(), ws)
	if err != nil || w.Name != "Acme" || w.Plan != "enterprise" {
		t.Errorf("stored workspace = %+v, %v", w, err)
	}
	k, err := st.GetAPIKey(context.Background(), keyID)
	if err != nil || k.RevokedAt == nil || k.ExpiresAt == nil || k.ExpiresAt.Sub(k.CreatedAt) < 719*time.Hour || strings.Join(k.Scopes, ",") != "read,write" {
		t.Errorf("stored key = %+v, %v", k, err)
	}

	if out, _, code = cli(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "workspaced ") {
		t.Errorf("version: %d %q", code, out)
	}
	if _, _, code = cli(t, nil, "frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}
