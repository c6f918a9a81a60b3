// Package keyset builds the SQL of one page of a list in a store.Order — the
// filters' conditions, the keyset condition after a store.Position, the ORDER
// BY — for both backends, so that they page alike; each backend supplies its
// placeholders, its time encoding and its text search.
package keyset

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/example/workspace/store"
)

// Dialect is what differs between the backends' SQL.
type Dialect struct {
	// Param returns the placeholder of the nth argument (1-based).
	Param func(n int) string
	// Time encodes a time argument as the backend stores times.
	Time func(time.Time) any
}

// Query is a WHERE clause under construction: conditions joined by AND, and
// their arguments in placeholder order.
type Query struct {
	d     Dialect
	conds []string
	args  []any
}

// New starts a query with no condition.
func New(d Dialect) *Query { return &Query{d: d} }

// Arg adds an argument and returns its placeholder.
func (q *Query) Arg(v any) string {
	q.args = append(q.args, v)
	return q.d.Param(len(q.args))
}

// Time adds a time argument in the dialect's encoding.
func (q *Query) Time(t time.Time) string { return q.Arg(q.d.Time(t)) }

// And adds a condition.
func (q *Query) And(cond string) { q.conds = append(q.conds, cond) }

// Where is the conditions joined by AND; every list has at least one, the
// workspace's.
func (q *Query) Where() string { return strings.Join(q.conds, " AND ") }

// Args are the arguments of Where, in placeholder order.
func (q *Query) Args() []any { return q.args }

// Next is the placeholder the next argument would get, for LIMIT and OFFSET.
func (q *Query) Next(k int) string { return q.d.Param(len(q.args) + k) }

func (q *Query) clone() *Query {
	return &Query{d: q.d, conds: append([]string(nil), q.conds...), args: append([]any(nil), q.args...)}
}

// Search adds the condition that text occurs in one of a record's text
// columns; each backend answers it from its own index.
type Search func(q *Query, text string) string

// CheckQuery refuses a search text no trigram index can answer.
func CheckQuery(text string) error {
	if utf8.RuneCountInString(text) < store.MinQueryLength {
		return fmt.Errorf("search text %q: fewer than %d characters", text, store.MinQueryLength)
	}
	return nil
}

// Tasks starts the query of a workspace's tasks matching f.
func Tasks(d Dialect, workspaceID string, f store.TaskFilter, search Search) (*Query, error) {
	q := New(d)
	q.And("workspace_id = " + q.Arg(workspaceID))
	if f.ProjectID != "" {
		q.And("project_id = " + q.Arg(f.ProjectID))
	}
	if f.Status != "" {
		q.And("status = " + q.Arg(f.Status))
	}
	if len(f.Statuses) > 0 {
		ps := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			ps[i] = q.Arg(s)
		}
		q.And("status IN (" + strings.Join(ps, ", ") + ")")
	}
	if f.DueBefore != nil {
		q.And("due_at < " + q.Time(*f.DueBefore))
	}
	if f.DueAfter != nil {
		q.And("due_at > " + q.Time(*f.DueAfter))
	}
	if f.UpdatedAfter != nil {
		q.And("updated_at > " + q.Time(*f.UpdatedAfter))
	}
	if f.Query != "" {
		if err := CheckQuery(f.Query); err != nil {
			return nil, err
		}
		q.And(search(q, f.Query))
	}
	return q, nil
}

// Projects starts the query of a workspace's projects matching f.
func Projects(d Dialect, workspaceID string, f store.ProjectFilter, search Search) (*Query, error) {
	q := New(d)
	q.And("workspace_id = " + q.Arg(workspaceID))
	if f.Query != "" {
		if err := CheckQuery(f.Query); err != nil {
			return nil, err
		}
		q.And(search(q, f.Query))
	}
	return q, nil
}

// Part is one SELECT of a page: its WHERE, its arguments and its ORDER BY. A
// page in an order by a nullable key has two parts, the rows with the key and
// then those without, each of which an index on (…, key, id) answers in
// order; a page takes rows from the first, then from the second.
type Part struct {
	q       *Query
	OrderBy string
}

// Where is the part's WHERE clause.
func (p Part) Where() string { return p.q.Where() }

// Args are the arguments of Where.
func (p Part) Args() []any { return p.q.Args() }

// Next is the placeholder of the kth argument after Args.
func (p Part) Next(k int) string { return p.q.Next(k) }

// Sort describes a list's sort keys: the columns Order.By may name, and which
// of them may be NULL.
type Sort map[string]bool // column → nullable

// TaskSort and ProjectSort are the orders of ListTasks and ListProjects;
// KeySort is ListAPIKeys', the default only.
var (
	TaskSort    = Sort{store.SortCreatedAt: false, store.SortUpdatedAt: false, store.SortDueAt: true}
	ProjectSort = Sort{store.SortCreatedAt: false, store.SortUpdatedAt: false}
	KeySort     = Sort{store.SortCreatedAt: false}
)

// Parts returns the parts of a page of base in page.Order after page.After.
func Parts(base *Query, sort Sort, page store.Page) ([]Part, error) {
	if page.Limit < 1 || page.Offset < 0 {
		return nil, fmt.Errorf("invalid page: limit %d, offset %d", page.Limit, page.Offset)
	}
	if page.After != nil && page.Offset != 0 {
		return nil, fmt.Errorf("invalid page: offset %d with a position", page.Offset)
	}
	col := page.Order.Field()
	nullable, ok := sort[col]
	if !ok {
		return nil, fmt.Errorf("invalid page: cannot order by %q", page.Order.By)
	}
	dir, cmp := " DESC", "<"
	if page.Order.Ascending {
		dir, cmp = " ASC", ">"
	}
	after := page.After
	if after != nil && after.Key == nil && !nullable {
		return nil, fmt.Errorf("invalid page: position without a %s", col)
	}
	var parts []Part
	// The rows with the key, unless the position is already past them.
	if after == nil || after.Key != nil {
		q := base.clone()
		if nullable {
			q.And(col + " IS NOT NULL")
		}
		if after != nil {
			q.And("(" + col + ", id) " + cmp + " (" + q.Time(*after.Key) + ", " + q.Arg(after.ID) + ")")
		}
		parts = append(parts, Part{q: q, OrderBy: col + dir + ", id" + dir})
	}
	if nullable {
		q := base.clone()
		q.And(col + " IS NULL")
		if after != nil && after.Key == nil {
			q.And("id " + cmp + " " + q.Arg(after.ID))
		}
		parts = append(parts, Part{q: q, OrderBy: "id" + dir})
	}
	return parts, nil
}

// Fetch reads a page from its parts: fetch reads up to limit rows of a part
// after skipping offset, count counts a part's rows (needed only when an
// offset skips a whole part).
func Fetch[T any](parts []Part, limit, offset int, fetch func(p Part, limit, offset int) ([]T, error), count func(p Part) (int, error)) ([]T, error) {
	out := []T{}
	for i, p := range parts {
		rows, err := fetch(p, limit-len(out), offset)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
		if len(out) >= limit || i == len(parts)-1 {
			break
		}
		switch {
		case len(rows) > 0:
			offset = 0 // the offset ended inside this part
		case offset > 0:
			n, err := count(p)
			if err != nil {
				return nil, err
			}
			offset -= n
			if offset < 0 {
				offset = 0
			}
		}
	}
	return out, nil
}
