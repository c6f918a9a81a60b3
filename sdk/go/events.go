package sdk

import (
	"context"
	"errors"
	"io"
	"iter"
	"math/rand/v2"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
)

// Event is one entry of the workspace's event log: GetSeq is its place in
// the log (1, 2, 3…, no gap), GetData the resource after the change (for a
// delete, as it was) as its Get renders it, GetPrevious (updates only) the
// old values of the top-level fields that changed.
type Event = workspacev1.Event

// CodeEventsExpired: an After older than the log's retention (gRPC
// OutOfRange; REST 410). The events after it are gone: resync from the
// lists, then follow from the newest seq. See IsEventsExpired.
const CodeEventsExpired = "EVENTS_EXPIRED"

// CodeStreamLagging: a follower fell so far behind that the server ended
// its stream (gRPC Aborted); Follow resumes it by itself.
const CodeStreamLagging = "STREAM_LAGGING"

// IsEventsExpired reports whether err says that the events after the
// position asked for were pruned: resync from the lists.
func IsEventsExpired(err error) bool { return CodeOf(err) == CodeEventsExpired }

// EventFilter selects events of the log.
type EventFilter struct {
	// After is a seq: only events after it; 0 is the start of the log.
	After int64
	// Types keeps only events of these types ("task.created"…); all when
	// empty.
	Types []string
}

func (f EventFilter) types() string { return strings.Join(f.Types, ",") }

// EventsService is /v1/events: the workspace's event log (read scope).
type EventsService struct {
	rpc workspacev1.EventServiceClient
}

// List returns one page of the events matching f, oldest first; the page's
// Pagination.NextCursor is the cursor of the next. A cursor carries its
// position, so with opts.Cursor set f.After is not sent (f.Types must be
// the first page's). An After older than the retention is an *Error with
// code CodeEventsExpired.
func (s *EventsService) List(ctx context.Context, f EventFilter, opts *ListOptions) ([]*Event, *Pagination, error) {
	req := &workspacev1.ListEventsRequest{Limit: opts.limit(), Types: f.types(), PageToken: opts.cursor()}
	if req.PageToken == "" {
		req.AfterSeq = f.After
	}
	r, err := s.rpc.ListEvents(ctx, req)
	return r.GetData(), withCursor(r.GetPagination(), r.GetNextPageToken()), err
}

// All iterates over every event matching f, oldest first, pageSize at a time
// (0: 20), following the cursors.
func (s *EventsService) All(ctx context.Context, f EventFilter, pageSize int) iter.Seq2[*Event, error] {
	return pages(ctx, pageSize, func(ctx context.Context, limit *int32, token string) ([]*Event, *string, error) {
		req := &workspacev1.ListEventsRequest{Limit: limit, Types: f.types(), PageToken: token}
		if token == "" {
			req.AfterSeq = f.After
		}
		r, err := s.rpc.ListEvents(ctx, req)
		return r.GetData(), r.NextPageToken, err
	})
}

// FollowOption tunes Follow.
type FollowOption func(*followConfig)

type followConfig struct {
	delay, maxDelay time.Duration
	onConnect       func()
}

// WithReconnectDelay sets the wait before reopening a dropped stream: first
// (default 1s), doubled after each failed attempt up to max (default 30s).
func WithReconnectDelay(first, max time.Duration) FollowOption {
	return func(c *followConfig) { c.delay, c.maxDelay = first, max }
}

// OnConnect calls f each time Follow opens its stream, the first time
// included (to count reconnects, or log them).
func OnConnect(f func()) FollowOption { return func(c *followConfig) { c.onConnect = f } }

// Follow streams the events matching f live over gRPC WatchEvents: the
// log's replay after f.After, then each new event as it commits. It
// remembers the seq of the last event it yielded, and when the stream
// drops (UNAVAILABLE: a network error or a server shutting down; ABORTED:
// CodeStreamLagging; RESOURCE_EXHAUSTED, INTERNAL, UNKNOWN, or an end of
// stream) it reopens it after that seq, with a backoff, so that every event
// comes once, in order. Any other failure (UNAUTHENTICATED, PERMISSION_DENIED,
// OUT_OF_RANGE = CodeEventsExpired, INVALID_ARGUMENT) is yielded as an
// *Error and ends it; so is ctx's end (ctx.Err()). Breaking out of the loop
// closes the stream.
//
//	for e, err := range client.Events.Follow(ctx, sdk.EventFilter{After: seq}) {
//		if err != nil { … }
//		seq = e.GetSeq()
//	}
func (s *EventsService) Follow(ctx context.Context, f EventFilter, opts ...FollowOption) iter.Seq2[*Event, error] {
	cfg := followConfig{delay: time.Second, maxDelay: 30 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	return func(yield func(*Event, error) bool) {
		last := f.After
		failures := 0
		for {
			more, err := s.watch(ctx, f.types(), &last, &failures, cfg, yield)
			if !more {
				return
			}
			if ctx.Err() != nil {
				yield(nil, ctx.Err())
				return
			}
			if !resumable(err) {
				yield(nil, err)
				return
			}
			failures++
			d := min(cfg.maxDelay, cfg.delay<<min(failures-1, 20))
			wait := d/2 + rand.N(d/2+1)
			var e *Error
			if errors.As(err, &e) && e.Status == codes.ResourceExhausted && e.RateLimit.RetryAfter > wait {
				wait = e.RateLimit.RetryAfter // the rate limit or the plan's open streams
			}
			if err := sleepCtx(ctx, wait); err != nil {
				yield(nil, err)
				return
			}
		}
	}
}

// watch opens one stream and yields its events after *last until it fails
// (err) or the caller stops (more false).
func (s *EventsService) watch(ctx context.Context, types string, last *int64, failures *int, cfg followConfig, yield func(*Event, error) bool) (more bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := s.rpc.WatchEvents(sctx, &workspacev1.WatchEventsRequest{AfterSeq: *last, Types: types})
	if err != nil {
		return true, newError(err, nil, nil)
	}
	if cfg.onConnect != nil {
		cfg.onConnect()
	}
	for {
		e, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return true, io.EOF
			}
			var header metadata.MD
			if h, herr := stream.Header(); herr == nil {
				header = h
			}
			return true, newError(err, header, stream.Trailer())
		}
		if e.GetSeq() <= *last {
			continue // never twice
		}
		*last = e.GetSeq()
		*failures = 0
		if !yield(e, nil) {
			return false, nil
		}
	}
}

// resumable says whether a stream that ended with err is worth reopening.
func resumable(err error) bool {
	if errors.Is(err, io.EOF) {
		return true // the server ended the stream (a shutdown): go on elsewhere
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.Aborted, codes.ResourceExhausted, codes.Internal, codes.Unknown:
		return true
	}
	return false
}
