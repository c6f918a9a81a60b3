package inproc

import (
	"context"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// NewStream opens a server-streaming call: the handler runs, through the
// channel's stream interceptor, on a goroutine of its own, with a context
// that ends when the client's does. It receives the one request the client
// sends; each message it sends waits until the client receives it (or the
// client's context ends), so a client that stops reading holds the handler
// back, as HTTP/2 flow control would, and never buffers without bound.
//
// As over a connection: Header blocks until the handler sends its header
// (SendHeader or its first message) or ends, and returns nil metadata if it
// ended first (the header metadata set is then in Trailer); RecvMsg returns
// io.EOF after a handler that returned nil, its error otherwise.
func (c *Channel) NewStream(ctx context.Context, desc *grpc.StreamDesc, fullMethod string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
	m, ok := c.streams[fullMethod]
	if !ok || desc.ClientStreams {
		return nil, status.Errorf(codes.Unimplemented, "stream %s is not served in process", fullMethod)
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	sctx, cancel := context.WithCancel(metadata.NewIncomingContext(peer.NewContext(ctx, c.peer), md))
	p := &pipe{
		method: fullMethod,
		req:    make(chan proto.Message, 1),
		msgs:   make(chan proto.Message),
		acks:   make(chan struct{}),
		header: make(chan struct{}),
		done:   make(chan struct{}),
		cancel: cancel,
	}
	ss := &serverStream{p: p, ctx: grpc.NewContextWithServerTransportStream(sctx, p)}
	info := &grpc.StreamServerInfo{FullMethod: fullMethod, IsClientStream: false, IsServerStream: true}
	go func() {
		defer cancel()
		var err error
		if c.streamIntc != nil {
			err = c.streamIntc(m.impl, ss, info, m.handler)
		} else {
			err = m.handler(m.impl, ss)
		}
		p.finish(err)
	}()
	return &clientStream{p: p, ctx: ctx}, nil
}

// pipe is what the two ends of one in-process stream share.
type pipe struct {
	method string
	req    chan proto.Message // the client's one request
	msgs   chan proto.Message // unbuffered: a send completes when received
	acks   chan struct{}      // the receiver has copied the message it took
	cancel context.CancelFunc

	mu          sync.Mutex
	headerMD    metadata.MD
	trailerMD   metadata.MD
	headerSent  bool
	header      chan struct{} // closed when the header is sent
	done        chan struct{} // closed when the handler has returned
	err         error         // the handler's error, once done
	sentRequest bool
	reqClosed   bool
}

func (p *pipe) Method() string { return p.method }

func (p *pipe) SetHeader(md metadata.MD) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.headerSent {
		return status.Error(codes.Internal, "the header was already sent")
	}
	p.headerMD = merge(p.headerMD, md)
	return nil
}

func (p *pipe) SendHeader(md metadata.MD) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.headerSent {
		return status.Error(codes.Internal, "the header was already sent")
	}
	p.headerMD = merge(p.headerMD, md)
	p.headerSent = true
	close(p.header)
	return nil
}

func (p *pipe) SetTrailer(md metadata.MD) error {
	p.mu.Lock()
	p.trailerMD = merge(p.trailerMD, md)
	p.mu.Unlock()
	return nil
}

// sendHeaderOnce sends the header if it was not: before the first message.
func (p *pipe) sendHeaderOnce() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.headerSent {
		p.headerSent = true
		close(p.header)
	}
}

// finish records the handler's outcome. A header never sent becomes part of
// the trailer, as in a trailers-only gRPC answer.
func (p *pipe) finish(err error) {
	p.mu.Lock()
	if !p.headerSent {
		p.trailerMD = merge(p.headerMD, p.trailerMD)
		p.headerMD = nil
	}
	p.err = err
	p.mu.Unlock()
	close(p.done)
}

// serverStream is the handler's end.
type serverStream struct {
	p   *pipe
	ctx context.Context
}

func (s *serverStream) SetHeader(md metadata.MD) error  { return s.p.SetHeader(md) }
func (s *serverStream) SendHeader(md metadata.MD) error { return s.p.SendHeader(md) }
func (s *serverStream) SetTrailer(md metadata.MD)       { _ = s.p.SetTrailer(md) }
func (s *serverStream) Context() context.Context        { return s.ctx }

func (s *serverStream) SendMsg(m any) error {
	msg, ok := m.(proto.Message)
	if !ok {
		return status.Error(codes.Internal, "in-process stream of a non-protobuf message")
	}
	s.p.sendHeaderOnce()
	select {
	case s.p.msgs <- msg:
		// The receiver copies msg and acknowledges at once: until then
		// the handler must not change it (as with grpc-go, which has
		// serialised it when SendMsg returns). One copy, not two.
		<-s.p.acks
		return nil
	case <-s.ctx.Done():
		return status.FromContextError(s.ctx.Err()).Err()
	}
}

func (s *serverStream) RecvMsg(m any) error {
	select {
	case req, ok := <-s.p.req:
		if !ok {
			return io.EOF
		}
		proto.Merge(m.(proto.Message), req)
		return nil
	case <-s.ctx.Done():
		return status.FromContextError(s.ctx.Err()).Err()
	}
}

// clientStream is the caller's end.
type clientStream struct {
	p   *pipe
	ctx context.Context
}

func (c *clientStream) Header() (metadata.MD, error) {
	select {
	case <-c.p.header:
	case <-c.p.done:
	case <-c.ctx.Done():
		return nil, status.FromContextError(c.ctx.Err()).Err()
	}
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	if !c.p.headerSent {
		return nil, nil // ended first: trailers only
	}
	return c.p.headerMD.Copy(), nil
}

func (c *clientStream) Trailer() metadata.MD {
	select {
	case <-c.p.done:
	default:
		return nil // as grpc-go: only once the stream has ended
	}
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	return c.p.trailerMD.Copy()
}

// CloseSend closes the request side; the handler's next RecvMsg is io.EOF.
func (c *clientStream) CloseSend() error {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	if !c.p.reqClosed {
		c.p.reqClosed = true
		close(c.p.req)
	}
	return nil
}

func (c *clientStream) Context() context.Context { return c.ctx }

// SendMsg sends the stream's one request (a copy).
func (c *clientStream) SendMsg(m any) error {
	msg, ok := m.(proto.Message)
	if !ok {
		return status.Error(codes.Internal, "in-process stream of a non-protobuf message")
	}
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	if c.p.sentRequest || c.p.reqClosed {
		return status.Error(codes.Internal, "a server stream takes one request")
	}
	c.p.sentRequest = true
	c.p.req <- proto.Clone(msg)
	return nil
}

func (c *clientStream) RecvMsg(m any) error {
	select {
	case msg := <-c.p.msgs:
		proto.Merge(m.(proto.Message), msg)
		c.p.acks <- struct{}{}
		return nil
	case <-c.p.done:
		c.p.mu.Lock()
		err := c.p.err
		c.p.mu.Unlock()
		if err == nil {
			return io.EOF
		}
		return err
	case <-c.ctx.Done():
		c.p.cancel()
		return status.FromContextError(c.ctx.Err()).Err()
	}
}
