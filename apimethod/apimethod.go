// Package apimethod is the API's method table: for every RPC of workspace.v1,
// the scope it needs, what it does to stored data and what an Idempotency-Key
// does to it, read once at start-up from the (workspace.v1.method) option
// declared beside each RPC in proto/. Auth, idempotency, the codec, the
// gateway and the in-process channel ask it; nothing else lists the services.
package apimethod

import (
	"cmp"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
)

// Package is the proto package of the API; its services are the API's.
const Package protoreflect.FullName = "workspace.v1"

// The kinds of RPC, as declared.
const (
	Read   = workspacev1.MethodKind_METHOD_KIND_READ
	Create = workspacev1.MethodKind_METHOD_KIND_CREATE
	Update = workspacev1.MethodKind_METHOD_KIND_UPDATE
	Delete = workspacev1.MethodKind_METHOD_KIND_DELETE
)

// What an Idempotency-Key does, as declared.
const (
	KeyIgnored  = workspacev1.Idempotency_IDEMPOTENCY_IGNORED
	KeyHonoured = workspacev1.Idempotency_IDEMPOTENCY_HONOURED
	KeyRefused  = workspacev1.Idempotency_IDEMPOTENCY_REFUSED
)

// scopes are the valid values of scope (CONTRACT §7); service/auth owns
// their meaning, this package only refuses a typo at start-up.
var scopes = []string{"read", "write", "delete", "admin"}

// Method is one RPC's row.
type Method struct {
	// FullName is the gRPC full method name: "/workspace.v1.TaskService/CreateTask".
	FullName string
	// Desc is its descriptor (input type, HTTP bindings…).
	Desc protoreflect.MethodDescriptor
	// Scope is the API-key scope a caller needs.
	Scope string
	// Kind is what it does to stored data.
	Kind workspacev1.MethodKind
	// Idempotency is what an Idempotency-Key does to it.
	Idempotency workspacev1.Idempotency
}

// IsCreate reports whether the RPC creates a resource (REST answers 201).
func (m Method) IsCreate() bool { return m.Kind == Create }

// IsWrite reports whether the RPC changes stored data.
func (m Method) IsWrite() bool { return m.Kind != Read }

// Table is every RPC of the API. It is read-only once built.
type Table struct {
	methods  map[string]Method
	ordered  []Method
	services []protoreflect.ServiceDescriptor
	requests map[protoreflect.FullName]bool
}

// Load builds the table of the API from the descriptors that the generated
// code registered: every service of package workspace.v1.
func Load() (*Table, error) { return Build(protoregistry.GlobalFiles, Package) }

// Build builds the table of every service of pkg in files. An RPC without the
// (workspace.v1.method) option, or with a field of it missing or
// inconsistent, is an error naming it; so is a package without services.
func Build(files *protoregistry.Files, pkg protoreflect.FullName) (*Table, error) {
	t := &Table{methods: map[string]Method{}, requests: map[protoreflect.FullName]bool{}}
	var errs []error
	files.RangeFilesByPackage(pkg, func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			t.services = append(t.services, sd)
			for j := 0; j < sd.Methods().Len(); j++ {
				m, err := row(sd.Methods().Get(j))
				if err != nil {
					errs = append(errs, err)
					continue
				}
				t.methods[m.FullName] = m
				t.ordered = append(t.ordered, m)
				t.requests[m.Desc.Input().FullName()] = true
			}
		}
		return true
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("method table: %w", errs[0])
	}
	if len(t.services) == 0 {
		return nil, fmt.Errorf("method table: package %s has no services", pkg)
	}
	slices.SortFunc(t.services, func(a, b protoreflect.ServiceDescriptor) int {
		return cmp.Compare(a.FullName(), b.FullName())
	})
	slices.SortFunc(t.ordered, func(a, b Method) int { return cmp.Compare(a.FullName, b.FullName) })
	return t, nil
}

// row reads one RPC's option.
func row(md protoreflect.MethodDescriptor) (Method, error) {
	name := fmt.Sprintf("/%s/%s", md.Parent().FullName(), md.Name())
	opts := md.Options()
	if opts == nil || !proto.HasExtension(opts, workspacev1.E_Method) {
		return Method{}, fmt.Errorf("RPC %s has no (workspace.v1.method) option: declare its scope, kind and idempotency", name)
	}
	p, _ := proto.GetExtension(opts, workspacev1.E_Method).(*workspacev1.MethodPolicy)
	m := Method{FullName: name, Desc: md, Scope: p.GetScope(), Kind: p.GetKind(), Idempotency: p.GetIdempotency()}
	switch {
	case !slices.Contains(scopes, m.Scope):
		return Method{}, fmt.Errorf("RPC %s: scope %q is not one of %v", name, m.Scope, scopes)
	case m.Kind == workspacev1.MethodKind_METHOD_KIND_UNSPECIFIED || workspacev1.MethodKind_name[int32(m.Kind)] == "":
		return Method{}, fmt.Errorf("RPC %s: kind is not declared", name)
	case m.Idempotency == workspacev1.Idempotency_IDEMPOTENCY_UNSPECIFIED || workspacev1.Idempotency_name[int32(m.Idempotency)] == "":
		return Method{}, fmt.Errorf("RPC %s: idempotency is not declared", name)
	case m.IsCreate() && m.Idempotency == KeyIgnored:
		return Method{}, fmt.Errorf("RPC %s: a create must honour or refuse Idempotency-Key, never ignore it", name)
	case !m.IsCreate() && m.Idempotency != KeyIgnored:
		return Method{}, fmt.Errorf("RPC %s: only creates honour or refuse Idempotency-Key; a %s ignores it", name, m.Kind)
	}
	return m, nil
}

// Lookup returns the row of the full method name; ok is false for anything
// that is not an RPC of the API (health, reflection).
func (t *Table) Lookup(fullMethod string) (m Method, ok bool) {
	m, ok = t.methods[fullMethod]
	return m, ok
}

// Has reports whether fullMethod is an RPC of the API.
func (t *Table) Has(fullMethod string) bool {
	_, ok := t.methods[fullMethod]
	return ok
}

// IsCreate reports whether fullMethod is an API RPC that creates.
func (t *Table) IsCreate(fullMethod string) bool { return t.methods[fullMethod].IsCreate() }

// IsWrite reports whether fullMethod is an API RPC that changes stored data.
func (t *Table) IsWrite(fullMethod string) bool {
	m, ok := t.methods[fullMethod]
	return ok && m.IsWrite()
}

// IsRequest reports whether messages of the type are the request of an RPC
// of the API.
func (t *Table) IsRequest(message protoreflect.FullName) bool { return t.requests[message] }

// Methods are every row, by full method name.
func (t *Table) Methods() []Method { return slices.Clone(t.ordered) }

// Services are the API's services, by full name.
func (t *Table) Services() []protoreflect.ServiceDescriptor { return slices.Clone(t.services) }
