package inproc_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/example/workspace/server/inproc"
)

// watcher streams what its test hands it, then ends with end.
type watcher struct {
	healthpb.UnimplementedHealthServer
	send chan healthpb.HealthCheckResponse_ServingStatus
	end  error
	seen chan string // the request's service, and the metadata it carried
	// early ends the stream with end before sending anything.
	early bool
}

func (w *watcher) Watch(req *healthpb.HealthCheckRequest, ss grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	md, _ := metadata.FromIncomingContext(ss.Context())
	w.seen <- req.GetService() + "/" + md.Get("x-sent")[0]
	if err := grpc.SetHeader(ss.Context(), metadata.Pairs("x-header", "h")); err != nil {
		return err
	}
	if w.early {
		return w.end // before any header was sent: a trailers-only answer
	}
	for st := range w.send {
		if err := ss.Send(&healthpb.HealthCheckResponse{Status: st}); err != nil {
			return err
		}
	}
	ss.SetTrailer(metadata.Pairs("x-trailer", "t"))
	return w.end
}

func TestStream(t *testing.T) {
	intercepted := make(chan string, 1)
	w := &watcher{send: make(chan healthpb.HealthCheckResponse_ServingStatus), end: status.Error(codes.Aborted, "lagging"), seen: make(chan string, 1)}
	ch := inproc.New(nil, func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		intercepted <- info.FullMethod
		return h(srv, ss)
	}, 1, nil)
	healthpb.RegisterHealthServer(ch, w)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-sent", "hello")
	stream, err := healthpb.NewHealthClient(ch).Watch(ctx, &healthpb.HealthCheckRequest{Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	if got := <-intercepted; got != "/grpc.health.v1.Health/Watch" {
		t.Errorf("interceptor saw %q", got)
	}
	if got := <-w.seen; got != "svc/hello" {
		t.Errorf("handler saw %q", got)
	}
	go func() {
		w.send <- healthpb.HealthCheckResponse_SERVING
		w.send <- healthpb.HealthCheckResponse_NOT_SERVING
		close(w.send)
	}()
	header, err := stream.Header()
	if err != nil || header.Get("x-header")[0] != "h" {
		t.Fatalf("header %v, %v", header, err)
	}
	for _, want := range []healthpb.HealthCheckResponse_ServingStatus{healthpb.HealthCheckResponse_SERVING, healthpb.HealthCheckResponse_NOT_SERVING} {
		resp, err := stream.Recv()
		if err != nil || resp.GetStatus() != want {
			t.Fatalf("Recv: %v, %v; want %v", resp, err, want)
		}
	}
	if _, err := stream.Recv(); status.Code(err) != codes.Aborted {
		t.Fatalf("end: %v, want the handler's Aborted", err)
	}
	if stream.Trailer().Get("x-trailer")[0] != "t" {
		t.Errorf("trailer %v", stream.Trailer())
	}
}

// A handler that ends before sending anything answers trailers-only: Header
// is nil, the header metadata set is in the trailer, Recv has the error.
func TestStreamTrailersOnly(t *testing.T) {
	w := &watcher{send: make(chan healthpb.HealthCheckResponse_ServingStatus), end: status.Error(codes.ResourceExhausted, "too many"), early: true, seen: make(chan string, 1)}
	ch := inproc.New(nil, nil, 0, nil)
	healthpb.RegisterHealthServer(ch, w)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-sent", "x")
	stream, err := healthpb.NewHealthClient(ch).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	<-w.seen
	header, err := stream.Header()
	if err != nil || header != nil {
		t.Fatalf("header %v, %v; want none", header, err)
	}
	if _, err := stream.Recv(); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("Recv: %v", err)
	}
	if stream.Trailer().Get("x-header")[0] != "h" {
		t.Errorf("trailer %v, want the header metadata set", stream.Trailer())
	}
}

// flood sends until a send fails.
type flood struct {
	healthpb.UnimplementedHealthServer
}

func (flood) Watch(_ *healthpb.HealthCheckRequest, ss grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	for {
		if err := ss.Send(&healthpb.HealthCheckResponse{}); err != nil {
			return err
		}
	}
}

// A client that goes away ends the handler's context: a handler blocked on a
// send (the client reads no more) returns.
func TestStreamClientCancels(t *testing.T) {
	ended := make(chan error, 1)
	ch := inproc.New(nil, func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		err := h(srv, ss)
		ended <- err
		return err
	}, 0, nil)
	healthpb.RegisterHealthServer(ch, flood{})
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := healthpb.NewHealthClient(ch).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-ended; status.Code(err) != codes.Canceled {
		t.Errorf("handler ended with %v, want Canceled", err)
	}
	if _, err := stream.Recv(); status.Code(err) != codes.Canceled {
		t.Errorf("Recv after cancel: %v", err)
	}
}
