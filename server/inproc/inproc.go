// Package inproc is a gRPC client connection that calls registered services
// directly, through a server interceptor chain: unary calls on the caller's
// goroutine, server streams on one goroutine of their own, joined to the
// client's stream by channels. It is the gateway's way into the service
// without HTTP/2 or sockets.
package inproc

import (
	"context"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Network is the network of the peer that handlers see for in-process calls;
// no real connection has it.
const Network = "inproc"

type addr struct{}

func (addr) Network() string { return Network }
func (addr) String() string  { return Network }

var _ net.Addr = addr{}

type method struct {
	impl    any
	handler grpc.MethodHandler
}

type streamMethod struct {
	impl    any
	handler grpc.StreamHandler
	desc    grpc.StreamDesc
}

// Channel is both a grpc.ServiceRegistrar (register services on it as on a
// grpc.Server) and a grpc.ClientConnInterface (hand it to generated clients).
// Unary and server-streaming methods are served (client streams are not).
// Register everything before the first call.
type Channel struct {
	methods     map[string]method
	streams     map[string]streamMethod
	interceptor grpc.UnaryServerInterceptor
	streamIntc  grpc.StreamServerInterceptor
	peer        *peer.Peer
	// admit holds a slot per call running; callers beyond it wait in order.
	admit chan struct{}
	// ungated methods do not take a slot.
	ungated func(fullMethod string) bool
}

// New returns a channel whose unary calls run through interceptor and whose
// streams through stream (nil: none), unary calls at most maxCalls at a time (0: no limit); further callers are admitted first
// come, first served. Without the bound, a saturated server runs every
// waiting handler at once and the Go scheduler, which is not fair among
// runnable goroutines, lets a few of them wait for up to a second.
//
// Calls of methods for which ungated (if not nil) is true do not count
// against maxCalls: those that spend most of their time waiting rather than
// computing, such as writes that wait for a group commit, which would
// otherwise hold every slot while the commit could have taken more of them.
// Streams never take a slot: they last as long as their client wants.
func New(interceptor grpc.UnaryServerInterceptor, stream grpc.StreamServerInterceptor, maxCalls int, ungated func(fullMethod string) bool) *Channel {
	c := &Channel{methods: map[string]method{}, streams: map[string]streamMethod{}, interceptor: interceptor, streamIntc: stream, peer: &peer.Peer{Addr: addr{}}, ungated: ungated}
	if maxCalls > 0 {
		c.admit = make(chan struct{}, maxCalls)
	}
	return c
}

// RegisterService makes the service's unary and server-streaming methods
// callable.
func (c *Channel) RegisterService(sd *grpc.ServiceDesc, impl any) {
	for _, m := range sd.Methods {
		c.methods["/"+sd.ServiceName+"/"+m.MethodName] = method{impl: impl, handler: m.Handler}
	}
	for _, st := range sd.Streams {
		if st.ServerStreams && !st.ClientStreams {
			c.streams["/"+sd.ServiceName+"/"+st.StreamName] = streamMethod{impl: impl, handler: st.Handler, desc: st}
		}
	}
}

// Invoke calls the method as a gRPC server would: the outgoing metadata
// becomes incoming metadata, headers and trailers the handler sets reach the
// grpc.Header and grpc.Trailer call options, and errors arrive unchanged.
// Request and response are copied, so that neither side shares a message the
// other may still use.
func (c *Channel) Invoke(ctx context.Context, fullMethod string, args, reply any, opts ...grpc.CallOption) error {
	m, ok := c.methods[fullMethod]
	if !ok {
		return status.Errorf(codes.Unimplemented, "method %s is not served in process", fullMethod)
	}
	in, ok1 := args.(proto.Message)
	out, ok2 := reply.(proto.Message)
	if !ok1 || !ok2 {
		return status.Errorf(codes.Internal, "in-process call of %s with non-protobuf messages", fullMethod)
	}
	if c.admit != nil && (c.ungated == nil || !c.ungated(fullMethod)) {
		select {
		case c.admit <- struct{}{}:
			defer func() { <-c.admit }()
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	sts := &transportStream{method: fullMethod}
	sctx := metadata.NewIncomingContext(peer.NewContext(ctx, c.peer), md)
	sctx = grpc.NewContextWithServerTransportStream(sctx, sts)
	dec := func(v any) error {
		proto.Merge(v.(proto.Message), in)
		return nil
	}
	resp, err := m.handler(m.impl, sctx, dec, c.interceptor)
	for _, o := range opts {
		switch o := o.(type) {
		case grpc.HeaderCallOption:
			*o.HeaderAddr = sts.header
		case grpc.TrailerCallOption:
			*o.TrailerAddr = sts.trailer
		}
	}
	if err != nil {
		return err
	}
	msg, ok := resp.(proto.Message)
	if !ok || msg == nil {
		return status.Errorf(codes.Internal, "handler of %s returned no message", fullMethod)
	}
	proto.Merge(out, msg)
	return nil
}

// transportStream collects what a handler sets with grpc.SetHeader,
// grpc.SendHeader and grpc.SetTrailer. A unary call runs on one goroutine,
// so it needs no lock.
type transportStream struct {
	method  string
	header  metadata.MD
	trailer metadata.MD
}

func (s *transportStream) Method() string { return s.method }

func (s *transportStream) SetHeader(md metadata.MD) error {
	s.header = merge(s.header, md)
	return nil
}

func (s *transportStream) SendHeader(md metadata.MD) error { return s.SetHeader(md) }

func (s *transportStream) SetTrailer(md metadata.MD) error {
	s.trailer = merge(s.trailer, md)
	return nil
}

// merge appends md's values to dst, which the stream owns, allocating it on
// first use; metadata.Join would copy everything set so far on every call,
// and a call sets its headers in several steps (request id, rate limit…).
func merge(dst, md metadata.MD) metadata.MD {
	if dst == nil {
		dst = make(metadata.MD, 8)
	}
	for k, v := range md {
		dst[k] = append(dst[k], v...)
	}
	return dst
}
