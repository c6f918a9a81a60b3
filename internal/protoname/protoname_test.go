package protoname

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
)

func TestDeclaresJSONName(t *testing.T) {
	fields := (&workspacev1.ListTasksRequest{}).ProtoReflect().Descriptor().Fields()
	for name, want := range map[string]bool{"page_token": true, "project_id": false, "order_by": false, "limit": false} {
		fd := fields.ByName(protoreflect.Name(name))
		if fd == nil {
			t.Fatalf("ListTasksRequest has no field %s", name)
		}
		if got := DeclaresJSONName(fd); got != want {
			t.Errorf("DeclaresJSONName(%s) = %v, want %v (json_name %q)", name, got, want, fd.JSONName())
		}
	}
}
