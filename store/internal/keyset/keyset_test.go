package keyset

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/example/workspace/store"
)

var testDialect = Dialect{Param: func(n int) string { return "$" + strconv.Itoa(n) }, Time: func(t time.Time) any { return t }}

// The parts of a page: one for a key that is never NULL, two (with the key,
// then without) for a nullable one, and only the second once the position is
// among the rows without the key.
func TestParts(t *testing.T) {
	k := time.Unix(100, 0)
	cases := []struct {
		name  string
		page  store.Page
		where []string
		order []string
	}{
		{"default", store.Page{Limit: 1}, []string{"workspace_id = $1"}, []string{"created_at DESC, id DESC"}},
		{"after", store.Page{Limit: 1, After: &store.Position{Key: &k, ID: "b"}},
			[]string{"workspace_id = $1 AND (created_at, id) < ($2, $3)"}, []string{"created_at DESC, id DESC"}},
		{"due asc", store.Page{Limit: 1, Order: store.Order{By: store.SortDueAt, Ascending: true}},
			[]string{"workspace_id = $1 AND due_at IS NOT NULL", "workspace_id = $1 AND due_at IS NULL"},
			[]string{"due_at ASC, id ASC", "id ASC"}},
		{"due desc after a due date", store.Page{Limit: 1, Order: store.Order{By: store.SortDueAt}, After: &store.Position{Key: &k, ID: "b"}},
			[]string{"workspace_id = $1 AND due_at IS NOT NULL AND (due_at, id) < ($2, $3)", "workspace_id = $1 AND due_at IS NULL"},
			[]string{"due_at DESC, id DESC", "id DESC"}},
		{"due desc among the undated", store.Page{Limit: 1, Order: store.Order{By: store.SortDueAt}, After: &store.Position{ID: "b"}},
			[]string{"workspace_id = $1 AND due_at IS NULL AND id < $2"}, []string{"id DESC"}},
	}
	for _, c := range cases {
		base := New(testDialect)
		base.And("workspace_id = " + base.Arg("ws"))
		parts, err := Parts(base, TaskSort, c.page)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(parts) != len(c.where) {
			t.Fatalf("%s: %d parts, want %d", c.name, len(parts), len(c.where))
		}
		for i, p := range parts {
			if p.Where() != c.where[i] || p.OrderBy != c.order[i] {
				t.Errorf("%s part %d: WHERE %s ORDER BY %s; want WHERE %s ORDER BY %s", c.name, i, p.Where(), p.OrderBy, c.where[i], c.order[i])
			}
		}
		if base.Where() != "workspace_id = $1" || len(base.Args()) != 1 {
			t.Errorf("%s: Parts changed its base: %s %v", c.name, base.Where(), base.Args())
		}
	}
}

// Fetch takes rows from each part in turn, carrying what is left of the
// offset and of the limit over to the next.
func TestFetch(t *testing.T) {
	data := [][]int{{1, 2, 3}, {4, 5}}
	parts := []Part{{OrderBy: "0"}, {OrderBy: "1"}}
	idx := func(p Part) int { return int(p.OrderBy[0] - '0') }
	fetch := func(p Part, limit, offset int) ([]int, error) {
		rows := data[idx(p)]
		lo := min(offset, len(rows))
		return rows[lo:min(lo+limit, len(rows))], nil
	}
	count := func(p Part) (int, error) { return len(data[idx(p)]), nil }
	for _, c := range []struct{ limit, offset int }{{2, 0}, {4, 0}, {2, 2}, {2, 3}, {2, 4}, {2, 5}, {10, 9}} {
		got, err := Fetch(parts, c.limit, c.offset, fetch, count)
		if err != nil {
			t.Fatal(err)
		}
		all := append(append([]int{}, data[0]...), data[1]...)
		want := all[min(c.offset, 5):min(c.offset+c.limit, 5)]
		if len(got) != len(want) {
			t.Errorf("limit %d offset %d: %v, want %v", c.limit, c.offset, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("limit %d offset %d: %v, want %v", c.limit, c.offset, got, want)
				break
			}
		}
	}
	boom := errors.New("boom")
	if _, err := Fetch(parts, 1, 0, func(Part, int, int) ([]int, error) { return nil, boom }, count); !errors.Is(err, boom) {
		t.Errorf("Fetch error = %v, want boom", err)
	}
}
