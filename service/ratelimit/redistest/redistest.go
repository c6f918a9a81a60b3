// Package redistest runs a private redis-server for tests that stop and
// restart Redis, so that they never disturb a shared one.
package redistest

import (
	"bufio"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Server is a redis-server process on a port of its own, without persistence.
type Server struct {
	// Addr is host:port; it stays the same across Stop and Start.
	Addr string
	cmd  *exec.Cmd
}

// Start runs a new server on a free port and waits until it answers PING; it
// is killed when the test ends. The test is skipped if redis-server is not
// installed.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not on PATH; install Redis to run this test")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: l.Addr().String()}
	_ = l.Close()
	s.Start(t)
	t.Cleanup(s.Stop)
	return s
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Start (re)starts the server on its address and waits until it answers.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	_, port, _ := net.SplitHostPort(s.Addr)
	s.cmd = exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("redistest: starting redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := ping(s.Addr)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: redis-server on %s did not answer PING within 10s: %v", s.Addr, err)
		}
		<-tick.C
	}
}

// Stop kills the server and waits for it to exit; calling it again is harmless.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// ping sends PING on a fresh connection, bypassing any client's pool and its
// reconnect backoff.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return &net.OpError{Op: "ping", Net: "tcp", Err: errUnexpected(line)}
	}
	return nil
}

type errUnexpected string

func (e errUnexpected) Error() string { return "unexpected reply " + strings.TrimSpace(string(e)) }
