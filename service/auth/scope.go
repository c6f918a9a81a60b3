package auth

import (
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
)

// The scopes of CONTRACT §7.
const (
	ScopeRead   = "read"
	ScopeWrite  = "write"
	ScopeDelete = "delete"
	ScopeAdmin  = "admin"
)

// Scopes lists every scope, in the order the API prints them.
var Scopes = []string{ScopeRead, ScopeWrite, ScopeDelete, ScopeAdmin}

// ValidScope reports whether s is a scope.
func ValidScope(s string) bool { return slices.Contains(Scopes, s) }

// Allows reports whether a key with scopes may do what need requires; admin
// implies every other scope.
func Allows(scopes []string, need string) bool {
	for _, s := range scopes {
		if s == need || s == ScopeAdmin {
			return true
		}
	}
	return false
}

// RequiredScopes reads the (workspace.v1.required_scope) option of every method
// of the services, keyed by full gRPC method name ("/pkg.Service/Method"). A
// method without a valid scope is an error, so no RPC is served unguarded.
func RequiredScopes(services ...protoreflect.ServiceDescriptor) (map[string]string, error) {
	out := map[string]string{}
	for _, sd := range services {
		methods := sd.Methods()
		for i := 0; i < methods.Len(); i++ {
			md := methods.Get(i)
			name := fmt.Sprintf("/%s/%s", sd.FullName(), md.Name())
			scope, _ := proto.GetExtension(md.Options(), workspacev1.E_RequiredScope).(string)
			if !ValidScope(scope) {
				return nil, fmt.Errorf("method %s has no valid required_scope option (got %q)", name, scope)
			}
			out[name] = scope
		}
	}
	return out, nil
}
