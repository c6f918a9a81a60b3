// Package eventseq ties each API call to the event log: the writes it makes
// are attributed to its request and key (store.WithOrigin), and its answer
// carries the seq of the last event they appended (x-event-seq, REST's
// X-Event-Seq), so that a client can wait for its own write in the log.
package eventseq

import (
	"context"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/example/workspace/middleware/requestid"
	"github.com/example/workspace/service/auth"
	"github.com/example/workspace/store"
)

// MetadataKey is the header metadata of a write's answer that carries the
// seq; the gateway copies it to X-Event-Seq.
const MetadataKey = "x-event-seq"

type receiptKey struct{}

// UnaryServerInterceptor gives every call an Origin (the request id, and the
// caller's key once authentication has run: it must come after it) and an
// event receipt, and after the handler sets MetadataKey when the receipt
// holds a seq: a write that appended events, or an idempotent replay of one
// (the idempotency interceptor, which must run inside this one, records the
// original seq with Record).
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		o := store.Origin{RequestID: requestid.FromContext(ctx)}
		if p, ok := auth.FromContext(ctx); ok {
			o.KeyID = p.KeyID
		}
		ctx, r := store.WithEventReceipt(store.WithOrigin(ctx, o))
		ctx = context.WithValue(ctx, receiptKey{}, r)
		resp, err := handler(ctx, req)
		if seq := r.Seq(); seq > 0 {
			_ = grpc.SetHeader(ctx, metadata.Pairs(MetadataKey, strconv.FormatInt(seq, 10)))
		}
		return resp, err
	}
}

// Seq returns the seq the call's writes have reached so far; 0 if none, or
// outside the interceptor.
func Seq(ctx context.Context) int64 {
	if r, ok := ctx.Value(receiptKey{}).(*store.EventReceipt); ok {
		return r.Seq()
	}
	return 0
}

// Record makes the call answer seq, as a write that appended it would: for a
// replayed response, the seq of the write it replays.
func Record(ctx context.Context, seq int64) { store.RecordEventSeq(ctx, seq) }
