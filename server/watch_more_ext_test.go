package server_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server/servertest"
)

// writer creates projects until stopped, and tells the seq of each.
type writer struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	last int64
}

func startWriter(t *testing.T, env *servertest.Env, key string) *writer {
	w := &writer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			r := env.REST("POST", "/v1/projects", key, `{"name":"w`+strconv.Itoa(i)+`"}`)
			if r.Status != 201 {
				t.Errorf("writer: %d %s", r.Status, r.Body)
				return
			}
			seq, _ := strconv.ParseInt(r.Header.Get("X-Event-Seq"), 10, 64)
			w.mu.Lock()
			w.last = seq
			w.mu.Unlock()
		}
	}()
	return w
}

// Stop stops the writer and returns the seq of its last write.
func (w *writer) Stop() int64 {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// An SSE stream resumed with Last-Event-ID, and a gRPC stream resumed with
// after_seq, miss nothing and repeat nothing while writes go on.
func TestWatchResumeWhileWriting(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		_, key := env.NewWorkspace("enterprise") // room in the rate limit
		w := startWriter(t, env, key)
		var sseSeqs, grpcSeqs []int64

		// SSE: three connections, each resumed from the last id seen.
		lastID := ""
		for round := 0; round < 3; round++ {
			var headers []string
			if lastID != "" {
				headers = []string{"Last-Event-ID", lastID}
			}
			s, refused := openSSE(t, env, key, "", headers...)
			if refused != nil {
				t.Fatalf("SSE round %d: %d %s", round, refused.Status, refused.Body)
			}
			for i := 0; i < 20; i++ {
				ev := s.Next(t)
				sseSeqs = append(sseSeqs, ev.Seq(t))
				lastID = ev.ID
			}
			s.Close()
		}
		// gRPC likewise, with after_seq.
		var after int64
		for round := 0; round < 3; round++ {
			g, err := watchGRPC(t, env.Conn, env.Ctx(key), &workspacev1.WatchEventsRequest{AfterSeq: after})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 20; i++ {
				ev := g.Next(t)
				grpcSeqs = append(grpcSeqs, ev.GetSeq())
				after = ev.GetSeq()
			}
			g.cancel()
		}
		w.Stop()
		for name, seqs := range map[string][]int64{"SSE": sseSeqs, "gRPC": grpcSeqs} {
			for i, seq := range seqs {
				if seq != seqs[0]+int64(i) {
					t.Fatalf("%s: event %d has seq %d after %d: a gap or a repeat (%v)", name, i, seq, seqs[i-1], seqs)
				}
			}
		}
	})
}

// The types filter applies to both streams, and no workspace sees another's
// events on either.
func TestWatchTypesAndTenancy(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		_, keyA := env.NewWorkspace("pro")
		_, keyB := env.NewWorkspace("pro")
		sseA, _ := openSSE(t, env, keyA, "?types=project.updated")
		gA, err := watchGRPC(t, env.Conn, env.Ctx(keyA), &workspacev1.WatchEventsRequest{Types: "project.updated"})
		if err != nil {
			t.Fatal(err)
		}
		sseB, _ := openSSE(t, env, keyB, "")
		gB, err := watchGRPC(t, env.Conn, env.Ctx(keyB), &workspacev1.WatchEventsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		// B writes first, then A creates and renames a project.
		createProject(t, env, keyB, "b")
		createProject(t, env, keyA, "a")
		var id string
		for _, item := range env.REST("GET", "/v1/projects", keyA, "").JSON(t)["data"].([]any) {
			id = item.(map[string]any)["id"].(string)
		}
		if r := env.REST("PATCH", "/v1/projects/"+id, keyA, `{"name":"renamed"}`); r.Status != 200 {
			t.Fatalf("rename: %d %s", r.Status, r.Body)
		}
		createProject(t, env, keyB, "b2")

		if ev := sseA.Next(t); ev.Event != "project.updated" || ev.JSON(t)["data"].(map[string]any)["name"] != "renamed" {
			t.Errorf("A's SSE, types=project.updated: %+v", ev)
		}
		if ev := gA.Next(t); ev.GetType() != "project.updated" {
			t.Errorf("A's gRPC, types=project.updated: %v", ev)
		}
		// B's streams have B's two projects only (after the api_key.created
		// of B's own key), never A's.
		for _, name := range []string{"b", "b2"} {
			for {
				ev := sseB.Next(t)
				if ev.Event != "project.created" {
					continue
				}
				if got := ev.JSON(t)["data"].(map[string]any)["name"]; got != name {
					t.Fatalf("B's SSE got project %v, want %s (A's events must never reach B)", got, name)
				}
				break
			}
			for {
				ev := gB.Next(t)
				if ev.GetType() != "project.created" {
					continue
				}
				if got := ev.GetData().GetFields()["name"].GetStringValue(); got != name {
					t.Fatalf("B's gRPC got project %v, want %s", got, name)
				}
				break
			}
		}
	})
}

// Opening a stream passes the scope, the rate limit (one request) and the
// plan's open-stream bound, on both surfaces, with the envelope before any
// SSE byte.
func TestWatchAdmission(t *testing.T) {
	env := servertest.Start(t)
	ws, _ := env.NewWorkspace("free")
	writeOnly := env.NewKey(ws, "write")
	if _, r := openSSE(t, env, writeOnly, ""); r == nil || r.Status != 403 || !strings.Contains(string(r.Body), `"FORBIDDEN"`) {
		t.Errorf("SSE with a write-only key: %+v", r)
	}
	if err := refusedGRPC(t, env.Conn, env.Ctx(writeOnly), &workspacev1.WatchEventsRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("gRPC with a write-only key: %v", err)
	}
	if _, r := openSSE(t, env, "", ""); r == nil || r.Status != 401 || r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("SSE without a key: %+v", r)
	}
	// Bad input: 400 naming the field, before anything streams.
	reader := env.NewKey(ws, "read")
	for _, c := range []struct {
		query, header, field string
	}{
		{"?after=-1", "", "after"},
		{"?after=x", "", "after"},
		{"?types=task.exploded", "", "types"},
		{"?limit=3", "", "limit"},
		{"?after=3", "4", "after"},
		{"", "x", "Last-Event-ID"},
	} {
		var headers []string
		if c.header != "" {
			headers = []string{"Last-Event-ID", c.header}
		}
		_, r := openSSE(t, env, reader, c.query, headers...)
		if r == nil || r.Status != 400 || !strings.Contains(string(r.Body), `"field":"`+c.field+`"`) {
			t.Errorf("SSE %s (Last-Event-ID %q): %+v, want 400 naming %s", c.query, c.header, r, c.field)
		}
	}
	if err := refusedGRPC(t, env.Conn, env.Ctx(reader), &workspacev1.WatchEventsRequest{AfterSeq: -1}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("gRPC after_seq -1: %v", err)
	}
	if s, r := openSSE(t, env, reader, "?after=2", "Last-Event-ID", "2"); r != nil {
		t.Errorf("SSE with ?after and Last-Event-ID agreeing: %d %s", r.Status, r.Body)
	} else {
		s.Close()
	}

	// The bound: free holds 5 streams open, the sixth is refused on both
	// surfaces; closing one makes room.
	_, boundKey := env.NewWorkspace("free")
	var open []*sseStream
	for i := 0; i < 3; i++ {
		s, r := openSSE(t, env, boundKey, "")
		if r != nil {
			t.Fatalf("stream %d: %d %s", i+1, r.Status, r.Body)
		}
		open = append(open, s)
	}
	var gs []*grpcWatch
	for i := 0; i < 2; i++ {
		g, err := watchGRPC(t, env.Conn, env.Ctx(boundKey), &workspacev1.WatchEventsRequest{})
		if err != nil {
			t.Fatalf("gRPC stream %d: %v", i+1, err)
		}
		gs = append(gs, g)
	}
	_, r := openSSE(t, env, boundKey, "")
	if r == nil || r.Status != 429 || !strings.Contains(string(r.Body), `"TOO_MANY_STREAMS"`) || r.Header.Get("X-RateLimit-Limit") == "" {
		t.Fatalf("sixth stream over SSE: %+v, want 429 TOO_MANY_STREAMS with the rate-limit headers", r)
	}
	if err := refusedGRPC(t, env.Conn, env.Ctx(boundKey), &workspacev1.WatchEventsRequest{}); status.Code(err) != codes.ResourceExhausted || errorCode(err) != "TOO_MANY_STREAMS" {
		t.Fatalf("sixth stream over gRPC: %v (%s)", err, errorCode(err))
	}
	open[0].Close()
	waitUntil(t, "a closed stream frees its place", func() bool {
		s, r := openSSE(t, env, boundKey, "")
		if r != nil {
			return false
		}
		s.Close()
		return true
	})
	gs[0].cancel()

	// The rate limit: once the minute's budget is used, opening a stream is
	// refused like any request.
	_, limited := env.NewWorkspace("free")
	for i := 0; i < 60; i++ {
		if r := env.REST("GET", "/v1/projects", limited, ""); r.Status != 200 {
			t.Fatalf("request %d: %d", i+1, r.Status)
		}
	}
	if _, r := openSSE(t, env, limited, ""); r == nil || r.Status != 429 || !strings.Contains(string(r.Body), `"RATE_LIMITED"`) || r.Header.Get("Retry-After") == "" {
		t.Errorf("SSE over the rate limit: %+v", r)
	}
	if err := refusedGRPC(t, env.Conn, env.Ctx(limited), &workspacev1.WatchEventsRequest{}); status.Code(err) != codes.ResourceExhausted || errorCode(err) != "RATE_LIMITED" {
		t.Errorf("gRPC over the rate limit: %v", err)
	}
}
