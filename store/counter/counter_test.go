package counter

import (
	"slices"
	"testing"
)

func TestOfCountsFourRowsInOrder(t *testing.T) {
	got := Of("proj_B", "todo", 1)
	want := []Delta{{Key{"", ""}, 1}, {Key{"", "=todo"}, 1}, {Key{"=proj_B", ""}, 1}, {Key{"=proj_B", "=todo"}, 1}}
	if !slices.Equal(got, want) {
		t.Errorf("Of = %v, want %v", got, want)
	}
	// The store accepts an empty status: it is a status of its own, not Any.
	got = Of("proj_B", "", 1)
	want = []Delta{{Key{"", ""}, 1}, {Key{"", "="}, 1}, {Key{"=proj_B", ""}, 1}, {Key{"=proj_B", "="}, 1}}
	if !slices.Equal(got, want) {
		t.Errorf("Of with an empty status = %v, want %v", got, want)
	}
}

func TestMove(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		fromP, fromS, toP, toS string
		want                   []Delta
	}{
		{"nothing changes", "proj_A", "todo", "proj_A", "todo", []Delta{}},
		{"status", "proj_A", "todo", "proj_A", "done", []Delta{
			{Key{"", "=done"}, 1}, {Key{"", "=todo"}, -1}, {Key{"=proj_A", "=done"}, 1}, {Key{"=proj_A", "=todo"}, -1}}},
		// Bytewise: upper case sorts before lower case, as in "C" collation.
		{"project", "proj_b", "todo", "proj_Z", "todo", []Delta{
			{Key{"=proj_Z", ""}, 1}, {Key{"=proj_Z", "=todo"}, 1}, {Key{"=proj_b", ""}, -1}, {Key{"=proj_b", "=todo"}, -1}}},
		{"both", "proj_A", "todo", "proj_B", "done", []Delta{
			{Key{"", "=done"}, 1}, {Key{"", "=todo"}, -1},
			{Key{"=proj_A", ""}, -1}, {Key{"=proj_A", "=todo"}, -1}, {Key{"=proj_B", ""}, 1}, {Key{"=proj_B", "=done"}, 1}}},
	} {
		if got := Move(tc.fromP, tc.fromS, tc.toP, tc.toS); !slices.Equal(got, tc.want) {
			t.Errorf("%s: Move = %v, want %v", tc.name, got, tc.want)
		}
	}
}
