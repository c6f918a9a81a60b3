package service

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/example/workspace/apierror"
	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/service/cursor"
	"github.com/example/workspace/service/textfield"
	"github.com/example/workspace/store"
)

// maxQueryLength bounds a search text, in characters.
const maxQueryLength = 200

// listRequest is what every List RPC's request shares.
type listRequest struct {
	limit, offset *int32
	pageToken     string
	orderBy       string
}

// listSpec is what listPage needs to know of a list: its name (part of every
// cursor's binding), the fields order_by may name (none: order_by is not
// offered), and where a record sits in an order.
type listSpec[R any] struct {
	name   string
	orders []string
	key    func(R, string) *time.Time
	id     func(R) string
}

var (
	taskList = listSpec[store.Task]{
		name:   "tasks",
		orders: []string{store.SortCreatedAt, store.SortUpdatedAt, store.SortDueAt},
		key: func(t store.Task, by string) *time.Time {
			switch by {
			case store.SortUpdatedAt:
				return &t.UpdatedAt
			case store.SortDueAt:
				return t.DueAt
			}
			return &t.CreatedAt
		},
		id: func(t store.Task) string { return t.ID },
	}
	projectList = listSpec[store.Project]{
		name:   "projects",
		orders: []string{store.SortCreatedAt, store.SortUpdatedAt},
		key: func(p store.Project, by string) *time.Time {
			if by == store.SortUpdatedAt {
				return &p.UpdatedAt
			}
			return &p.CreatedAt
		},
		id: func(p store.Project) string { return p.ID },
	}
	apiKeyList = listSpec[store.APIKey]{
		name: "api_keys",
		key:  func(k store.APIKey, _ string) *time.Time { return &k.CreatedAt },
		id:   func(k store.APIKey) string { return k.ID },
	}
)

// listPage is every List RPC: the caller's workspace, the page the request
// asks for (or a validation error) — by offset or after a cursor, in the
// order asked — one page from the store, converted, and the token of the next
// page if there is one. filterKey is the normalised filters, which a cursor is
// bound to together with the list, the workspace and the order.
func listPage[R, P any](ctx context.Context, req listRequest, spec listSpec[R], filterKey string,
	list func(ctx context.Context, workspaceID string, pg store.Page) ([]R, int, error), convert func(R) P,
) ([]P, *workspacev1.Pagination, *string, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	pg, err := page(req.limit, req.offset)
	if err != nil {
		return nil, nil, nil, err
	}
	order, orderKey, err := parseOrder(req.orderBy, spec.orders)
	if err != nil {
		return nil, nil, nil, err
	}
	pg.Order = order
	binding := cursor.Bind(spec.name, p.WorkspaceID, orderKey, filterKey)
	if req.pageToken != "" {
		if req.offset != nil {
			return nil, nil, nil, apierror.Validation("cursor", "cursor and offset cannot be combined")
		}
		pos, err := cursor.Decode(req.pageToken, binding)
		switch {
		case errors.Is(err, cursor.ErrMismatch):
			return nil, nil, nil, apierror.Validation("cursor", "cursor was issued for other filters or another order")
		case err != nil:
			return nil, nil, nil, apierror.Validation("cursor", "cursor is not valid")
		}
		pg.After = &pos
	}
	// One more than the page, so that the page knows whether a next one
	// exists without another query.
	ask := pg
	ask.Limit++
	rows, total, err := list(ctx, p.WorkspaceID, ask)
	if err != nil {
		return nil, nil, nil, err
	}
	more := len(rows) > pg.Limit
	if more {
		rows = rows[:pg.Limit]
	}
	out := make([]P, len(rows))
	for i, r := range rows {
		out[i] = convert(r)
	}
	pag := pagination(pg, len(rows), total)
	if pg.After != nil {
		// A cursor page has no offset to add to; has_more is whether the
		// next page exists, as on every page (then next_cursor is set).
		pag.HasMore = more
	}
	var next *string
	if more {
		last := rows[len(rows)-1]
		pos := store.Position{ID: spec.id(last)}
		if k := spec.key(last, order.Field()); k != nil {
			kc := *k
			pos.Key = &kc
		}
		tok := cursor.Encode(binding, pos)
		next = &tok
	}
	return out, pag, next, nil
}

// parseOrder reads order_by (AIP-132): a field of fields, optionally followed
// by "asc" or "desc"; the field alone is ascending. Absent, it is
// "created_at desc". It returns the order and its normal form.
func parseOrder(s string, fields []string) (store.Order, string, error) {
	words := strings.Fields(s)
	if len(words) == 0 {
		return store.Order{}, store.SortCreatedAt + " desc", nil
	}
	bad := apierror.Validation("order_by", `order_by must be one of `+strings.Join(fields, ", ")+`, optionally followed by " asc" or " desc"`)
	if len(fields) == 0 {
		bad = apierror.Validation("order_by", "This list has one order, newest first")
	}
	if len(words) > 2 || !slices.Contains(fields, words[0]) {
		return store.Order{}, "", bad
	}
	o := store.Order{By: words[0], Ascending: true}
	if len(words) == 2 {
		switch words[1] {
		case "asc":
		case "desc":
			o.Ascending = false
		default:
			return store.Order{}, "", bad
		}
	}
	dir := " desc"
	if o.Ascending {
		dir = " asc"
	}
	return o, o.By + dir, nil
}

// taskFilter reads ListTasks' filters and their normal form (the binding of
// its cursors).
func taskFilter(req *workspacev1.ListTasksRequest) (store.TaskFilter, string, error) {
	f := store.TaskFilter{ProjectID: req.ProjectId}
	if req.Status != "" {
		var statuses []string
		for _, s := range strings.Split(req.Status, ",") {
			s = strings.TrimSpace(s)
			if !validStatus(s) {
				return f, "", apierror.Validation("status", "status must be one of todo, in_progress, completed, or several of them separated by commas")
			}
			if !slices.Contains(statuses, s) {
				statuses = append(statuses, s)
			}
		}
		slices.Sort(statuses)
		if len(statuses) == 1 {
			f.Status = statuses[0]
		} else {
			f.Statuses = statuses
		}
	}
	var err error
	if f.DueBefore, err = filterTime("due_before", req.DueBefore); err != nil {
		return f, "", err
	}
	if f.DueAfter, err = filterTime("due_after", req.DueAfter); err != nil {
		return f, "", err
	}
	if f.UpdatedAfter, err = filterTime("updated_after", req.UpdatedAfter); err != nil {
		return f, "", err
	}
	if f.Query, err = searchText(req.Q); err != nil {
		return f, "", err
	}
	key := strings.Join([]string{
		"project_id=" + f.ProjectID,
		"status=" + f.Status + "|" + strings.Join(f.Statuses, ","),
		"due_before=" + microsKey(f.DueBefore),
		"due_after=" + microsKey(f.DueAfter),
		"updated_after=" + microsKey(f.UpdatedAfter),
		"q=" + f.Query,
	}, "\x00")
	return f, key, nil
}

// projectFilter reads ListProjects' filter and its normal form.
func projectFilter(req *workspacev1.ListProjectsRequest) (store.ProjectFilter, string, error) {
	q, err := searchText(req.Q)
	return store.ProjectFilter{Query: q}, "q=" + q, err
}

func filterTime(field string, t *timestamppb.Timestamp) (*time.Time, error) {
	if t == nil {
		return nil, nil
	}
	if err := t.CheckValid(); err != nil {
		return nil, apierror.Validation(field, field+" must be a valid RFC 3339 time")
	}
	v := t.AsTime().UTC()
	return &v, nil
}

func microsKey(t *time.Time) string {
	if t == nil {
		return ""
	}
	return strconv.FormatInt(t.UnixMicro(), 10)
}

// searchText checks q: surrounding whitespace is not part of it; what is left
// is empty (no search) or 3–200 characters, since a trigram is what both
// stores' indexes can look up.
func searchText(q string) (string, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return "", nil
	}
	if err := textfield.Optional("q", "q", q, maxQueryLength); err != nil {
		return "", err
	}
	if utf8.RuneCountInString(q) < store.MinQueryLength {
		return "", apierror.Validation("q", "q must be at least 3 characters")
	}
	return q, nil
}
