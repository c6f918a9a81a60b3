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

// startServe starts "workspaced serve" and reads its stderr up to the line
// that says it is serving, returning the key it printed (if any) and the HTTP
// address.
func startServe(t *testing.T, db string) (cmd *exec.Cmd, key, httpAddr string, wait func() error) {
	t.Helper()
	cmd = command(t, []string{"WORKSPACE_DATABASE=" + db}, "serve", "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		line := lines.Text()
		if keyLine.MatchString(line) {
			key = line
		}
		if m := servingLine.FindStringSubmatch(line); m != nil {
			httpAddr = m[1]
			break
		}
	}
	if httpAddr == "" {
		_ = cmd.Process.Kill()
		t.Fatalf("serve ended without serving: %v", lines.Err())
	}
	done := make(chan error, 1)
	go func() {
		_, _ = io.Copy(io.Discard, stderr) // keep the pipe drained
		done <- cmd.Wait()
	}()
	return cmd, key, httpAddr, func() error { return <-done }
}

func TestServeFirstStartAndGracefulShutdown(t *testing.T) {
	db := t.TempDir() + "/workspace.db"
	cmd, key, addr, wait := startServe(t, db)
	if key == "" {
		t.Fatal("the first start printed no admin key on a line of its own")
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/projects", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v1/projects with the printed key: %d", resp.StatusCode)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v, want a clean exit", err)
	}

	// A second start on the same database prints no key, and the first key
	// still works.
	cmd, again, addr, wait := startServe(t, db)
	if again != "" {
		t.Errorf("the second start printed a key")
	}
	resp, err = http.DefaultClient.Do(func() *http.Request {
		r, _ := http.NewRequest("GET", "http://"+addr+"/v1/projects", nil)
		r.Header.Set("Authorization", "Bearer "+key)
		return r
	}())
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("first key after restart: %d", resp.StatusCode)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := wait(); err != nil {
		t.Errorf("serve after SIGINT: %v", err)
	}
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
