package gateway

import (
	"encoding/json"
	"io"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/internal/pbjson"
)

// envelopeMarshaler writes CONTRACT §5's success envelopes directly around
// the message's JSON, so a body is encoded once and never decoded again:
// a list response (it has pagination) becomes {"success":true,"data":[…],
// "pagination":{…}}, any other message {"success":true,"data":{…}}. The JSON
// is protojson's (UseProtoNames, EmitUnpopulated), written by pbjson, which
// produces the same bytes without protojson's per-call cost, or by protojson
// itself for what pbjson leaves to it. Decoding is protojson's, strict:
// unknown fields are errors.
type envelopeMarshaler struct {
	runtime.JSONPb
	fast pbjson.Encoder
}

func newEnvelopeMarshaler() *envelopeMarshaler {
	return &envelopeMarshaler{JSONPb: runtime.JSONPb{
		MarshalOptions: protojson.MarshalOptions{
			UseProtoNames:   true, // snake_case, CONTRACT §2
			EmitUnpopulated: true, // every field present, unset times as null
		},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}}
}

type listResponse interface {
	proto.Message
	GetPagination() *workspacev1.Pagination
}

var (
	listPrefix   = []byte(`{"success":true,`)
	singlePrefix = []byte(`{"success":true,"data":`)
)

func (m *envelopeMarshaler) ContentType(any) string { return "application/json" }

func (m *envelopeMarshaler) Marshal(v any) ([]byte, error) {
	msg, ok := v.(proto.Message)
	if !ok {
		return json.Marshal(v)
	}
	out := make([]byte, 0, 512)
	if lr, list := msg.(listResponse); list {
		msg = restList(lr)
		out = append(out, listPrefix...)
		out, err := m.appendJSON(out, msg)
		if err != nil {
			return nil, err
		}
		// The message's object is spliced after "success": drop its '{'.
		n := len(listPrefix)
		return append(out[:n], out[n+1:]...), nil
	}
	out = append(out, singlePrefix...)
	out, err := m.appendJSON(out, msg)
	if err != nil {
		return nil, err
	}
	return append(out, '}'), nil
}

// restList moves a list response's next_page_token (gRPC's, AIP-158) to
// where REST clients read it, pagination.next_cursor: the envelope has only
// data and pagination. Only the pagination is copied; data is shared.
func restList(lr listResponse) proto.Message {
	r := lr.ProtoReflect()
	tokenFd := r.Descriptor().Fields().ByName("next_page_token")
	if tokenFd == nil || !r.Has(tokenFd) {
		return lr
	}
	token := r.Get(tokenFd).String()
	pg := proto.CloneOf(lr.GetPagination())
	if pg == nil {
		pg = &workspacev1.Pagination{}
	}
	pg.NextCursor = &token
	out := r.New()
	r.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd != tokenFd {
			out.Set(fd, v)
		}
		return true
	})
	out.Set(r.Descriptor().Fields().ByName("pagination"), protoreflect.ValueOfMessage(pg.ProtoReflect()))
	return out.Interface()
}

// appendJSON appends msg's JSON to b: pbjson's, or protojson's (compacted)
// for what pbjson leaves to it (with protojson's error, if it has one).
func (m *envelopeMarshaler) appendJSON(b []byte, msg proto.Message) ([]byte, error) {
	return m.fast.AppendOr(b, msg, m.MarshalOptions)
}

func (m *envelopeMarshaler) NewEncoder(w io.Writer) runtime.Encoder {
	return runtime.EncoderFunc(func(v any) error {
		b, err := m.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
}
