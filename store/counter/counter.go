// Package counter computes which task counter rows a write changes, and in the one order every backend applies them.
package counter

import (
	"cmp"
	"slices"

	"github.com/example/workspace/store"
)

// Any is the project or status of a rollup row: (ws, p, Any) counts a
// project's tasks, (ws, Any, s) a status across the workspace, (ws, Any, Any)
// every task of the workspace. A row's own project and status are stored as
// Value makes them, so that no value, not even an empty status (the store
// accepts one), can be taken for Any.
const Any = ""

// Value is how a project id or a status is written in a counter row: after
// a "=", so that it never equals Any and sorts after it, in the same order
// as the values themselves.
func Value(v string) string { return "=" + v }

// Filter is the counter key of a list filter's field: Any for an empty
// field (no filter), else the field's Value.
func Filter(v string) string {
	if v == "" {
		return Any
	}
	return Value(v)
}

// Key is one counter row of a workspace.
type Key struct {
	ProjectID string
	Status    string
}

// Delta is a change to one counter row.
type Delta struct {
	Key
	N int64
}

// Deltas accumulates the changes of one write.
type Deltas map[Key]int64

// Task adds n to every row that counts a task of project p with status s:
// its own, its project's, its status's and the workspace's. A create is
// Task(p, s, 1), a delete Task(p, s, -1), a move or status change both.
func (d Deltas) Task(p, s string, n int64) {
	p, s = Value(p), Value(s)
	for _, k := range [4]Key{{Any, Any}, {Any, s}, {p, Any}, {p, s}} {
		d[k] += n
	}
}

// Sorted returns the non-zero changes ordered by (project, status), bytewise
// (PostgreSQL's "C" collation). Every writer takes its counter rows' locks in
// this order, after the rows it counts, so that two writers never wait for
// each other in a cycle.
func (d Deltas) Sorted() []Delta {
	out := make([]Delta, 0, len(d))
	for k, n := range d {
		if n != 0 {
			out = append(out, Delta{Key: k, N: n})
		}
	}
	slices.SortFunc(out, func(a, b Delta) int {
		return cmp.Or(cmp.Compare(a.ProjectID, b.ProjectID), cmp.Compare(a.Status, b.Status))
	})
	return out
}

// Move returns the changes of a task going from project fromP, status fromS
// to toP, toS: none when neither changes.
func Move(fromP, fromS, toP, toS string) []Delta {
	d := Deltas{}
	d.Task(fromP, fromS, -1)
	d.Task(toP, toS, 1)
	return d.Sorted()
}

// Of returns the changes of n tasks of project p with status s appearing (n
// > 0) or going (n < 0): the four rows Task names, already in Sorted's order
// (Any sorts first), built without a map since every create and delete
// calls it.
func Of(p, s string, n int64) []Delta {
	p, s = Value(p), Value(s)
	return []Delta{{Key{Any, Any}, n}, {Key{Any, s}, n}, {Key{p, Any}, n}, {Key{p, s}, n}}
}

// Covers reports whether the counters hold the total of f: a filter by
// project and by one or several statuses only. Dates and searches split
// tasks no counter does; their totals are counted row by row.
func Covers(f store.TaskFilter) bool {
	return f.DueBefore == nil && f.DueAfter == nil && f.UpdatedAfter == nil && f.Query == ""
}

// Statuses are the status keys whose counter rows add up to the total of f
// (Covers(f) must hold): Any without a status filter, else each status f
// allows once — with both Status and Statuses set, the one status if the
// list has it, none if not.
func Statuses(f store.TaskFilter) []string {
	if len(f.Statuses) == 0 {
		return []string{Filter(f.Status)}
	}
	var keys []string
	for _, s := range f.Statuses {
		if (f.Status == "" || s == f.Status) && !slices.Contains(keys, Value(s)) {
			keys = append(keys, Value(s))
		}
	}
	return keys
}
