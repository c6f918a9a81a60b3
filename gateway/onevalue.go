package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// errTrailingData is the decoder's refusal of a body with more than one JSON
// value; handleError turns it into the 400 that diagnose words.
var errTrailingData = errors.New("data after the JSON value")

// NewDecoder decodes the body as exactly one JSON value. runtime.JSONPb's
// decoder is a json.Decoder reading a stream of values: it stops after the
// first and would let `{"name":"a"}{"name":"b"}` or `{"name":"ok"} garbage`
// create a project. Only JSON whitespace may follow the value (RFC 8259 §2).
// The body was read whole, within the limit, before decoding, so reading the
// rest costs no more than the body did.
func (m *envelopeMarshaler) NewDecoder(r io.Reader) runtime.Decoder {
	d := json.NewDecoder(r)
	inner := runtime.DecoderWrapper{Decoder: d, UnmarshalOptions: m.UnmarshalOptions}
	return runtime.DecoderFunc(func(v any) error {
		if err := inner.Decode(v); err != nil {
			return err // io.EOF for an empty body, which the generated code accepts
		}
		rest, err := io.ReadAll(io.MultiReader(d.Buffered(), r))
		if err != nil {
			return err
		}
		if len(trimJSONSpace(rest)) > 0 {
			return errTrailingData
		}
		return nil
	})
}

// trimJSONSpace drops the whitespace JSON allows around a value: space, tab,
// LF and CR only (bytes.TrimSpace would also drop \v, \f, U+0085 and U+00A0,
// which JSON does not allow).
func trimJSONSpace(b []byte) []byte {
	for len(b) > 0 && isJSONSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isJSONSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// trailingData reports whether body holds one valid JSON value followed by
// something other than whitespace, so that the 400 says what is wrong with it.
func trailingData(body []byte) bool {
	d := json.NewDecoder(bytes.NewReader(body))
	var first json.RawMessage
	if err := d.Decode(&first); err != nil {
		return false
	}
	return len(trimJSONSpace(body[d.InputOffset():])) > 0
}
