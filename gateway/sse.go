package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/example/workspace/apierror"
	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/middleware/accesslog"
	"github.com/example/workspace/middleware/requestid"
	"github.com/example/workspace/service/admission"
)

// StreamPath serves WatchEvents as Server-Sent Events.
const StreamPath = "/v1/events/stream"

// Defaults of the event stream's Options.
const (
	DefaultKeepAlive = 15 * time.Second
	// DefaultStreamWriteTimeout bounds each write of an event stream: a
	// client that reads nothing for that long is cut off (the server's
	// WriteTimeout, which bounds a whole answer, does not apply to it).
	DefaultStreamWriteTimeout = 30 * time.Second
)

// serveEvents is GET /v1/events/stream: WatchEvents through the in-process
// channel (the one interceptor chain: admission, scope, the stream bound),
// written as Server-Sent Events. Until the stream's header arrives nothing
// is written, so every refusal (401, 403, 429, 400, 410) is an ordinary
// answer in the envelope; after it, each event is
//
//	id: <seq>
//	event: <type>
//	data: <the Event's JSON, as GET /v1/events writes it>
//
// and a blank line, flushed at once. A ": keep-alive" comment goes out after
// every KeepAlive of silence. An end the client must act on (STREAM_LAGGING,
// a revoked key's UNAUTHORIZED) is an "event: error" whose data is the
// error envelope, then the body ends; a shutdown just ends the body (the
// client reconnects, to another replica, with Last-Event-ID).
func (g *Gateway) serveEvents(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	ctx := r.Context()
	accesslog.SetRoutePattern(ctx, StreamPath)
	if m := clientRequestFrom(ctx).method; m == http.MethodHead {
		w.Header().Set("Allow", http.MethodGet)
		g.reject(w, r, apierror.New(apierror.CodeMethodNotAllowed, "Method HEAD is not allowed on "+StreamPath+": it is a stream, open it with GET", nil))
		return
	}
	req, e := streamRequest(r)
	if e != nil {
		g.reject(w, r, e)
		return
	}
	md := metadata.MD{}
	if v := r.Header.Values("Authorization"); len(v) > 0 {
		md[admission.MetadataAuthorization] = v
	}
	if id := r.Header.Get("X-Request-Id"); id != "" {
		md[requestid.Metadata] = []string{id}
	}
	ctx, cancel := context.WithCancel(metadata.NewOutgoingContext(ctx, md))
	defer cancel()
	stream, err := workspacev1.NewEventServiceClient(g.conn).WatchEvents(ctx, req)
	if err != nil {
		g.streamRefused(w, r, nil, err)
		return
	}
	header, err := stream.Header()
	if err == nil && header == nil {
		// Refused before it started: the error is the call's status, the
		// rate-limit headers are in its trailer.
		_, err = stream.Recv()
	}
	if err != nil {
		g.streamRefused(w, r, stream.Trailer(), err)
		return
	}

	h := w.Header()
	writeHeaders(w, header)
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	h.Del("Content-Length")
	sw := &sseWriter{w: w, rc: http.NewResponseController(w), timeout: g.streamWriteTimeout}
	// The server's read timeout would end the request's context mid-stream
	// (net/http watches the connection while a handler runs); the write
	// timeout is replaced by one per write (sseWriter).
	_ = sw.rc.SetReadDeadline(time.Time{})
	w.WriteHeader(http.StatusOK)
	if sw.flush() != nil {
		return
	}
	sw.keepAlive(g.keepAlive)
	defer sw.close()

	buf := make([]byte, 0, 1024)
	for {
		ev, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return
			}
			st := status.Convert(err)
			if st.Code() == codes.Unavailable || st.Code() == codes.Canceled {
				return // shutdown: the body ends, the client resumes elsewhere
			}
			e := apierror.FromStatus(st)
			if e.Code == apierror.CodeInternal {
				e = apierror.New(apierror.CodeInternal, "Internal server error", map[string]string{"request_id": w.Header().Get("X-Request-Id")})
			}
			buf = append(buf[:0], "event: error\ndata: "...)
			buf = append(buf, errorJSON(e)...)
			buf = append(buf, "\n\n"...)
			_ = sw.write(buf)
			return
		}
		buf = append(buf[:0], "id: "...)
		buf = strconv.AppendInt(buf, ev.GetSeq(), 10)
		buf = append(buf, "\nevent: "...)
		buf = append(buf, ev.GetType()...)
		buf = append(buf, "\ndata: "...)
		data, err := g.eventJSON.get(ev, g.marshaler)
		if err != nil {
			return
		}
		buf = append(buf, data...)
		buf = append(buf, "\n\n"...)
		if sw.write(buf) != nil {
			return
		}
	}
}

// streamRefused answers a stream refused before it started, as handleError
// answers a call.
func (g *Gateway) streamRefused(w http.ResponseWriter, r *http.Request, trailer metadata.MD, err error) {
	writeHeaders(w, trailer)
	e := apierror.FromStatus(status.Convert(err))
	if e.Code == apierror.CodeInternal {
		e = apierror.New(apierror.CodeInternal, "Internal server error", map[string]string{"request_id": w.Header().Get("X-Request-Id")})
	}
	challenge(w, r, e)
	writeError(w, e)
}

// streamRequest reads the stream's position and types: ?after= or the
// Last-Event-ID header an EventSource sends when it reconnects (the seq of
// the last event it got). Both may be given if they agree (a client that
// always adds ?after= from its first connection cannot know the header its
// browser adds later — but a disagreement means one of them is stale, and
// guessing which could skip or repeat events, so it is a 400 naming after).
func streamRequest(r *http.Request) (*workspacev1.WatchEventsRequest, *apierror.Error) {
	q := r.URL.Query()
	req := &workspacev1.WatchEventsRequest{Types: q.Get("types")}
	after, fromQuery := int64(0), q.Has("after")
	if fromQuery {
		n, err := strconv.ParseInt(q.Get("after"), 10, 64)
		if err != nil || n < 0 {
			return nil, apierror.Validation("after", "after must be a seq, 0 or more")
		}
		after = n
	}
	if v := r.Header.Values("Last-Event-ID"); len(v) > 0 {
		if len(v) > 1 {
			return nil, apierror.Validation("Last-Event-ID", "Send one Last-Event-ID header, not several")
		}
		n, err := strconv.ParseInt(v[0], 10, 64)
		if err != nil || n < 0 {
			return nil, apierror.Validation("Last-Event-ID", "Last-Event-ID must be the seq of an event, 0 or more")
		}
		if fromQuery && n != after {
			return nil, apierror.Validation("after", "after ("+strconv.FormatInt(after, 10)+") and Last-Event-ID ("+v[0]+") disagree: send one of them")
		}
		after = n
	}
	req.AfterSeq = after
	return req, nil
}

// sseWriter serialises the stream's writes: the events, written by the
// handler, and the keep-alive comments, written by a timer's function (no
// goroutine waits between them).
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration

	mu     sync.Mutex
	closed bool
	timer  *time.Timer
	every  time.Duration
}

var keepAliveComment = []byte(": keep-alive\n\n")

func (s *sseWriter) write(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return http.ErrHandlerTimeout
	}
	if s.timer != nil {
		s.timer.Reset(s.every) // silence is counted from the last write
	}
	return s.writeLocked(b)
}

func (s *sseWriter) writeLocked(b []byte) error {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	return s.rc.Flush()
}

func (s *sseWriter) flush() error {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	return s.rc.Flush()
}

func (s *sseWriter) keepAlive(every time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.every = every
	s.timer = time.AfterFunc(every, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return
		}
		if s.writeLocked(keepAliveComment) == nil {
			s.timer.Reset(s.every)
		}
	})
}

// close stops the keep-alives: nothing writes once the handler returns.
func (s *sseWriter) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
}

// eventJSONCache keeps the JSON of the latest events by id: every stream of
// a workspace writes the same event, and encoding it once instead of once
// per watcher is most of a delivery's cost with many watchers.
type eventJSONCache struct {
	mu   sync.Mutex
	byID map[string][]byte
	ring [eventJSONCached]string // ids, oldest overwritten first
	next int
}

// eventJSONCached bounds the cache: a few seconds of events at a high rate.
const eventJSONCached = 1024

func (c *eventJSONCache) get(ev *workspacev1.Event, m *envelopeMarshaler) ([]byte, error) {
	id := ev.GetId()
	c.mu.Lock()
	b, ok := c.byID[id]
	c.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := m.appendJSON(nil, ev)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID == nil {
		c.byID = make(map[string][]byte, eventJSONCached)
	}
	if _, ok := c.byID[id]; !ok {
		delete(c.byID, c.ring[c.next])
		c.ring[c.next] = id
		c.next = (c.next + 1) % eventJSONCached
		c.byID[id] = b
	}
	return b, nil
}
