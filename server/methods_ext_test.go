package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/example/workspace/server"
)

// TestStartRefusesRPCWithoutPolicy: an RPC of workspace.v1 without its
// (workspace.v1.method) option stops the start, server.New returning the
// error that names it. The RPC's file is registered in the process' registry,
// as generated code would register it, so the test runs in a child process
// of its own and leaves the other tests' registry alone.
func TestStartRefusesRPCWithoutPolicy(t *testing.T) {
	const rpc = "/workspace.v1.UnguardedService/DoThing"
	if os.Getenv("WORKSPACE_TEST_UNGUARDED_RPC") == "1" {
		fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
			Name:        proto.String("workspace/v1/unguarded_test.proto"),
			Package:     proto.String("workspace.v1"),
			Syntax:      proto.String("proto3"),
			MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("DoThingRequest")}, {Name: proto.String("DoThingResponse")}},
			Service: []*descriptorpb.ServiceDescriptorProto{{
				Name: proto.String("UnguardedService"),
				Method: []*descriptorpb.MethodDescriptorProto{{
					Name:       proto.String("DoThing"),
					InputType:  proto.String(".workspace.v1.DoThingRequest"),
					OutputType: proto.String(".workspace.v1.DoThingResponse"),
				}},
			}},
		}, protoregistry.GlobalFiles)
		if err != nil {
			t.Fatal(err)
		}
		if err := protoregistry.GlobalFiles.RegisterFile(fd); err != nil {
			t.Fatal(err)
		}
		srv, err := server.New(context.Background(), server.Config{
			HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", Database: t.TempDir() + "/workspace.db",
		})
		if err == nil {
			_ = srv.Store().Close()
			t.Fatal("server.New started with an RPC that declares nothing")
		}
		fmt.Printf("server.New: %v\n", err)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestStartRefusesRPCWithoutPolicy$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "WORKSPACE_TEST_UNGUARDED_RPC=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "server.New: method table: RPC "+rpc+" has no (workspace.v1.method) option") {
		t.Fatalf("the child's server.New did not refuse %s for its missing option:\n%s", rpc, out)
	}
}
