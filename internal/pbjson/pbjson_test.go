package pbjson_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/internal/pbjson"
)

var reference = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}

// same checks that the encoder writes m byte for byte as protojson does
// (protojson's single-line output has a deliberately unstable space after
// some commas, so its output is compacted first), or defers to it.
func same(t *testing.T, enc *pbjson.Encoder, m proto.Message) (supported bool) {
	t.Helper()
	want, wantErr := reference.Marshal(m)
	got, err := enc.Append(nil, m)
	if errors.Is(err, pbjson.ErrUnsupported) {
		return false
	}
	if err != nil {
		t.Fatalf("%T: %v", m, err)
	}
	if wantErr != nil {
		t.Fatalf("%T: protojson refuses (%v) what pbjson wrote: %s", m, wantErr, got)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, want); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, compact.Bytes()) {
		t.Fatalf("%T:\n got %s\nwant %s", m, got, compact.Bytes())
	}
	if !json.Valid(got) {
		t.Fatalf("%T: invalid JSON %s", m, got)
	}
	return true
}

// apiMessages are all messages of the API's own proto package.
func apiMessages(t *testing.T) []protoreflect.MessageType {
	t.Helper()
	var out []protoreflect.MessageType
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		if mt.Descriptor().ParentFile().Package() == "workspace.v1" {
			out = append(out, mt)
		}
		return true
	})
	if len(out) < 20 {
		t.Fatalf("only %d API messages registered", len(out))
	}
	return out
}

var strs = []string{
	"", "a", "Launch", "naïve café ✓", "日本語", "emoji 🚀", `quote " backslash \ slash /`,
	"<script>&amp;</script>", "line\nbreak\ttab\rret\bback\fform", "\x00\x01\x1f\x7f", "\u2028\u2029",
	strings.Repeat("x", 300),
}

// fill sets a random subset of m's fields to random values, recursively.
func fill(r *rand.Rand, m protoreflect.Message, depth int) {
	fds := m.Descriptor().Fields()
	for i := 0; i < fds.Len(); i++ {
		fd := fds.Get(i)
		if r.IntN(3) == 0 || fd.IsMap() {
			continue
		}
		if fd.IsList() {
			l := m.Mutable(fd).List()
			for n := r.IntN(4); n > 0; n-- {
				if fd.Kind() == protoreflect.MessageKind {
					if depth > 3 {
						break
					}
					e := l.NewElement()
					fillMessage(r, e.Message(), depth+1)
					l.Append(e)
				} else {
					l.Append(scalar(r, fd))
				}
			}
			continue
		}
		if fd.Kind() == protoreflect.MessageKind {
			if depth > 3 {
				continue
			}
			fillMessage(r, m.Mutable(fd).Message(), depth+1)
			continue
		}
		m.Set(fd, scalar(r, fd))
	}
}

func fillMessage(r *rand.Rand, m protoreflect.Message, depth int) {
	if m.Descriptor().FullName() == "google.protobuf.Timestamp" {
		var ts *timestamppb.Timestamp
		switch r.IntN(5) {
		case 0:
			ts = &timestamppb.Timestamp{Seconds: r.Int64N(253402300799)}
		case 1:
			ts = &timestamppb.Timestamp{Seconds: r.Int64N(2e9), Nanos: int32(r.IntN(1000)) * 1e6}
		case 2:
			ts = &timestamppb.Timestamp{Seconds: r.Int64N(2e9), Nanos: int32(r.IntN(1e6)) * 1e3}
		case 3:
			ts = &timestamppb.Timestamp{Seconds: -r.Int64N(62135596800), Nanos: int32(r.IntN(1e9))}
		default:
			ts = &timestamppb.Timestamp{}
		}
		proto.Merge(m.Interface(), ts)
		return
	}
	fill(r, m, depth)
}

func scalar(r *rand.Rand, fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(strs[r.IntN(len(strs))])
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(r.IntN(2) == 0)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(r.Uint32()))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(r.Uint32())
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(int64(r.Uint64()))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(r.Uint64())
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(r.IntN(4)))
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(r.Float32())
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(r.Float64())
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte(strs[r.IntN(len(strs))]))
	}
	panic("unhandled kind " + fd.Kind().String())
}

// Every message of the API, empty and with random contents, is written as
// protojson writes it; the response messages must all be supported.
func TestMatchesProtojson(t *testing.T) {
	enc := &pbjson.Encoder{}
	r := rand.New(rand.NewPCG(1, 2))
	supported := map[protoreflect.FullName]bool{}
	for _, mt := range apiMessages(t) {
		if same(t, enc, mt.New().Interface()) {
			supported[mt.Descriptor().FullName()] = true
		}
		for i := 0; i < 300; i++ {
			m := mt.New()
			fill(r, m, 0)
			// The random contents are all valid: a type pbjson plans must
			// not leave any of them to protojson.
			if !same(t, enc, m.Interface()) && supported[mt.Descriptor().FullName()] {
				t.Fatalf("%s: pbjson left valid contents to protojson: %v", mt.Descriptor().FullName(), m.Interface())
			}
		}
	}
	for _, m := range []proto.Message{
		&workspacev1.GetProjectResponse{}, &workspacev1.ListProjectsResponse{},
		&workspacev1.ListTasksResponse{}, &workspacev1.GetTaskResponse{},
		&workspacev1.CreateTaskResponse{}, &workspacev1.UpdateTaskResponse{},
		&workspacev1.ListApiKeysResponse{}, &workspacev1.CreateApiKeyResponse{},
		&workspacev1.GetWorkspaceResponse{},
	} {
		if !supported[m.ProtoReflect().Descriptor().FullName()] {
			t.Errorf("%T is left to protojson: the hot path would not use the planned encoder", m)
		}
	}
}

// What protojson refuses or writes in its own form is left to it.
func TestDefersToProtojson(t *testing.T) {
	enc := &pbjson.Encoder{}
	for name, m := range map[string]proto.Message{
		"invalid UTF-8":           &workspacev1.Project{Name: "bad \xff byte"},
		"timestamp out of range":  &workspacev1.Project{CreatedAt: &timestamppb.Timestamp{Seconds: 253402300800}},
		"negative nanos":          &workspacev1.Project{CreatedAt: &timestamppb.Timestamp{Nanos: -1}},
		"well-known Empty":        &emptypb.Empty{},
		"well-known FieldMask":    &fieldmaskpb.FieldMask{Paths: []string{"a"}},
		"well-known Struct":       &structpb.Struct{},
		"a message with a map":    &structpb.Value{Kind: &structpb.Value_StructValue{StructValue: &structpb.Struct{}}},
		"a bare Timestamp":        timestamppb.Now(),
		"a request with a mask":   &workspacev1.UpdateTaskRequest{},
		"invalid UTF-8 in a list": &workspacev1.ApiKey{Scopes: []string{"read", "\xc3"}},
	} {
		if _, err := enc.Append(nil, m); !errors.Is(err, pbjson.ErrUnsupported) {
			t.Errorf("%s: err = %v, want ErrUnsupported", name, err)
		}
	}
}

func FuzzStrings(f *testing.F) {
	for _, s := range strs {
		f.Add(s, s)
	}
	enc := &pbjson.Encoder{}
	f.Fuzz(func(t *testing.T, name, description string) {
		same(t, enc, &workspacev1.Project{Id: "proj_1", Name: name, Description: description,
			CreatedAt: timestamppb.Now()})
	})
}

func BenchmarkListTasks(b *testing.B) {
	resp := &workspacev1.ListTasksResponse{Pagination: &workspacev1.Pagination{Limit: 20}}
	for i := 0; i < 20; i++ {
		resp.Data = append(resp.Data, &workspacev1.Task{Id: "task_0123456789abcdefghij", ProjectId: "proj_0123456789abcdefghij",
			Title: "Write the launch post", Status: "todo", CreatedAt: timestamppb.Now(), UpdatedAt: timestamppb.Now()})
	}
	b.Run("pbjson", func(b *testing.B) {
		enc := &pbjson.Encoder{}
		buf := make([]byte, 0, 8192)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := enc.Append(buf[:0], resp); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := reference.Marshal(resp); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestAppendOrCompacts: a message the encoder leaves to protojson is written
// by protojson without its random spaces, after what dst held.
func TestAppendOrCompacts(t *testing.T) {
	var enc pbjson.Encoder
	m, err := structpb.NewStruct(map[string]any{"a": 1, "b": []any{"x y", true}, "c": map[string]any{"d": nil}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Append(nil, m); !errors.Is(err, pbjson.ErrUnsupported) {
		t.Fatalf("Struct is written by the encoder itself (%v): the test no longer reaches protojson", err)
	}
	got, err := enc.AppendOr([]byte("pre:"), m, reference)
	if err != nil {
		t.Fatal(err)
	}
	want, err := reference.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, want); err != nil {
		t.Fatal(err)
	}
	if string(got) != "pre:"+compact.String() || strings.Count(string(got), " ") != 1 { // the one inside "x y"
		t.Errorf("AppendOr = %s, want pre:%s", got, compact.String())
	}
}
