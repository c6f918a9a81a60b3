package main

import (
	"context"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFirstStartThatCannotServeCreatesNothing: a first start that fails —
// one of its ports taken, or a setting refused — exits with an error before
// creating the workspace, so it shows no key, and the next start on the same
// database creates the workspace and shows its key.
func TestFirstStartThatCannotServeCreatesNothing(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	taken := held.Addr().String()

	for _, tc := range []struct {
		name    string
		flags   []string
		wantErr string
	}{
		{"http port taken", []string{"--http-addr", taken}, "HTTP listener"},
		{"gRPC port taken", []string{"--grpc-addr", taken}, "gRPC listener"},
		{"admin port taken", []string{"--admin-addr", taken}, "admin listener"},
		{"bad Redis URL", []string{"--redis", "notredis://x"}, "redis"},
		{"bad CORS origin", []string{"--cors-origins", "https://app.example/settings"}, "CORS origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := t.TempDir() + "/workspace.db"
			// Free ports for every listener, then the one under test.
			args := append([]string{"serve", "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--database", db}, tc.flags...)
			_, stderr, code := cli(t, nil, args...)
			if code != 1 || !strings.Contains(stderr, tc.wantErr) {
				t.Fatalf("serve with %v: exit %d, want 1 and an error naming %q:\n%s", tc.flags, code, tc.wantErr, stderr)
			}
			if strings.Contains(stderr, "wsk_") || strings.Contains(stderr, "Created workspace") {
				t.Fatalf("a start that could not serve showed a key:\n%s", stderr)
			}
			next := startServe(t, db)
			if next.key == "" {
				t.Fatalf("the next start showed no key: the failed one left a workspace behind\n%s", next.log())
			}
			if r := get(t, next.httpAddr, "/v1/projects", next.key); r.StatusCode != 200 {
				t.Errorf("GET /v1/projects with the key of the next start: %d", r.StatusCode)
			}
		})
	}
}

// writeLog records what serve writes to its stderr, call by call, and the
// syncs between.
type writeLog struct {
	mu     sync.Mutex
	events []string // "sync", or the bytes of one Write
	wrote  chan struct{}
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.events = append(w.events, string(p))
	w.mu.Unlock()
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *writeLog) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events = append(w.events, "sync")
	return nil
}

func (w *writeLog) snapshot() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.events...)
}

// TestBannerIsWrittenUnbufferedAndSynced: the first start's admin key reaches
// stderr in a write of its own, synced at once, not in a batch of the log
// (which may be 50 ms late: a crash then would lose the only copy).
func TestBannerIsWrittenUnbufferedAndSynced(t *testing.T) {
	stderr := &writeLog{wrote: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
			"--database", t.TempDir() + "/workspace.db"}, io.Discard, stderr)
	}()
	serving := func() bool {
		for _, e := range stderr.snapshot() {
			if strings.Contains(e, "msg=serving") {
				return true
			}
		}
		return false
	}
	timeout := time.After(60 * time.Second)
	for !serving() {
		select {
		case <-stderr.wrote:
		case err := <-done:
			t.Fatalf("serve returned before serving: %v\n%q", err, stderr.snapshot())
		case <-timeout:
			t.Fatalf("serve did not log that it serves within a minute:\n%q", stderr.snapshot())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve after cancel: %v", err)
	}

	banner := regexp.MustCompile(`^Created workspace ws_\w+ on the free plan\. .*\nwsk_[0-9A-Za-z]{38}\n$`)
	events := stderr.snapshot()
	for i, e := range events {
		if strings.Contains(e, "msg=serving") {
			t.Fatalf("the server logged that it serves before the banner was written and synced:\n%q", events)
		}
		if banner.MatchString(e) {
			if i+1 >= len(events) || events[i+1] != "sync" {
				t.Fatalf("the banner's write was not followed by a sync:\n%q", events)
			}
			return
		}
	}
	t.Fatalf("no write of stderr was the banner alone:\n%q", events)
}
