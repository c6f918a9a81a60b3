// Package workspacedtest starts a real workspaced, built from this
// repository, for the SDK's tests (sdk/SCENARIO.md step 0).
package workspacedtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// Server is a running workspaced.
type Server struct {
	Bin      string // the binary
	Dir      string // its temporary directory
	Database string // its SQLite file
	HTTPAddr string // host:port of REST
	GRPCAddr string // host:port of gRPC
	AdminKey string // the first workspace's admin key
	cmd      *exec.Cmd
	exited   chan error
}

// RepoRoot finds the repository root from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "cmd", "workspaced")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("workspacedtest: no cmd/workspaced above the working directory")
		}
		dir = parent
	}
}

// Build returns $WORKSPACED_BIN if set, else builds workspaced into dir.
func Build(dir string) (string, error) {
	if bin := os.Getenv("WORKSPACED_BIN"); bin != "" {
		return bin, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "workspaced")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/workspaced")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building workspaced: %v\n%s", err, out)
	}
	return bin, nil
}

var (
	keyLine     = regexp.MustCompile(`^wsk_\w+$`)
	servingLine = regexp.MustCompile(`msg=serving http=(\S+) grpc=(\S+)`)
)

// Start builds (or finds) workspaced and serves it on random ports with a
// fresh database in a temporary directory.
func Start() (*Server, error) {
	dir, err := os.MkdirTemp("", "workspaced-sdk-")
	if err != nil {
		return nil, err
	}
	bin, err := Build(dir)
	if err != nil {
		return nil, err
	}
	s := &Server{Bin: bin, Dir: dir, Database: filepath.Join(dir, "workspace.db"), exited: make(chan error, 1)}
	// Free ports for every listener, the admin one too: a developer's own
	// server on the default ports must not be in the way.
	s.cmd = exec.Command(bin, "serve", "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--database", s.Database,
		// Step 13's receiver is on loopback.
		"--webhook-allow-private")
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.exited <- s.cmd.Wait() }()

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var seen []string
	deadline := time.After(60 * time.Second)
	for s.HTTPAddr == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				return nil, fmt.Errorf("workspaced exited before serving:\n%s", strings.Join(seen, "\n"))
			}
			seen = append(seen, line)
			if keyLine.MatchString(line) {
				s.AdminKey = line
			}
			if m := servingLine.FindStringSubmatch(line); m != nil {
				s.HTTPAddr, s.GRPCAddr = m[1], m[2]
			}
		case <-deadline:
			s.Stop()
			return nil, fmt.Errorf("workspaced did not serve within 60s:\n%s", strings.Join(seen, "\n"))
		}
	}
	if s.AdminKey == "" {
		s.Stop()
		return nil, fmt.Errorf("workspaced printed no admin key:\n%s", strings.Join(seen, "\n"))
	}
	go func() { // keep draining the log so the server never blocks on it
		for range lines {
		}
	}()
	return s, nil
}

// NewWorkspace creates a workspace with the CLI and returns its id and admin key.
func (s *Server) NewWorkspace(name, plan string) (id, key string, err error) {
	cmd := exec.Command(s.Bin, "workspaces", "create", "--name", name, "--plan", plan, "--database", s.Database)
	cmd.Stderr = io.Discard
	out, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("workspaces create: %v", err)
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		return "", "", fmt.Errorf("workspaces create printed %q", out)
	}
	return f[0], f[1], nil
}

// Stop sends SIGTERM, waits, and removes the temporary directory.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	_ = os.RemoveAll(s.Dir)
}
