package gateway

import (
	"encoding/json"
	"io"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
)

// envelopeMarshaler writes CONTRACT §5's success envelopes directly around
// protojson's output, so a body is encoded once and never decoded again:
// a list response (it has pagination) becomes {"success":true,"data":[…],
// "pagination":{…}}, any other message {"success":true,"data":{…}}. Decoding is
// protojson's, strict: unknown fields are errors.
type envelopeMarshaler struct {
	runtime.JSONPb
}

func newEnvelopeMarshaler() *envelopeMarshaler {
	return &envelopeMarshaler{runtime.JSONPb{
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
	switch msg := v.(type) {
	case listResponse:
		body, err := m.MarshalOptions.Marshal(msg)
		if err != nil {
			return nil, err
		}
		// body is a JSON object: splice its members after "success".
		out := make([]byte, 0, len(listPrefix)+len(body))
		out = append(out, listPrefix...)
		return append(out, body[1:]...), nil
	case proto.Message:
		body, err := m.MarshalOptions.Marshal(msg)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 0, len(singlePrefix)+len(body)+1)
		out = append(out, singlePrefix...)
		out = append(out, body...)
		return append(out, '}'), nil
	}
	return json.Marshal(v)
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
