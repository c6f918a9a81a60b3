package rpcmethod_test

import (
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"

	"github.com/example/workspace/service"
	"github.com/example/workspace/service/rpcmethod"
)

// IsWrite and IsCreate must agree with the REST bindings: a method bound to
// GET only reads, one bound to POST, PUT, PATCH or DELETE writes, and the
// creates are the POSTs.
func TestAgreesWithHTTPBindings(t *testing.T) {
	n := 0
	for _, sd := range service.Descriptors() {
		for i := 0; i < sd.Methods().Len(); i++ {
			md := sd.Methods().Get(i)
			rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
			if rule == nil {
				t.Fatalf("%s has no HTTP binding", md.FullName())
			}
			full := "/" + string(sd.FullName()) + "/" + string(md.Name())
			if want := rule.GetGet() == ""; rpcmethod.IsWrite(full) != want {
				t.Errorf("IsWrite(%s) = %v, but its binding is %v", full, !want, rule)
			}
			if want := rule.GetPost() != ""; rpcmethod.IsCreate(full) != want {
				t.Errorf("IsCreate(%s) = %v, but its binding is %v", full, !want, rule)
			}
			n++
		}
	}
	if n < 14 {
		t.Fatalf("only %d methods checked", n)
	}
}
