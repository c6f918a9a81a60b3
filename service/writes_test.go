package service_test

import (
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"

	"github.com/example/workspace/service"
)

// Writes must agree with the REST bindings: a method bound to GET only reads,
// one bound to POST, PUT, PATCH or DELETE writes.
func TestWritesAgreesWithHTTPBindings(t *testing.T) {
	n := 0
	for _, sd := range service.Descriptors() {
		for i := 0; i < sd.Methods().Len(); i++ {
			md := sd.Methods().Get(i)
			rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
			if rule == nil {
				t.Fatalf("%s has no HTTP binding", md.FullName())
			}
			full := "/" + string(sd.FullName()) + "/" + string(md.Name())
			if want := rule.GetGet() == ""; service.Writes(full) != want {
				t.Errorf("Writes(%s) = %v, but its binding is %v", full, !want, rule)
			}
			n++
		}
	}
	if n < 14 {
		t.Fatalf("only %d methods checked", n)
	}
}
