// Package servertest starts a real Workspace API server in-process for tests:
// a temporary SQLite file, free ports, a fake clock, and clients for REST and
// gRPC.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/example/workspace/server"
	"github.com/example/workspace/service/admin"
	"github.com/example/workspace/service/ratelimit"
	"github.com/example/workspace/service/ratelimit/ratelimittest"
)

// Epoch is where every Env's clock starts: mid-minute, so that tests choose
// when to cross a window edge.
var Epoch = time.Date(2026, 3, 10, 12, 0, 30, 0, time.UTC)

// Env is a running server and what a test needs to talk to it.
type Env struct {
	T      testing.TB
	Server *server.Server
	Clock  *ratelimittest.Clock
	// BaseURL is the REST root, e.g. http://127.0.0.1:41234 (paths add /v1/…).
	BaseURL string
	// Conn is a gRPC client connection to the server's gRPC port.
	Conn *grpc.ClientConn
	// WorkspaceID and AdminKey are the first start's workspace and key.
	WorkspaceID string
	AdminKey    string
	// Logs holds everything the server logged, as JSON lines.
	Logs *SyncBuffer
	HTTP *http.Client
	// AdminURL is the admin listener's root, e.g. http://127.0.0.1:41235.
	AdminURL string

	stop func() error
}

// Stop starts the server's shutdown and waits until Run returns, with its
// error. The test's cleanup calls it too; calling it again is harmless.
func (e *Env) Stop() error { return e.stop() }

// Config adjusts the server before it starts.
type Config func(*server.Config)

// Start runs a server until the test ends; it fails the test if the server
// does not shut down cleanly.
func Start(t testing.TB, configs ...Config) *Env {
	t.Helper()
	clock := ratelimittest.NewClock(Epoch)
	logs := &SyncBuffer{}
	var banner bytes.Buffer
	cfg := server.Config{
		HTTPAddr:  "127.0.0.1:0",
		GRPCAddr:  "127.0.0.1:0",
		AdminAddr: "127.0.0.1:0",
		Database:  t.TempDir() + "/workspace.db",
		Logger:    slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Banner:    &banner,
		Now:       clock.Now,
	}
	for _, c := range configs {
		c(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("server.New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()

	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	env := &Env{
		T:       t,
		Server:  srv,
		Clock:   clock,
		BaseURL: "http://" + srv.HTTPAddr(),
		Conn:    conn,
		Logs:    logs,
		HTTP:    &http.Client{Timeout: 30 * time.Second},
		stop: sync.OnceValue(func() error {
			cancel()
			return <-done
		}),
	}
	if a := srv.AdminAddr(); a != "" {
		env.AdminURL = "http://" + a
	}
	t.Cleanup(func() {
		_ = conn.Close()
		env.HTTP.CloseIdleConnections()
		if err := env.Stop(); err != nil {
			t.Errorf("server.Run: %v", err)
		}
	})

	m := regexp.MustCompile(`(?m)^Created workspace (ws_\w+) .*\n(wsk_\w+)$`).FindStringSubmatch(banner.String())
	if m == nil {
		t.Fatalf("first start printed no admin key; banner was %q", banner.String())
	}
	env.WorkspaceID, env.AdminKey = m[1], m[2]
	return env
}

// NewWorkspace creates a workspace on plan, with a key of the given scopes
// (admin if none), through the admin operations the CLI uses.
func (e *Env) NewWorkspace(plan string, scopes ...string) (workspaceID, key string) {
	e.T.Helper()
	c, err := e.admin().CreateWorkspace(context.Background(), admin.WorkspaceSpec{
		Name: "Test " + plan, Plan: plan, KeyName: "test key", KeyScopes: scopes,
	})
	if err != nil {
		e.T.Fatalf("CreateWorkspace: %v", err)
	}
	return c.Workspace.ID, c.Secret
}

// NewKey adds a key with scopes to a workspace.
func (e *Env) NewKey(workspaceID string, scopes ...string) string {
	e.T.Helper()
	if len(scopes) == 0 {
		scopes = []string{"admin"}
	}
	_, secret, err := e.admin().CreateKey(context.Background(), admin.KeySpec{WorkspaceID: workspaceID, Name: "test key", Scopes: scopes})
	if err != nil {
		e.T.Fatalf("CreateKey: %v", err)
	}
	return secret
}

// admin is the CLI's operations on the server's store, on the test's clock.
func (e *Env) admin() *admin.Ops { return admin.New(e.Server.Store(), e.Clock.Now) }

// SetPlan changes a workspace's plan in the store, as the CLI does.
func (e *Env) SetPlan(workspaceID string, plan ratelimit.Plan) {
	e.T.Helper()
	if err := e.admin().SetPlan(context.Background(), workspaceID, plan.Name); err != nil {
		e.T.Fatalf("SetWorkspacePlan: %v", err)
	}
	// Changed behind the API's back: the server's key cache must not serve
	// the old plan for its TTL.
	e.Server.ForgetCachedKeys()
}

// Response is a REST answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic value, failing the test if it is not JSON.
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return v
}

// REST sends one request. key "" sends no Authorization header; body "" sends
// none. Extra headers come as name, value pairs.
func (e *Env) REST(method, path, key, body string, headers ...string) *Response {
	e.T.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.BaseURL+path, rd)
	if err != nil {
		e.T.Fatalf("NewRequest: %v", err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Ctx returns a context whose gRPC calls carry key.
func (e *Env) Ctx(key string) context.Context {
	ctx := context.Background()
	if key != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	}
	return ctx
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers (the logger) and
// readers (the test).
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ErrInjected is what FaultyStore returns for an injected generic fault.
var ErrInjected = errors.New("injected fault: disk on fire at /var/lib/secret")
