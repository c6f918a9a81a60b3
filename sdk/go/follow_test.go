package sdk_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/example/sdk"
	workspacev1 "github.com/example/workspace/gen/workspace/v1"
)

// scripted is an EventService whose nth WatchEvents runs script[n]; it
// records each call's request and authorization.
type scripted struct {
	workspacev1.UnimplementedEventServiceServer
	script []func(workspacev1.EventService_WatchEventsServer) error
	mu     sync.Mutex
	seen   []*workspacev1.WatchEventsRequest
	auth   []string
}

func (s *scripted) WatchEvents(req *workspacev1.WatchEventsRequest, stream workspacev1.EventService_WatchEventsServer) error {
	md, _ := metadata.FromIncomingContext(stream.Context())
	s.mu.Lock()
	n := len(s.seen)
	s.seen = append(s.seen, req)
	s.auth = append(s.auth, strings.Join(md.Get("authorization"), ","))
	s.mu.Unlock()
	if n >= len(s.script) {
		return status.Error(codes.Unavailable, "script over")
	}
	return s.script[n](stream)
}

func apiStatus(c codes.Code, reason string) error {
	st, _ := status.New(c, strings.ToLower(reason)).WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: "test"})
	return st.Err()
}

func send(stream workspacev1.EventService_WatchEventsServer, seqs ...int64) error {
	for _, seq := range seqs {
		if err := stream.Send(&workspacev1.Event{Id: "evt_x", Seq: seq, Type: "task.created"}); err != nil {
			return err
		}
	}
	return nil
}

func serveScripted(t *testing.T, s *scripted) *sdk.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	workspacev1.RegisterEventServiceServer(gs, s)
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	c, err := sdk.New(ln.Addr().String(), "wsk_x", sdk.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestFollowResumesAfterTheLastSeq(t *testing.T) {
	s := &scripted{script: []func(workspacev1.EventService_WatchEventsServer) error{
		func(st workspacev1.EventService_WatchEventsServer) error { // an end of stream (a shutdown)
			return send(st, 1, 2)
		},
		func(st workspacev1.EventService_WatchEventsServer) error { // 2 again: not yielded twice
			if err := send(st, 2, 3); err != nil {
				return err
			}
			return status.Error(codes.Unavailable, "going away")
		},
		func(st workspacev1.EventService_WatchEventsServer) error {
			if err := send(st, 4); err != nil {
				return err
			}
			return apiStatus(codes.Aborted, sdk.CodeStreamLagging)
		},
		func(st workspacev1.EventService_WatchEventsServer) error {
			if err := send(st, 5); err != nil {
				return err
			}
			<-st.Context().Done()
			return nil
		},
	}}
	c := serveScripted(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []int64
	for e, err := range c.Events.Follow(ctx, sdk.EventFilter{Types: []string{"task.created", "task.updated"}}, sdk.WithReconnectDelay(5*time.Millisecond, 50*time.Millisecond)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.GetSeq())
		if len(got) == 5 {
			break
		}
	}
	if !slices.Equal(got, []int64{1, 2, 3, 4, 5}) {
		t.Fatalf("got seqs %v", got)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var after []int64
	for i, r := range s.seen {
		after = append(after, r.GetAfterSeq())
		if r.GetTypes() != "task.created,task.updated" || s.auth[i] != "Bearer wsk_x" {
			t.Fatalf("call %d: types %q, authorization %q", i, r.GetTypes(), s.auth[i])
		}
	}
	if !slices.Equal(after, []int64{0, 2, 3, 4}) {
		t.Fatalf("after_seq of each call: %v", after)
	}
}

func TestFollowDoesNotRetryFinalErrors(t *testing.T) {
	for _, tc := range []struct {
		code   codes.Code
		reason string
	}{
		{codes.Unauthenticated, sdk.CodeUnauthorized},
		{codes.PermissionDenied, sdk.CodeForbidden},
		{codes.OutOfRange, sdk.CodeEventsExpired},
		{codes.InvalidArgument, sdk.CodeValidation},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			s := &scripted{script: []func(workspacev1.EventService_WatchEventsServer) error{
				func(workspacev1.EventService_WatchEventsServer) error { return apiStatus(tc.code, tc.reason) },
			}}
			c := serveScripted(t, s)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var errs []error
			for e, err := range c.Events.Follow(ctx, sdk.EventFilter{After: 3}, sdk.WithReconnectDelay(5*time.Millisecond, 50*time.Millisecond)) {
				if err == nil {
					t.Fatalf("an event: %v", e)
				}
				errs = append(errs, err)
			}
			var apiErr *sdk.Error
			if len(errs) != 1 || !errors.As(errs[0], &apiErr) || apiErr.Status != tc.code || apiErr.Code != tc.reason {
				t.Fatalf("errors %v, want one *sdk.Error %v %s", errs, tc.code, tc.reason)
			}
			if sdk.IsEventsExpired(errs[0]) != (tc.reason == sdk.CodeEventsExpired) {
				t.Fatalf("IsEventsExpired(%v) wrong", errs[0])
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(s.seen) != 1 || s.seen[0].GetAfterSeq() != 3 {
				t.Fatalf("calls %v, want one after 3", s.seen)
			}
		})
	}
}

func TestFollowEndsWithTheContext(t *testing.T) {
	s := &scripted{script: []func(workspacev1.EventService_WatchEventsServer) error{
		func(st workspacev1.EventService_WatchEventsServer) error {
			if err := send(st, 1); err != nil {
				return err
			}
			<-st.Context().Done()
			return nil
		},
	}}
	c := serveScripted(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []int64
	var errs []error
	for e, err := range c.Events.Follow(ctx, sdk.EventFilter{}) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, e.GetSeq())
		cancel() // while the next Recv waits
	}
	if !slices.Equal(got, []int64{1}) || len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
		t.Fatalf("events %v, errors %v; want 1 then context.Canceled", got, errs)
	}
}
