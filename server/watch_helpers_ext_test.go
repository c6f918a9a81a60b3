package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server/servertest"
)

// waitLimit bounds every wait of the stream tests: a deadline, not a pace.
const waitLimit = 15 * time.Second

// sseEvent is one Server-Sent Event, or a comment (Comment set).
type sseEvent struct {
	ID, Event, Data, Comment string
}

// sseStream reads an open event stream on a goroutine of its own, so that
// the test can wait for its next event with a deadline.
type sseStream struct {
	Resp   *http.Response
	events chan sseEvent
	ended  chan error // the read's end (io.EOF: the body ended)
	cancel context.CancelFunc
}

// openSSE opens GET /v1/events/stream with query (e.g. "?after=3") and extra
// headers (name, value pairs). It returns the stream on a 200, else the
// answer read whole.
func openSSE(t *testing.T, env *servertest.Env, key, query string, headers ...string) (*sseStream, *servertest.Response) {
	t.Helper()
	return openSSEAt(t, env.BaseURL, key, query, headers...)
}

func openSSEAt(t *testing.T, baseURL, key, query string, headers ...string) (*sseStream, *servertest.Response) {
	t.Helper()
	return openSSEWith(t, http.DefaultTransport, true, baseURL, key, query, headers...)
}

// gatedWriter is a client that stops reading: its writes wait until
// Release, then land in buf.
type gatedWriter struct {
	header http.Header
	gate   chan struct{}
	mu     sync.Mutex
	status int
	buf    bytes.Buffer
}

func (g *gatedWriter) Header() http.Header { return g.header }
func (g *gatedWriter) WriteHeader(status int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.status == 0 {
		g.status = status
	}
}
func (g *gatedWriter) Write(b []byte) (int, error) {
	<-g.gate
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(b)
}
func (g *gatedWriter) Flush() {}

// Release lets the writes through.
func (g *gatedWriter) Release() { close(g.gate) }

// serveSlowSSE serves a stream request through the server's REST handler
// (the whole REST path, in process) to a client that reads nothing until
// Release; done is closed when the handler has returned.
func serveSlowSSE(t *testing.T, env *servertest.Env, key string) (w *gatedWriter, done <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req := httptest.NewRequestWithContext(ctx, "GET", "/v1/events/stream", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	w = &gatedWriter{header: http.Header{}, gate: make(chan struct{})}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		env.Server.Handler().ServeHTTP(w, req)
	}()
	return w, finished
}

func openSSEWith(t *testing.T, rt http.RoundTripper, read bool, baseURL, key, query string, headers ...string) (*sseStream, *servertest.Response) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", baseURL+"/v1/events/stream"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		cancel()
		t.Fatalf("open stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return nil, &servertest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	}
	s := &sseStream{Resp: resp, events: make(chan sseEvent, 4096), ended: make(chan error, 1), cancel: cancel}
	t.Cleanup(s.Close)
	if read {
		go s.read()
	}
	return s, nil
}

func (s *sseStream) read() {
	r := bufio.NewReader(s.Resp.Body)
	var ev sseEvent
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			s.ended <- err
			close(s.events)
			return
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev != (sseEvent{}) {
				s.events <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, ":"):
			s.events <- sseEvent{Comment: strings.TrimSpace(line[1:])}
		default:
			name, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch name {
			case "id":
				ev.ID = value
			case "event":
				ev.Event = value
			case "data":
				ev.Data = value
			}
		}
	}
}

// Close ends the stream from the client's side.
func (s *sseStream) Close() {
	s.cancel()
	_ = s.Resp.Body.Close()
}

// Next returns the next event, skipping comments; it fails the test if the
// stream ends or nothing comes within waitLimit.
func (s *sseStream) Next(t *testing.T) sseEvent {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatalf("the stream ended: %v", <-s.ended)
			}
			if ev.Comment != "" {
				continue
			}
			return ev
		case <-deadline:
			t.Fatalf("no event within %v", waitLimit)
		}
	}
}

// NextOrEnd returns the next event, or ok false once the body ended.
func (s *sseStream) NextOrEnd(t *testing.T) (sseEvent, bool) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return sseEvent{}, false
			}
			if ev.Comment != "" {
				continue
			}
			return ev, true
		case <-deadline:
			t.Fatalf("neither an event nor the end within %v", waitLimit)
		}
	}
}

// Seq is the event's id as a number.
func (e sseEvent) Seq(t *testing.T) int64 {
	t.Helper()
	n, err := strconv.ParseInt(e.ID, 10, 64)
	if err != nil {
		t.Fatalf("event id %q is no seq (event %+v)", e.ID, e)
	}
	return n
}

// JSON decodes the event's data.
func (e sseEvent) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(e.Data), &m); err != nil {
		t.Fatalf("event data is not JSON: %q", e.Data)
	}
	return m
}

// grpcWatch is a gRPC WatchEvents call read on a goroutine of its own.
type grpcWatch struct {
	stream grpc.ServerStreamingClient[workspacev1.Event]
	events chan *workspacev1.Event
	ended  chan error
	cancel context.CancelFunc
}

// watchGRPC opens WatchEvents and waits for its header: once it returns, a
// stream that started counts as open on the server. A refusal shows at the
// first Next or End (grpc-go gives a trailers-only answer's metadata as its
// header).
func watchGRPC(t *testing.T, conn grpc.ClientConnInterface, ctx context.Context, req *workspacev1.WatchEventsRequest, opts ...grpc.CallOption) (*grpcWatch, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	stream, err := workspacev1.NewEventServiceClient(conn).WatchEvents(ctx, req, opts...)
	if err != nil {
		cancel()
		return nil, err
	}
	if _, err := stream.Header(); err != nil {
		cancel()
		return nil, err
	}
	w := &grpcWatch{stream: stream, events: make(chan *workspacev1.Event, 4096), ended: make(chan error, 1), cancel: cancel}
	t.Cleanup(cancel)
	go func() {
		for {
			ev, err := stream.Recv()
			if err != nil {
				w.ended <- err
				close(w.events)
				return
			}
			w.events <- ev
		}
	}()
	return w, nil
}

func (w *grpcWatch) Next(t *testing.T) *workspacev1.Event {
	t.Helper()
	select {
	case ev, ok := <-w.events:
		if !ok {
			t.Fatalf("the stream ended: %v", <-w.ended)
		}
		return ev
	case <-time.After(waitLimit):
		t.Fatalf("no event within %v", waitLimit)
	}
	return nil
}

// End waits for the stream's end and returns its error.
func (w *grpcWatch) End(t *testing.T) error {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case _, ok := <-w.events:
			if !ok {
				return <-w.ended
			}
		case <-deadline:
			t.Fatalf("the stream did not end within %v", waitLimit)
		}
	}
}

// createProject writes one project (one project.created event) and returns
// its X-Event-Seq.
func createProject(t *testing.T, env *servertest.Env, key, name string) int64 {
	t.Helper()
	r := env.REST("POST", "/v1/projects", key, `{"name":"`+name+`"}`)
	if r.Status != 201 {
		t.Fatalf("create project: %d %s", r.Status, r.Body)
	}
	seq, _ := strconv.ParseInt(r.Header.Get("X-Event-Seq"), 10, 64)
	return seq
}

// errorCode is the contract code of a gRPC error.
func errorCode(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(interface{ GetReason() string }); ok {
			return info.GetReason()
		}
	}
	return ""
}

// waitUntil polls cond until it holds, failing the test after waitLimit.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, waitLimit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// refusedGRPC opens WatchEvents expecting a refusal, and returns it (nil if
// the stream started and sent an event instead).
func refusedGRPC(t *testing.T, conn grpc.ClientConnInterface, ctx context.Context, req *workspacev1.WatchEventsRequest) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	stream, err := workspacev1.NewEventServiceClient(conn).WatchEvents(ctx, req)
	if err != nil {
		return err
	}
	_, err = stream.Recv()
	if status.Code(err) == codes.DeadlineExceeded {
		t.Fatalf("the stream was not refused within %v", waitLimit)
	}
	return err
}
