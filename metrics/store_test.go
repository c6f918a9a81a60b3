package metrics

import (
	"context"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/sqlite"
)

// TestTimeStoreTimesEveryMethod calls every method of store.Store, as the
// interface declares them today (found by reflection, so a method added later
// is called too), through the timing wrapper over a real SQLite store, and
// checks that each call moved its own operation's histogram by one and no
// other. Only Close is untimed, and it still reaches the store.
//
// The arguments are zero values (a context, and for a callback one that
// returns zeros): an operation is timed whether it succeeds or fails, so what
// the store answers does not matter here, only that the call went through the
// wrapper's clock.
func TestTimeStoreTimesEveryMethod(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	inner := &closeRecorder{Store: st}
	t.Cleanup(func() {
		if !inner.closed.Load() {
			_ = st.Close()
		}
	})
	m := New()
	timed := m.TimeStore(inner)

	iface := reflect.TypeFor[store.Store]()
	before := storeSampleCounts(t, m)
	// Every timed operation's series exists before its first call, at zero.
	for i := range iface.NumMethod() {
		name := iface.Method(i).Name
		if name == "Close" {
			continue
		}
		if n, ok := before[name]; !ok || n != 0 {
			t.Errorf("before any call: series %q = %d (exists: %v), want 0", name, n, ok)
		}
	}
	if len(before) != iface.NumMethod()-1 {
		t.Errorf("before any call: %d series %v, want one for each of the %d methods of store.Store but Close", len(before), before, iface.NumMethod()-1)
	}

	wrapper := reflect.ValueOf(timed)
	for i := range iface.NumMethod() {
		method := iface.Method(i)
		if method.Name == "Close" {
			continue
		}
		callCtx := ctx
		if method.Name == "FollowEvents" {
			// It returns when its context ends: one that has ended already.
			c, cancel := context.WithCancel(ctx)
			cancel()
			callCtx = c
		}
		wrapper.MethodByName(method.Name).Call(zeroArgs(callCtx, method.Type))
		after := storeSampleCounts(t, m)
		for op, n := range after {
			want := before[op]
			if op == method.Name {
				want++
			}
			if n != want {
				t.Errorf("after calling %s: %s timed %d times, want %d", method.Name, op, n, want)
			}
		}
		if _, ok := after[method.Name]; !ok {
			t.Errorf("after calling %s: no series for it", method.Name)
		}
		before = after
	}

	if err := timed.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !inner.closed.Load() {
		t.Error("Close through the wrapper did not close the store")
	}
	if after := storeSampleCounts(t, m); !reflect.DeepEqual(after, before) {
		t.Errorf("Close moved the store histogram: %v, was %v", after, before)
	}
}

// closeRecorder is a real store that notes whether Close reached it.
type closeRecorder struct {
	store.Store
	closed atomic.Bool
}

func (c *closeRecorder) Close() error {
	c.closed.Store(true)
	return c.Store.Close()
}

// zeroArgs returns arguments for a method of type fn: ctx for a
// context.Context, a function returning zero values for a callback, and the
// zero value of anything else.
func zeroArgs(ctx context.Context, fn reflect.Type) []reflect.Value {
	args := make([]reflect.Value, fn.NumIn())
	for i := range args {
		in := fn.In(i)
		switch {
		case in == reflect.TypeFor[context.Context]():
			args[i] = reflect.ValueOf(ctx)
		case in.Kind() == reflect.Func:
			args[i] = reflect.MakeFunc(in, func([]reflect.Value) []reflect.Value {
				out := make([]reflect.Value, in.NumOut())
				for j := range out {
					out[j] = reflect.Zero(in.Out(j))
				}
				return out
			})
		default:
			args[i] = reflect.Zero(in)
		}
	}
	return args
}

// storeSampleCounts reads, from m's registry as /metrics would serve it, how
// many observations each operation's store latency histogram holds.
func storeSampleCounts(t *testing.T, m *Metrics) map[string]uint64 {
	t.Helper()
	families, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, f := range families {
		if f.GetName() != "workspace_store_operation_duration_seconds" {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "operation" {
					counts[l.GetValue()] = s.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return counts
}
