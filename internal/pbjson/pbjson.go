// Package pbjson writes protobuf messages as JSON exactly as protojson does
// with UseProtoNames and EmitUnpopulated, at a fraction of its cost: a plan
// per message type is built once, where protojson sorts the fields and boxes
// every value on each call (a third of a REST list request's CPU).
//
// Only what the API's responses use is planned — strings, bools, integers,
// enums, nested and repeated messages, google.protobuf.Timestamp and the
// integer, bool and string wrappers. A message
// that uses anything else (maps, floats, bytes, other well-known types,
// extensions), and any value protojson would refuse (invalid UTF-8, a
// timestamp out of range), is reported as ErrUnsupported, so that the caller
// hands it to protojson and gets protojson's output or error.
package pbjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// ErrUnsupported means the message must be written by protojson instead.
var ErrUnsupported = errors.New("pbjson: message not supported; use protojson")

// Encoder writes messages; its zero value is ready, and it is safe for
// concurrent use. Plans are kept per message type for the encoder's life.
type Encoder struct {
	plans sync.Map // protoreflect.FullName → *plan (nil plan: unsupported)
}

// Append appends m's JSON to dst. On ErrUnsupported, dst's contents beyond
// its original length are unspecified; use the returned slice only on success.
func (e *Encoder) Append(dst []byte, m proto.Message) ([]byte, error) {
	r := m.ProtoReflect()
	p := e.plan(r.Descriptor())
	if p == nil {
		return dst, ErrUnsupported
	}
	return p.append(dst, r)
}

type fieldKind uint8

const (
	kString fieldKind = iota
	kBool
	kInt32
	kUint32
	kInt64 // written quoted, as protojson does for 64-bit integers
	kUint64
	kEnum
	kMessage
	kTimestamp
	kWrapper // google.protobuf.Int32Value and the like: written as the bare value
)

type field struct {
	fd       protoreflect.FieldDescriptor
	name     []byte // `"name":`
	kind     fieldKind
	list     bool
	presence bool // unset is null (messages) or absent (oneof members)
	oneof    bool // a member of a oneof, real or proto3-optional: absent when unset
	msg      *plan
	wrapped  *field // kWrapper: the wrapper's value field
}

type plan struct {
	fields []field
}

// plan returns the plan of md, building it (and those of its message fields)
// on first use; nil if md is not supported.
func (e *Encoder) plan(md protoreflect.MessageDescriptor) *plan {
	if p, ok := e.plans.Load(md.FullName()); ok {
		return p.(*plan)
	}
	building := map[protoreflect.FullName]*plan{}
	p := build(md, building)
	if p == nil {
		e.plans.Store(md.FullName(), (*plan)(nil))
		return nil
	}
	for name, bp := range building {
		e.plans.LoadOrStore(name, bp)
	}
	return p
}

// build plans md; building holds the plans under construction, so that a
// recursive message refers to its own plan.
func build(md protoreflect.MessageDescriptor, building map[protoreflect.FullName]*plan) *plan {
	if p, ok := building[md.FullName()]; ok {
		return p
	}
	if md.FullName() == "google.protobuf.Timestamp" || isWellKnown(md) || md.ExtensionRanges().Len() > 0 {
		return nil // a Timestamp is only planned as a field
	}
	p := &plan{}
	building[md.FullName()] = p
	fds := md.Fields()
	for i := 0; i < fds.Len(); i++ {
		fd := fds.Get(i)
		if fd.IsMap() {
			return nil
		}
		f, ok := planField(fd, building)
		if !ok {
			return nil
		}
		p.fields = append(p.fields, f)
	}
	return p
}

// planField plans one field; false if its type is not supported.
func planField(fd protoreflect.FieldDescriptor, building map[protoreflect.FullName]*plan) (field, bool) {
	f := field{
		fd:       fd,
		name:     append(strconv.AppendQuote(nil, fd.TextName()), ':'),
		list:     fd.IsList(),
		presence: fd.HasPresence(),
		oneof:    fd.ContainingOneof() != nil,
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		f.kind = kString
	case protoreflect.BoolKind:
		f.kind = kBool
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		f.kind = kInt32
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		f.kind = kUint32
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		f.kind = kInt64
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		f.kind = kUint64
	case protoreflect.EnumKind:
		if fd.Enum().FullName() == "google.protobuf.NullValue" {
			return f, false
		}
		f.kind = kEnum
	case protoreflect.MessageKind:
		switch fd.Message().FullName() {
		case "google.protobuf.Timestamp":
			f.kind = kTimestamp
			return f, true
		case "google.protobuf.Int32Value", "google.protobuf.UInt32Value", "google.protobuf.Int64Value",
			"google.protobuf.UInt64Value", "google.protobuf.BoolValue", "google.protobuf.StringValue":
			inner, ok := planField(fd.Message().Fields().ByNumber(1), building)
			if !ok {
				return f, false
			}
			f.kind, f.wrapped = kWrapper, &inner
			return f, true
		}
		if f.msg = build(fd.Message(), building); f.msg == nil {
			return f, false
		}
		f.kind = kMessage
	default: // floats, bytes, groups
		return f, false
	}
	return f, true
}

// isWellKnown reports the google.protobuf types protojson writes in their own
// form (Timestamp is handled as a field kind).
func isWellKnown(md protoreflect.MessageDescriptor) bool {
	return md.ParentFile() != nil && md.ParentFile().Package() == "google.protobuf"
}

func (p *plan) append(b []byte, m protoreflect.Message) ([]byte, error) {
	b = append(b, '{')
	first := true
	for i := range p.fields {
		f := &p.fields[i]
		has := f.list || !f.presence || m.Has(f.fd)
		if !has && f.oneof {
			continue // protojson leaves unset oneof members out
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.name...)
		if !has {
			b = append(b, "null"...)
			continue
		}
		v := m.Get(f.fd)
		var err error
		if f.list {
			l := v.List()
			b = append(b, '[')
			for j := 0; j < l.Len(); j++ {
				if j > 0 {
					b = append(b, ',')
				}
				if b, err = f.value(b, l.Get(j)); err != nil {
					return b, err
				}
			}
			b = append(b, ']')
			continue
		}
		if b, err = f.value(b, v); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

func (f *field) value(b []byte, v protoreflect.Value) ([]byte, error) {
	switch f.kind {
	case kString:
		return appendString(b, v.String())
	case kBool:
		return strconv.AppendBool(b, v.Bool()), nil
	case kInt32:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case kUint32:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case kInt64:
		b = append(b, '"')
		return append(strconv.AppendInt(b, v.Int(), 10), '"'), nil
	case kUint64:
		b = append(b, '"')
		return append(strconv.AppendUint(b, v.Uint(), 10), '"'), nil
	case kEnum:
		if ev := f.fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return appendString(b, string(ev.Name()))
		}
		return strconv.AppendInt(b, int64(v.Enum()), 10), nil
	case kTimestamp:
		return appendTimestamp(b, v.Message())
	case kWrapper:
		return f.wrapped.value(b, v.Message().Get(f.wrapped.fd))
	default: // kMessage
		return f.msg.append(b, v.Message())
	}
}

// The range protojson accepts: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300799
)

// appendTimestamp writes RFC 3339 in UTC with 0, 3, 6 or 9 fractional
// digits, as protojson does.
func appendTimestamp(b []byte, m protoreflect.Message) ([]byte, error) {
	fds := m.Descriptor().Fields()
	secs := m.Get(fds.ByNumber(1)).Int()
	nanos := m.Get(fds.ByNumber(2)).Int()
	if secs < minTimestampSeconds || secs > maxTimestampSeconds || nanos < 0 || nanos > 999_999_999 {
		return b, ErrUnsupported // protojson's error, from protojson
	}
	t := time.Unix(secs, nanos).UTC()
	b = append(b, '"')
	b = t.AppendFormat(b, "2006-01-02T15:04:05")
	switch {
	case nanos == 0:
	case nanos%1_000_000 == 0:
		b = appendFraction(b, nanos/1_000_000, 3)
	case nanos%1_000 == 0:
		b = appendFraction(b, nanos/1_000, 6)
	default:
		b = appendFraction(b, nanos, 9)
	}
	return append(b, 'Z', '"'), nil
}

func appendFraction(b []byte, v int64, digits int) []byte {
	b = append(b, '.')
	var tmp [9]byte
	for i := digits - 1; i >= 0; i-- {
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, tmp[:digits]...)
}

// appendString quotes s as protojson does: only '"', '\\' and control
// characters are escaped (not '<', '>' or '&'), and invalid UTF-8 is refused.
func appendString(b []byte, s string) ([]byte, error) {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return b, ErrUnsupported // protojson's invalid UTF-8 error, from protojson
			}
			i += n
			continue
		}
		if c >= ' ' && c != '"' && c != '\\' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			const hex = "0123456789abcdef"
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"'), nil
}

// AppendOr appends m's JSON: the encoder's, or, for a message it leaves to
// protojson, opts' output compacted. protojson inserts a space at random
// places on purpose, differently from one build to the next; the API's
// bytes (a webhook's signed body, an idempotent replay) should not change
// with the build, and the encoder's own output has no space either.
func (e *Encoder) AppendOr(dst []byte, m proto.Message, opts protojson.MarshalOptions) ([]byte, error) {
	if out, err := e.Append(dst, m); err == nil {
		return out, nil
	}
	b, err := opts.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(b))
	if err := json.Compact(&out, b); err != nil {
		return nil, err
	}
	return append(dst, out.Bytes()...), nil
}
