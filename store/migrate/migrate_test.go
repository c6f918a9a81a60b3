package migrate

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// memDialect records migrations in a map, as a database table would.
type memDialect struct {
	recorded map[int64]bool
	order    []string
	failOn   string
}

func (d *memDialect) Init(context.Context) error {
	if d.recorded == nil {
		d.recorded = map[int64]bool{}
	}
	return nil
}

func (d *memDialect) Apply(_ context.Context, m Migration) (bool, error) {
	if d.recorded[m.Version] {
		return false, nil
	}
	if m.Name == d.failOn {
		return false, errors.New("boom")
	}
	d.recorded[m.Version] = true
	d.order = append(d.order, m.Name)
	return true, nil
}

func TestRunAppliesInOrderOnce(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0010_later.sql":  {Data: []byte("c")},
		"m/0002_second.sql": {Data: []byte("b")},
		"m/0001_init.sql":   {Data: []byte("a")},
		"m/README":          {Data: []byte("not a migration")},
	}
	d := &memDialect{}
	applied, err := Run(t.Context(), fsys, "m", d)
	want := []string{"0001_init", "0002_second", "0010_later"}
	if err != nil || !slices.Equal(applied, want) || !slices.Equal(d.order, want) {
		t.Fatalf("Run = %q, %v (applied in order %q); want %q", applied, err, d.order, want)
	}
	applied, err = Run(t.Context(), fsys, "m", d)
	if err != nil || applied == nil || len(applied) != 0 {
		t.Fatalf("second Run = %#v, %v; want an empty list", applied, err)
	}
}

func TestRunStopsAtFailure(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0001_a.sql": {Data: []byte("a")},
		"m/0002_b.sql": {Data: []byte("b")},
		"m/0003_c.sql": {Data: []byte("c")},
	}
	d := &memDialect{failOn: "0002_b"}
	applied, err := Run(t.Context(), fsys, "m", d)
	if err == nil || !strings.Contains(err.Error(), "0002_b") || !slices.Equal(applied, []string{"0001_a"}) {
		t.Fatalf("Run = %q, %v; want 0001_a applied and an error naming 0002_b", applied, err)
	}
}

func TestLoadRejects(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"none":        {"m/x.txt": {}},
		"no number":   {"m/init.sql": {}},
		"zero":        {"m/0000_init.sql": {}},
		"not numeric": {"m/x1_init.sql": {}},
		"duplicate":   {"m/0001_a.sql": {}, "m/1_b.sql": {}},
	} {
		if ms, err := Load(fsys, "m"); err == nil {
			t.Errorf("%s: Load = %v, want an error", name, ms)
		}
	}
}
