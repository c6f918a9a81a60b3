// Package wire makes an undecodable gRPC request a VALIDATION_ERROR like any
// other bad input, instead of the INTERNAL that grpc-go answers when its codec
// fails — before any interceptor runs, so without request id, log line, or the
// contract's error details.
package wire

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	protocodec "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/example/workspace/apierror"
)

// markerField is the field number under which a failed decode is recorded in
// the message's unknown fields: the largest valid one, used by no message.
const markerField protowire.Number = protowire.MaxValidNumber

// Codec is the server's protobuf codec. It decodes as grpc-go's does; when a
// request of the API does not decode, it leaves the message empty but for a
// marker naming the failure, and UnaryServerInterceptor turns that into a 400
// at the point of the chain where request validation belongs. Other messages
// (health, reflection) fail as before.
type Codec struct {
	isRequest func(protoreflect.FullName) bool
}

var _ encoding.CodecV2 = Codec{}

// NewCodec returns the codec; isRequest tells the API's request types (the
// method table's IsRequest).
func NewCodec(isRequest func(protoreflect.FullName) bool) Codec { return Codec{isRequest: isRequest} }

func base() encoding.CodecV2 { return encoding.GetCodecV2(protocodec.Name) }

// Name is the codec's content subtype, the standard one.
func (Codec) Name() string { return protocodec.Name }

// Marshal encodes as grpc-go's proto codec.
func (Codec) Marshal(v any) (mem.BufferSlice, error) { return base().Marshal(v) }

// Unmarshal decodes as grpc-go's proto codec, recording a failure in an API
// request instead of returning it.
func (c Codec) Unmarshal(data mem.BufferSlice, v any) error {
	err := base().Unmarshal(data, v)
	if err == nil {
		return nil
	}
	m, ok := v.(proto.Message)
	if !ok || c.isRequest == nil || !c.isRequest(m.ProtoReflect().Descriptor().FullName()) {
		return err
	}
	proto.Reset(m)
	m.ProtoReflect().SetUnknown(protowire.AppendString(protowire.AppendTag(nil, markerField, protowire.BytesType), err.Error()))
	return nil
}

// UnaryServerInterceptor refuses a request that did not decode (or that
// carries the marker field itself) with VALIDATION_ERROR.
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if m, ok := req.(proto.Message); ok && marked(m) {
			return nil, apierror.New(apierror.CodeValidation, "The request message could not be decoded", nil)
		}
		return handler(ctx, req)
	}
}

func marked(m proto.Message) bool {
	b := m.ProtoReflect().GetUnknown()
	for len(b) > 0 {
		num, _, n := protowire.ConsumeField(b)
		if n < 0 {
			return true // unknown bytes that do not parse: not decodable either
		}
		if num == markerField {
			return true
		}
		b = b[n:]
	}
	return false
}
