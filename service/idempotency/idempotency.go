// Package idempotency makes creates safe to retry: a create sent with an
// Idempotency-Key (gRPC metadata idempotency-key) runs once per key and
// workspace, and every retry within a day gets the first response again
// (IETF draft-ietf-httpapi-idempotency-key-header, as Stripe does it).
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/apimethod"
	"github.com/example/workspace/middleware/accesslog"
	"github.com/example/workspace/service/auth"
	"github.com/example/workspace/service/eventseq"
	"github.com/example/workspace/store"
)

const (
	// MetadataKey carries the key over gRPC; the gateway forwards the
	// Idempotency-Key header as it.
	MetadataKey = "idempotency-key"
	// MetadataReplayed is set to "true" on a replayed response; REST clients
	// see it as Idempotent-Replayed: true.
	MetadataReplayed = "idempotent-replayed"
	// TTL is how long a key and its response are kept.
	TTL = 24 * time.Hour
	// StaleAfter is how long a request may hold its key before it is taken to
	// have died with its process (SIGKILL between reserving and completing),
	// so that retries are not refused with 409 for a whole day. It is far
	// above any request's lifetime (the HTTP server's write timeout is 30 s).
	StaleAfter = 5 * time.Minute
	// MaxKeyLength bounds a key.
	MaxKeyLength = 255
)

// CheckKeys validates the values sent for the key: exactly one, and valid.
func CheckKeys(values []string) *apierror.Error {
	if len(values) != 1 {
		return apierror.Validation(MetadataKey, "Send one Idempotency-Key, not several")
	}
	return CheckKey(values[0])
}

// CheckKey validates a key: 1 to 255 printable ASCII characters.
func CheckKey(key string) *apierror.Error {
	if len(key) == 0 || len(key) > MaxKeyLength {
		return invalidKey()
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return invalidKey()
		}
	}
	return nil
}

func invalidKey() *apierror.Error {
	return apierror.Validation(MetadataKey, "Idempotency-Key must be 1 to 255 printable ASCII characters")
}

// Fingerprint identifies a request: the SHA-256 of its full method name and
// its deterministic protobuf encoding. A REST body and the gRPC request it
// transcodes to have the same fingerprint, and so do two JSON bodies that
// differ only in spacing or member order.
func Fingerprint(method string, req proto.Message) ([]byte, error) {
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write(body)
	return h.Sum(nil), nil
}

// UnaryServerInterceptor enforces keys as each method's row in the method
// table declares: honoured on creates, ignored by reads, updates and deletes
// (idempotent by nature, as Stripe ignores it on GET and DELETE), refused by
// creates whose response must never be stored (a new API key's secret exists
// only in that response, so it could be neither stored nor replayed; a 400
// rather than silently ignoring it, which would let a retry create a second
// key). It must run after authentication (keys are scoped to the caller's
// workspace) and after authorization (a key lacking the scope must get 403,
// not a replay).
func UnaryServerInterceptor(st store.IdempotencyKeys, now func() time.Time, methods *apimethod.Table) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		values := metadata.ValueFromIncomingContext(ctx, MetadataKey)
		if len(values) == 0 {
			return handler(ctx, req)
		}
		m, ok := methods.Lookup(info.FullMethod)
		if !ok {
			return handler(ctx, req)
		}
		// A malformed key is refused on every method, the same on both
		// surfaces (the gateway checks it before forwarding it).
		if e := CheckKeys(values); e != nil {
			return nil, e
		}
		switch m.Idempotency {
		case apimethod.KeyHonoured:
		case apimethod.KeyRefused:
			return nil, apierror.Validation(MetadataKey, "Idempotency-Key is not accepted here: the response carries a secret that is never stored")
		default:
			return handler(ctx, req)
		}
		key := values[0]
		p, ok := auth.FromContext(ctx)
		msg, isProto := req.(proto.Message)
		if !ok || !isProto {
			return nil, apierror.Internal(errWiring)
		}
		fp, err := Fingerprint(info.FullMethod, msg)
		if err != nil {
			return nil, apierror.Internal(err)
		}
		t := now().UTC().Truncate(time.Microsecond)
		rec, reserved, err := st.ReserveIdempotencyKey(ctx, store.IdempotencyKey{
			WorkspaceID: p.WorkspaceID, Key: key, Fingerprint: fp, CreatedAt: t,
		}, t.Add(-TTL), t.Add(-StaleAfter))
		if err != nil {
			return nil, apierror.From(err)
		}
		if !reserved {
			return replay(ctx, rec, fp)
		}

		resp, err := handler(ctx, req)
		// The outcome is recorded even if the client has gone: a retry must
		// find it.
		bg := context.WithoutCancel(ctx)
		if err != nil {
			// Nothing was created: a retry runs afresh (a failed request
			// leaves no result to replay, as with Stripe's validation errors).
			if rerr := st.ReleaseIdempotencyKey(bg, p.WorkspaceID, key); rerr != nil {
				accesslog.AddAttrs(ctx, slog.String("idempotency_error", rerr.Error()))
			}
			return resp, err
		}
		if cerr := complete(bg, st, p.WorkspaceID, key, resp, eventseq.Seq(ctx), now); cerr != nil {
			// The resource exists and the client gets it; only a retry would
			// be refused (409) until the record goes stale.
			accesslog.AddAttrs(ctx, slog.String("idempotency_error", cerr.Error()))
		}
		return resp, nil
	}
}

// seqField is the field of a stored response that holds the X-Event-Seq of
// the write: the record is a google.protobuf.Any (fields 1 and 2) followed by
// this varint field, which Any does not have, so a record written before it
// existed still reads (as no seq) and the field survives as an unknown field
// of the decoded Any.
const seqField protowire.Number = 15

func complete(ctx context.Context, st store.IdempotencyKeys, workspaceID, key string, resp any, seq int64, now func() time.Time) error {
	msg, ok := resp.(proto.Message)
	if !ok {
		return errWiring
	}
	a, err := anypb.New(msg)
	if err != nil {
		return err
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(a)
	if err != nil {
		return err
	}
	if seq > 0 {
		b = appendSeq(b, seq)
	}
	return st.CompleteIdempotencyKey(ctx, workspaceID, key, b, now().UTC().Truncate(time.Microsecond))
}

func appendSeq(b []byte, seq int64) []byte {
	b = protowire.AppendTag(b, seqField, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(seq))
}

// storedSeq reads seqField from a stored response's unknown fields; 0 if it
// has none.
func storedSeq(a *anypb.Any) int64 {
	var seq int64
	for b := a.ProtoReflect().GetUnknown(); len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0
		}
		b = b[n:]
		if num == seqField && typ == protowire.VarintType {
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return 0
			}
			seq = int64(v)
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return 0
		}
		b = b[m:]
	}
	return seq
}

// replay answers a request whose key is taken: the stored response if it is
// the same request and it has finished, else 409 or 422.
func replay(ctx context.Context, rec store.IdempotencyKey, fp []byte) (any, error) {
	if !bytes.Equal(rec.Fingerprint, fp) {
		return nil, apierror.New(apierror.CodeIdempotencyKeyReused,
			"This Idempotency-Key was already used with a different request; use a new key for a new request", nil)
	}
	if rec.CompletedAt == nil {
		return nil, apierror.New(apierror.CodeConflict,
			"A request with this Idempotency-Key is still being processed; retry later", nil)
	}
	var a anypb.Any
	if err := proto.Unmarshal(rec.Response, &a); err != nil {
		return nil, apierror.Internal(err)
	}
	msg, err := a.UnmarshalNew()
	if err != nil {
		return nil, apierror.Internal(err)
	}
	// The original answer's X-Event-Seq: the replay appended nothing.
	if seq := storedSeq(&a); seq > 0 {
		eventseq.Record(ctx, seq)
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs(MetadataReplayed, "true"))
	accesslog.AddAttrs(ctx, slog.Bool("idempotent_replayed", true))
	return msg, nil
}

type wiringError string

func (e wiringError) Error() string { return string(e) }

const errWiring = wiringError("idempotency: no principal or no protobuf request; is the interceptor after authentication?")
