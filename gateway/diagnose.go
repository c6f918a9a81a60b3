package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/apimethod"
)

// diagnose finds which part of a request the generated code could not decode,
// so that the 400 names the field (CONTRACT §6). It runs only on that error
// path: it looks up the RPC's input message and HTTP body field from the
// descriptors, then checks the body one member at a time and the query one
// parameter at a time.
func diagnose(ctx context.Context, r *http.Request) *apierror.Error {
	fallback := apierror.New(apierror.CodeValidation, "The request could not be decoded", nil)
	method, ok := runtime.RPCMethod(ctx)
	if !ok {
		return fallback
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(method, "/"), "/", ".")))
	if err != nil {
		return fallback
	}
	md, ok := d.(protoreflect.MethodDescriptor)
	if !ok {
		return fallback
	}
	if rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule); rule != nil && rule.GetBody() != "" {
		target := md.Input()
		if b := rule.GetBody(); b != "*" {
			if fd := target.Fields().ByName(protoreflect.Name(b)); fd != nil && fd.Message() != nil {
				target = fd.Message()
			}
		}
		if e := checkBody(bodyFrom(ctx), target); e != nil {
			return e
		}
	}
	if e := checkQuery(r.URL.Query(), md.Input()); e != nil {
		return e
	}
	return fallback
}

func checkBody(body []byte, md protoreflect.MessageDescriptor) *apierror.Error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if trailingData(body) {
		return apierror.New(apierror.CodeValidation, "The request body must be one JSON value, with nothing after it", nil)
	}
	if !json.Valid(body) {
		return apierror.New(apierror.CodeValidation, "The request body is not valid JSON", nil)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return apierror.New(apierror.CodeValidation, "The request body must be a JSON object", nil)
	}
	return checkMembers(members, md, "")
}

// checkMembers names the first member of an object that does not decode into
// md: an unknown one first, then one of the wrong type. Members are named
// after at, the path to the object ("" for the body, "tasks[3]." for an item).
func checkMembers(members map[string]json.RawMessage, md protoreflect.MessageDescriptor, at string) *apierror.Error {
	names := make([]string, 0, len(members))
	for name := range members {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if fieldNamed(md, name) == nil {
			return apierror.Validation(at+name, "Unknown field \""+at+name+"\"")
		}
	}
	for _, name := range names {
		one, _ := json.Marshal(map[string]json.RawMessage{name: members[name]})
		if err := protojson.Unmarshal(one, dynamicpb.NewMessage(md)); err != nil {
			fd := fieldNamed(md, name)
			if e := checkNested(members[name], fd, at+name); e != nil {
				return e
			}
			return apierror.Validation(at+name, at+name+" must be "+kindOf(fd))
		}
	}
	return nil
}

// checkNested looks inside a member that holds messages of the API (one, or a
// list of them, such as a batch's tasks) for what does not decode, so that
// the 400 names "tasks[3].title" rather than all of "tasks". nil if the
// member is of another kind or nothing inside it is to blame.
func checkNested(raw json.RawMessage, fd protoreflect.FieldDescriptor, at string) *apierror.Error {
	if fd == nil || fd.IsMap() || fd.Message() == nil || fd.Message().ParentFile().Package() != apimethod.Package {
		return nil // scalars and well-known types are one value each
	}
	if !fd.IsList() {
		return checkItem(raw, fd.Message(), at)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil // not an array: the member itself is to blame
	}
	for i, item := range items {
		if e := checkItem(item, fd.Message(), at+"["+strconv.Itoa(i)+"]"); e != nil {
			return e
		}
	}
	return nil
}

// checkItem names what in one message's JSON, at at, does not decode.
func checkItem(raw json.RawMessage, md protoreflect.MessageDescriptor, at string) *apierror.Error {
	if protojson.Unmarshal(raw, dynamicpb.NewMessage(md)) == nil {
		return nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return apierror.Validation(at, at+" must be an object")
	}
	return checkMembers(members, md, at+".")
}

func checkQuery(values url.Values, md protoreflect.MessageDescriptor) *apierror.Error {
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		msg := dynamicpb.NewMessage(md)
		if err := runtime.PopulateQueryParameters(msg, url.Values{name: values[name]}, utilities.NewDoubleArray(nil)); err != nil {
			field := strings.SplitN(name, ".", 2)[0]
			what := "a valid value"
			if fd := fieldNamed(md, field); fd != nil {
				what = kindOf(fd)
			}
			return apierror.Validation(field, name+" must be "+what)
		}
	}
	return nil
}

func fieldNamed(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	if fd := md.Fields().ByName(protoreflect.Name(name)); fd != nil {
		return fd
	}
	return md.Fields().ByJSONName(name)
}

// kindOf says in words what JSON a field takes.
func kindOf(fd protoreflect.FieldDescriptor) string {
	if fd == nil {
		return "a valid value"
	}
	var what string
	switch fd.Kind() {
	case protoreflect.StringKind:
		what = "a string"
	case protoreflect.BoolKind:
		what = "true or false"
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Sint32Kind, protoreflect.Sint64Kind,
		protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Sfixed32Kind, protoreflect.Sfixed64Kind,
		protoreflect.Fixed32Kind, protoreflect.Fixed64Kind:
		what = "an integer in range"
	case protoreflect.MessageKind:
		switch fd.Message().FullName() {
		case "google.protobuf.Timestamp":
			what = "an RFC 3339 time such as \"2024-01-15T10:30:00Z\""
		case "google.protobuf.FieldMask":
			what = "a comma-separated list of field names"
		default:
			what = "an object"
		}
	default:
		what = "a valid value"
	}
	if fd.IsList() {
		return "an array whose items are each " + what
	}
	return what
}
