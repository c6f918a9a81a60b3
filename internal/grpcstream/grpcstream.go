// Package grpcstream gives a server stream another context: how a stream
// interceptor hands values (the request id, the caller) to the steps below it.
package grpcstream

import (
	"context"

	"google.golang.org/grpc"
)

// WithContext returns ss whose Context is ctx.
func WithContext(ss grpc.ServerStream, ctx context.Context) grpc.ServerStream {
	if w, ok := ss.(*stream); ok {
		return &stream{ServerStream: w.ServerStream, ctx: ctx}
	}
	return &stream{ServerStream: ss, ctx: ctx}
}

type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }
