package apimethod_test

import (
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/example/workspace/apimethod"
	workspacev1 "github.com/example/workspace/gen/workspace/v1"
)

// The declared kinds must agree with the REST bindings: a method bound to GET
// only reads, POST creates, PUT or PATCH updates, DELETE deletes — except a
// custom method on one resource (AIP-136: POST …/{id}:verb, such as a
// webhook endpoint's :rotateSecret, :test, or a delivery's :retry), which
// acts on that resource: an update.
func TestKindsAgreeWithHTTPBindings(t *testing.T) {
	table, err := apimethod.Load()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range table.Methods() {
		rule, _ := proto.GetExtension(m.Desc.Options(), annotations.E_Http).(*annotations.HttpRule)
		if rule == nil {
			t.Fatalf("%s has no HTTP binding", m.FullName)
		}
		var want workspacev1.MethodKind
		switch {
		case rule.GetGet() != "":
			want = apimethod.Read
		case rule.GetPost() != "":
			want = apimethod.Create
			if strings.Contains(rule.GetPost(), "}:") {
				want = apimethod.Update
			}
		case rule.GetPut() != "" || rule.GetPatch() != "":
			want = apimethod.Update
		case rule.GetDelete() != "":
			want = apimethod.Delete
		}
		if m.Kind != want {
			t.Errorf("%s: kind %s, but its binding is %v", m.FullName, m.Kind, rule)
		}
		if m.IsWrite() != (rule.GetGet() == "") {
			t.Errorf("%s: IsWrite %v, but its binding is %v", m.FullName, m.IsWrite(), rule)
		}
		if m.IsCreate() != (want == apimethod.Create) {
			t.Errorf("%s: IsCreate %v, but its binding is %v", m.FullName, m.IsCreate(), rule)
		}
		if got, ok := table.Lookup(m.FullName); !ok || got.FullName != m.FullName || !table.Has(m.FullName) {
			t.Errorf("Lookup(%s) = %v, %v", m.FullName, got, ok)
		}
		if !table.IsRequest(m.Desc.Input().FullName()) {
			t.Errorf("IsRequest(%s) = false", m.Desc.Input().FullName())
		}
		n++
	}
	if n < 14 {
		t.Fatalf("only %d methods checked", n)
	}
	if got := len(table.Services()); got != 6 {
		t.Errorf("%d services, want 6", got)
	}
	for _, name := range []string{"/grpc.health.v1.Health/Check", "/workspace.v1.TaskService/Nope"} {
		if table.Has(name) || table.IsWrite(name) || table.IsCreate(name) {
			t.Errorf("%s is in the table", name)
		}
	}
	if table.IsRequest("grpc.health.v1.HealthCheckRequest") {
		t.Error("the health check's request is taken for an API request")
	}
	// The creates whose key is refused: their responses carry a secret.
	for _, name := range []string{"/workspace.v1.ApiKeyService/CreateApiKey", "/workspace.v1.WebhookService/CreateWebhookEndpoint"} {
		if m, _ := table.Lookup(name); m.Idempotency != apimethod.KeyRefused {
			t.Errorf("%s: idempotency %s, want REFUSED", name, m.Idempotency)
		}
	}
}

// testFiles is a registry with one file of package test.v1 whose service has
// one RPC with the given options (nil: none).
func testFiles(t *testing.T, opts *descriptorpb.MethodOptions) *protoregistry.Files {
	t.Helper()
	fdp := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("test/v1/unguarded.proto"),
		Package:    proto.String("test.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"workspace/v1/options.proto"},
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("Req")},
			{Name: proto.String("Resp")},
		},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name: proto.String("UnguardedService"),
			Method: []*descriptorpb.MethodDescriptorProto{{
				Name:       proto.String("CreateThing"),
				InputType:  proto.String(".test.v1.Req"),
				OutputType: proto.String(".test.v1.Resp"),
				Options:    opts,
			}},
		}},
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	files := &protoregistry.Files{}
	if err := files.RegisterFile(fd); err != nil {
		t.Fatal(err)
	}
	return files
}

func withPolicy(p *workspacev1.MethodPolicy) *descriptorpb.MethodOptions {
	opts := &descriptorpb.MethodOptions{}
	proto.SetExtension(opts, workspacev1.E_Method, p)
	return opts
}

// An RPC without its option, or with the option incomplete or inconsistent,
// fails the table, and so start-up, naming the RPC.
func TestRPCWithoutPolicyIsRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		opts *descriptorpb.MethodOptions
		want string
	}{
		{"no options", nil, "has no (workspace.v1.method) option"},
		{"other options only", &descriptorpb.MethodOptions{Deprecated: proto.Bool(true)}, "has no (workspace.v1.method) option"},
		{"no scope", withPolicy(&workspacev1.MethodPolicy{Kind: apimethod.Create, Idempotency: apimethod.KeyHonoured}), "scope"},
		{"unknown scope", withPolicy(&workspacev1.MethodPolicy{Scope: "root", Kind: apimethod.Create, Idempotency: apimethod.KeyHonoured}), "scope \"root\""},
		{"no kind", withPolicy(&workspacev1.MethodPolicy{Scope: "write", Idempotency: apimethod.KeyHonoured}), "kind"},
		{"no idempotency", withPolicy(&workspacev1.MethodPolicy{Scope: "write", Kind: apimethod.Create}), "idempotency"},
		{"a create ignoring the key", withPolicy(&workspacev1.MethodPolicy{Scope: "write", Kind: apimethod.Create, Idempotency: apimethod.KeyIgnored}), "never ignore"},
		{"a read honouring the key", withPolicy(&workspacev1.MethodPolicy{Scope: "read", Kind: apimethod.Read, Idempotency: apimethod.KeyHonoured}), "only creates"},
	} {
		t.Run(c.name, func(t *testing.T) {
			table, err := apimethod.Build(testFiles(t, c.opts), "test.v1")
			if err == nil {
				t.Fatalf("Build succeeded: %v", table.Methods())
			}
			if !strings.Contains(err.Error(), "/test.v1.UnguardedService/CreateThing") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to name the RPC and say %q", err, c.want)
			}
		})
	}
	table, err := apimethod.Build(testFiles(t, withPolicy(&workspacev1.MethodPolicy{Scope: "write", Kind: apimethod.Create, Idempotency: apimethod.KeyHonoured})), "test.v1")
	if err != nil {
		t.Fatalf("a complete option: %v", err)
	}
	if m, ok := table.Lookup("/test.v1.UnguardedService/CreateThing"); !ok || !m.IsCreate() || m.Scope != "write" {
		t.Errorf("row %+v, %v", m, ok)
	}
	if _, err := apimethod.Build(testFiles(t, nil), protoreflect.FullName("nothing.v1")); err == nil {
		t.Error("a package without services built a table")
	}
}
