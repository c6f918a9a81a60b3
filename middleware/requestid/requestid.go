// Package requestid gives every request an id — the client's own when it sent a
// sane one, else a new one — carried in the context and returned as x-request-id.
package requestid

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/internal/grpcstream"
	"github.com/example/workspace/internal/ids"
)

// Metadata is the gRPC metadata key (and, canonicalised, the HTTP header).
const Metadata = "x-request-id"

// maxLength bounds a client's id so that logs and headers stay small.
const maxLength = 128

// Sane reports whether a client-sent id can be used as is: 1 to 128 characters
// of letters, digits and - _ . : so that it cannot forge log lines or headers.
func Sane(id string) bool {
	if id == "" || len(id) > maxLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// New returns a fresh id.
func New() string { return ids.New("req_") }

// Ensure returns id if it is sane, else a new one.
func Ensure(id string) string {
	if Sane(id) {
		return id
	}
	return New()
}

type ctxKey struct{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the request's id, or "".
func FromContext(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// UnaryServerInterceptor settles the request id first of all, returns it as
// header metadata, and adds it to the details of every INTERNAL_ERROR so that a
// user can quote it.
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		var sent string
		if v := metadata.ValueFromIncomingContext(ctx, Metadata); len(v) > 0 {
			sent = v[0]
		}
		id := Ensure(sent)
		ctx = NewContext(ctx, id)
		_ = grpc.SetHeader(ctx, metadata.MD{Metadata: {id}})
		resp, err := handler(ctx, req)
		if err != nil {
			err = withRequestID(err, id)
		}
		return resp, err
	}
}

// StreamServerInterceptor does the same for streams: the id is in the
// stream's context and its header, and an INTERNAL_ERROR ending the stream
// carries it.
func StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		var sent string
		if v := metadata.ValueFromIncomingContext(ss.Context(), Metadata); len(v) > 0 {
			sent = v[0]
		}
		id := Ensure(sent)
		_ = ss.SetHeader(metadata.MD{Metadata: {id}})
		if err := handler(srv, grpcstream.WithContext(ss, NewContext(ss.Context(), id))); err != nil {
			return withRequestID(err, id)
		}
		return nil
	}
}

func withRequestID(err error, id string) error {
	e, ok := apierror.As(err)
	if !ok {
		// A bare status or error that is not INTERNAL already says what it is;
		// anything unknown is an internal error.
		if c := status.Code(err); c != codes.Internal && c != codes.Unknown {
			return err
		}
		e = apierror.Internal(err)
	}
	if e.Code != apierror.CodeInternal {
		return err
	}
	return e.WithDetail("request_id", id)
}
