package gateway

import (
	"context"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	"github.com/example/workspace/apimethod"
)

// Every service of the method table has its generated REST handlers, and
// registrations names no service the API does not have.
func TestEveryServiceHasRESTHandlers(t *testing.T) {
	table, err := apimethod.Load()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, sd := range table.Services() {
		seen[string(sd.FullName())] = true
		register, ok := registrations[sd.FullName()]
		if !ok {
			t.Errorf("service %s has no entry in registrations", sd.FullName())
			continue
		}
		// Registering only stores the client; nothing is called.
		if err := register(context.Background(), runtime.NewServeMux(), nil); err != nil {
			t.Errorf("registering %s: %v", sd.FullName(), err)
		}
	}
	for name := range registrations {
		if !seen[string(name)] {
			t.Errorf("registrations has %s, which is not a service of the method table", name)
		}
	}
}
