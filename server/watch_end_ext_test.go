package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/store/postgres/pgtest"
)

// A watcher that never reads is ended with STREAM_LAGGING once its buffer
// fills, while another keeps receiving everything and the writer is never
// held back; on both surfaces.
func TestWatchSlowWatcherLags(t *testing.T) {
	env := servertest.Start(t, func(c *server.Config) { c.EventBuffer = 16 })
	_, key := env.NewWorkspace("enterprise")
	// A client window of 64 KiB (no dynamic growth): the server's sends to
	// the slow stream block once it is full, and its buffer fills.
	slowConn, err := grpc.NewClient(env.Server.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer slowConn.Close()
	slowStream, err := workspacev1.NewEventServiceClient(slowConn).WatchEvents(env.Ctx(key), &workspacev1.WatchEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := slowStream.Header(); err != nil {
		t.Fatal(err)
	}
	slowSSE, slowDone := serveSlowSSE(t, env, key)
	normal, err := watchGRPC(t, env.Conn, env.Ctx(key), &workspacev1.WatchEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// Enough events, with descriptions that make them large, to fill the
	// slow streams' windows and buffers.
	long := strings.Repeat("x", 4000)
	var last int64
	const n = 100
	for i := 0; i < n; i++ {
		r := env.REST("POST", "/v1/projects", key, `{"name":"p","description":"`+long+`"}`)
		if r.Status != 201 {
			t.Fatalf("write %d: %d %s", i, r.Status, r.Body)
		}
		last = parseSeq(t, r.Header.Get("X-Event-Seq"))
	}
	for {
		if ev := normal.Next(t); ev.GetSeq() == last {
			break
		}
	}
	// The slow gRPC stream: what was in flight, then STREAM_LAGGING.
	var got int
	for {
		_, err := slowStream.Recv()
		if err != nil {
			if status.Code(err) != codes.Aborted || errorCode(err) != "STREAM_LAGGING" {
				t.Fatalf("slow gRPC stream ended with %v, want ABORTED STREAM_LAGGING", err)
			}
			break
		}
		got++
	}
	if got >= n {
		t.Errorf("the slow gRPC stream got all %d events: it never lagged", got)
	}
	// The slow SSE stream: once it reads, what was in flight, an error
	// event with the envelope, and the end of the body.
	slowSSE.Release()
	select {
	case <-slowDone:
	case <-time.After(waitLimit):
		t.Fatal("the slow SSE stream did not end")
	}
	body := slowSSE.buf.String()
	blocks := strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n")
	lastBlock := blocks[len(blocks)-1]
	if !strings.HasPrefix(lastBlock, "event: error\ndata: ") || !strings.Contains(lastBlock, `"STREAM_LAGGING"`) || !strings.Contains(lastBlock, `"success":false`) {
		t.Errorf("the slow SSE stream ended with %q, want an error event with STREAM_LAGGING", lastBlock)
	}
	if len(blocks) > n {
		t.Errorf("the slow SSE stream got %d blocks: it never lagged", len(blocks))
	}
}

func parseSeq(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("seq %q", s)
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// A revoked key's streams end: over gRPC with UNAUTHENTICATED, over SSE with
// an error event carrying UNAUTHORIZED.
func TestWatchRevokedKeyEndsStreams(t *testing.T) {
	env := servertest.Start(t, func(c *server.Config) { c.KeyCacheTTL = 200 * time.Millisecond })
	ws, adminKey := env.NewWorkspace("pro")
	key := env.NewKey(ws, "read")
	sse, r := openSSE(t, env, key, "")
	if r != nil {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	g, err := watchGRPC(t, env.Conn, env.Ctx(key), &workspacev1.WatchEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// Revoked in the store, behind the server's back (the CLI, another
	// replica): the streams end within the cache's bound.
	var id string
	for _, item := range env.REST("GET", "/v1/api-keys?limit=100", adminKey, "").JSON(t)["data"].([]any) {
		if m := item.(map[string]any); strings.HasPrefix(key, m["prefix"].(string)) {
			id = m["id"].(string)
		}
	}
	if _, err := env.Server.Store().RevokeAPIKey(context.Background(), ws, id, env.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := g.End(t); status.Code(err) != codes.Unauthenticated {
		t.Errorf("gRPC stream of a revoked key ended with %v", err)
	}
	for {
		ev, ok := sse.NextOrEnd(t)
		if !ok {
			t.Fatal("the SSE stream of a revoked key ended without an error event")
		}
		if ev.Event == "error" {
			if !strings.Contains(ev.Data, `"UNAUTHORIZED"`) {
				t.Errorf("error event %q", ev.Data)
			}
			break
		}
	}
}

// Shutdown ends every stream promptly: gRPC with UNAVAILABLE, SSE by ending
// the body; the server's Run returns cleanly, and the REST log line of the
// stream is written with its duration.
func TestWatchShutdownEndsStreams(t *testing.T) {
	env := servertest.Start(t)
	sse, r := openSSE(t, env, env.AdminKey, "")
	if r != nil {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	g, err := watchGRPC(t, env.Conn, env.Ctx(env.AdminKey), &workspacev1.WatchEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	g.Next(t) // the first start's api_key.created
	stopped := make(chan error, 1)
	go func() { stopped <- env.Stop() }()
	if err := g.End(t); status.Code(err) != codes.Unavailable {
		t.Errorf("gRPC stream at shutdown ended with %v, want UNAVAILABLE", err)
	}
	for {
		ev, ok := sse.NextOrEnd(t)
		if !ok {
			break
		}
		if ev.Event == "error" {
			t.Errorf("SSE at shutdown: an error event %q; the body should just end", ev.Data)
		}
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("shutdown waited for the streams")
	}
	var line map[string]any
	for _, l := range strings.Split(env.Logs.String(), "\n") {
		if strings.Contains(l, `"http_route":"GET /v1/events/stream"`) {
			if line != nil {
				t.Errorf("two log lines for one stream")
			}
			_ = json.Unmarshal([]byte(l), &line)
		}
	}
	if line == nil || line["rpc"] != "/workspace.v1.EventService/WatchEvents" || line["http_status"] != float64(200) || line["duration_ms"] == nil || line["code"] != "Unavailable" {
		t.Errorf("the stream's log line: %v", line)
	}
}

// Keep-alive comments come at the configured interval while nothing
// happens.
func TestWatchKeepAlive(t *testing.T) {
	env := servertest.Start(t, func(c *server.Config) { c.SSEKeepAlive = 20 * time.Millisecond })
	_, key := env.NewWorkspace("pro")
	sse, r := openSSE(t, env, key, "?after=1000")
	if r != nil {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	for i := 0; i < 3; i++ {
		select {
		case ev := <-sse.events:
			if ev.Comment != "keep-alive" {
				t.Fatalf("got %+v, want a keep-alive comment", ev)
			}
		case <-time.After(waitLimit):
			t.Fatal("no keep-alive comment")
		}
	}
}

// Two servers on one PostgreSQL: an event written through one reaches a
// watcher of the other, on both surfaces.
func TestWatchAcrossReplicas(t *testing.T) {
	db := pgtest.NewDatabase(t)
	first := servertest.Start(t, func(c *server.Config) { c.Database = db })
	second := startReplica(t, db)
	sse, r := openSSEAt(t, "http://"+second.HTTPAddr(), first.AdminKey, "")
	if r != nil {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	conn, err := grpc.NewClient(second.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	g, err := watchGRPC(t, conn, first.Ctx(first.AdminKey), &workspacev1.WatchEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	seq := createProject(t, first, first.AdminKey, "from the first replica")
	for {
		if ev := sse.Next(t); ev.Seq(t) == seq {
			break
		}
	}
	for {
		if ev := g.Next(t); ev.GetSeq() == seq {
			break
		}
	}
}

// startReplica runs another server on an existing database until the test
// ends, with configs applied to its Config.
func startReplica(t *testing.T, database string, configs ...servertest.Config) *server.Server {
	t.Helper()
	cfg := server.Config{HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", Database: database,
		Logger: slog.New(slog.DiscardHandler)}
	for _, c := range configs {
		c(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("replica: %v", err)
		}
	})
	return srv
}

// The stream passes CORS like every REST answer, and a native gRPC stream
// writes its one log line when it ends, with its duration.
func TestWatchCORSAndNativeLogLine(t *testing.T) {
	env := servertest.Start(t, func(c *server.Config) { c.CORSOrigins = []string{"https://app.example"} })
	sse, r := openSSE(t, env, env.AdminKey, "", "Origin", "https://app.example")
	if r != nil {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if got := sse.Resp.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example" {
		t.Errorf("Access-Control-Allow-Origin = %q", got)
	}
	sse.Close()
	g, err := watchGRPC(t, env.Conn, env.Ctx(env.AdminKey), &workspacev1.WatchEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	g.Next(t)
	g.cancel()
	waitUntil(t, "the native stream's log line", func() bool {
		for _, l := range strings.Split(env.Logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["rpc"] == "/workspace.v1.EventService/WatchEvents" && m["http_route"] == nil {
				return m["duration_ms"] != nil && m["workspace_id"] == env.WorkspaceID && m["code"] == "Canceled"
			}
		}
		return false
	})
}

// A position whose following events were pruned is 410 EVENTS_EXPIRED
// before anything streams, on both surfaces, with ListEvents's details.
func TestWatchExpiredPosition(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		seq := createProject(t, env, env.AdminKey, "old")
		if _, err := env.Server.Store().PruneEvents(context.Background(), time.Now().Add(24*time.Hour), 500); err != nil {
			t.Fatal(err)
		}
		_, r := openSSE(t, env, env.AdminKey, "?after=0")
		if r == nil || r.Status != 410 || !strings.Contains(string(r.Body), `"EVENTS_EXPIRED"`) || !strings.Contains(string(r.Body), `"pruned_seq"`) {
			t.Errorf("SSE after=0 once pruned: %+v", r)
		}
		if err := refusedGRPC(t, env.Conn, env.Ctx(env.AdminKey), &workspacev1.WatchEventsRequest{}); status.Code(err) != codes.OutOfRange || errorCode(err) != "EVENTS_EXPIRED" {
			t.Errorf("gRPC after_seq 0 once pruned: %v", err)
		}
		// After the pruned position, the stream opens.
		s, r := openSSE(t, env, env.AdminKey, "?after="+strconv.FormatInt(seq, 10))
		if r != nil {
			t.Fatalf("after the pruned seq: %d %s", r.Status, r.Body)
		}
		s.Close()
	})
}

// A stream outlives the HTTP server's read and write timeouts, which bound
// ordinary requests: it stays open and delivers after both have passed.
func TestWatchOutlivesRequestTimeouts(t *testing.T) {
	env := servertest.Start(t, func(c *server.Config) {
		c.ReadTimeout, c.WriteTimeout = 200*time.Millisecond, 200*time.Millisecond
		c.SSEKeepAlive = 50 * time.Millisecond
	})
	sse, r := openSSE(t, env, env.AdminKey, "")
	if r != nil {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	start := time.Now()
	comments := 0
	for time.Since(start) < time.Second { // five times both timeouts, counted in keep-alives
		select {
		case ev, ok := <-sse.events:
			if !ok {
				t.Fatalf("the stream ended after %v (%d keep-alives): %v", time.Since(start), comments, <-sse.ended)
			}
			if ev.Comment != "" {
				comments++
			}
		case <-time.After(waitLimit):
			t.Fatal("nothing on the stream")
		}
	}
	seq := createProject(t, env, env.AdminKey, "late")
	for {
		if ev := sse.Next(t); ev.Seq(t) == seq {
			break
		}
	}
}
