package service

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/example/workspace/apierror"
	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/internal/pbjson"
	"github.com/example/workspace/service/cursor"
	"github.com/example/workspace/store"
)

// events serves EventService: the workspace's event log.
type events struct {
	workspacev1.UnimplementedEventServiceServer
	Deps
}

// eventList names the event log in its cursors' binding.
const eventList = "events"

// ListEvents lists the log after a position, oldest first. A page's cursor
// is the seq of its last event: the next page is the events after it, so a
// page read by cursor is the same as one read by after, and nothing appended
// meanwhile is missed or repeated.
func (s *events) ListEvents(ctx context.Context, req *workspacev1.ListEventsRequest) (*workspacev1.ListEventsResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	pg, err := page(req.Limit, nil)
	if err != nil {
		return nil, err
	}
	if req.AfterSeq < 0 {
		return nil, apierror.Validation("after", "after must be a seq, 0 or more")
	}
	types, err := EventTypes(req.Types)
	if err != nil {
		return nil, err
	}
	filter := store.EventFilter{After: req.AfterSeq, Types: types}
	binding := cursor.Bind(eventList, p.WorkspaceID, "seq asc", "types="+strings.Join(types, ","))
	if req.PageToken != "" {
		if req.AfterSeq != 0 {
			return nil, apierror.Validation("cursor", "cursor and after cannot be combined")
		}
		pos, err := cursor.Decode(req.PageToken, binding)
		switch {
		case errors.Is(err, cursor.ErrMismatch):
			return nil, apierror.Validation("cursor", "cursor was issued for other types")
		case err != nil:
			return nil, apierror.Validation("cursor", "cursor is not valid")
		}
		after, err := strconv.ParseInt(pos.ID, 10, 64)
		if err != nil || after < 1 || pos.Key != nil {
			return nil, apierror.Validation("cursor", "cursor is not valid")
		}
		filter.After = after
	}
	// One more than the page, so that the page knows whether a next one
	// exists without another query.
	rows, total, err := s.Store.ListEvents(ctx, p.WorkspaceID, filter, pg.Limit+1)
	if errors.Is(err, store.ErrEventsExpired) {
		return nil, s.expired(ctx, p.WorkspaceID, err)
	}
	if err != nil {
		return nil, apierror.From(err)
	}
	more := len(rows) > pg.Limit
	if more {
		rows = rows[:pg.Limit]
	}
	out := make([]*workspacev1.Event, len(rows))
	for i, e := range rows {
		if out[i], err = EventPB(e); err != nil {
			return nil, apierror.Internal(err)
		}
	}
	pag := pagination(pg, len(rows), total)
	pag.HasMore = more
	var next *string
	if more {
		tok := cursor.Encode(binding, store.Position{ID: strconv.FormatInt(rows[len(rows)-1].Seq, 10)})
		next = &tok
	}
	return &workspacev1.ListEventsResponse{Data: out, Pagination: pag, NextPageToken: next}, nil
}

// expired is the 410 of a position before the pruned one. Its details say
// where the log stands — last_seq, the newest event's seq, and pruned_seq,
// the last seq pruned (read on from any seq at or after it) — so that a
// client resyncs in one step: note last_seq, read the lists, then read the
// log after last_seq.
func (s *events) expired(ctx context.Context, workspaceID string, err error) error {
	e, _ := apierror.As(apierror.From(err))
	head, herr := s.Store.EventHead(ctx, workspaceID)
	if herr != nil {
		return e
	}
	return e.WithDetail("last_seq", strconv.FormatInt(head.LastSeq, 10)).
		WithDetail("pruned_seq", strconv.FormatInt(head.PrunedSeq, 10))
}

// EventTypes reads a types filter: a comma list of event types, each one of
// store.EventTypes; its normal form is sorted without repeats (nil: all
// types). WatchEvents reads its filter with it too.
func EventTypes(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	known := store.EventTypes()
	var out []string
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		if !slices.Contains(known, t) {
			return nil, apierror.Validation("types", "types must be event types separated by commas: "+strings.Join(known, ", "))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out, nil
}

// resourceJSON are the options the REST surface writes messages with
// (gateway/marshal.go): the data of an event is the resource's JSON as its
// GET answers it.
var resourceJSON = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}

// EventPB converts a stored event to the API's: data is the resource as its
// GET renders it (a workspace without its live usage), previous the old
// values of the top-level fields of data that changed (nil for creates and
// deletes). WatchEvents converts with it too.
func EventPB(e store.Event) (*workspacev1.Event, error) {
	data, err := resourceStruct(e.Data)
	if err != nil {
		return nil, err
	}
	out := &workspacev1.Event{
		Id:        e.ID,
		Seq:       e.Seq,
		Type:      e.Type,
		CreatedAt: ts(e.CreatedAt),
		Data:      data,
	}
	if e.Previous != nil {
		old, err := resourceStruct(*e.Previous)
		if err != nil {
			return nil, err
		}
		prev := &structpb.Struct{Fields: map[string]*structpb.Value{}}
		for k, v := range old.GetFields() {
			if nv, ok := data.GetFields()[k]; !ok || !proto.Equal(nv, v) {
				prev.Fields[k] = v
			}
		}
		out.Previous = prev
	}
	if e.RequestID != "" {
		out.RequestId = &e.RequestID
	}
	if e.KeyID != "" {
		out.KeyId = &e.KeyID
	}
	return out, nil
}

// resourceStruct renders the resource of r as its GET does, as a Struct:
// through the same JSON, so times stay RFC 3339 strings, 64-bit integers
// decimal strings and ids exact.
func resourceStruct(r store.Resource) (*structpb.Struct, error) {
	var m proto.Message
	switch {
	case r.Project != nil:
		m = projectPB(*r.Project)
	case r.Task != nil:
		m = taskPB(*r.Task)
	case r.APIKey != nil:
		m = apiKeyPB(*r.APIKey)
	case r.Workspace != nil:
		m = workspacePB(*r.Workspace)
	case r.WebhookEndpoint != nil:
		m = webhookEndpointPB(*r.WebhookEndpoint) // never with a secret
	default:
		return nil, errEmptyResource
	}
	b, err := resourceJSON.Marshal(m)
	if err != nil {
		return nil, err
	}
	st := &structpb.Struct{}
	if err := protojson.Unmarshal(b, st); err != nil {
		return nil, err
	}
	if r.Workspace != nil {
		// Usage is the rate limit's now, not part of the record.
		delete(st.Fields, "usage")
	}
	return st, nil
}

// eventJSON writes events as the REST surface does (the gateway's
// envelope marshaler: pbjson, protojson where it defers, same bytes).
var eventJSON pbjson.Encoder

// EventJSON is an event's JSON exactly as GET /v1/events renders one item:
// the body of its webhook deliveries.
func EventJSON(e store.Event) ([]byte, error) {
	m, err := EventPB(e)
	if err != nil {
		return nil, err
	}
	return eventJSON.AppendOr(nil, m, resourceJSON)
}

const errEmptyResource = wiringError("service: an event without a resource")
