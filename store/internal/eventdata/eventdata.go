// Package eventdata is the stored form of the event log's rows, one codec for both backends so that both store the same bytes.
package eventdata

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/example/workspace/internal/ids"
	"github.com/example/workspace/store"
)

// IDPrefix starts every event id.
const IDPrefix = "evt_"

// Row is an event as a write appends it: everything but its workspace, its
// Seq and its Origin, which the backend adds from the write.
type Row struct {
	ID        string
	Type      string
	CreatedAt time.Time
	Data      []byte
	Previous  []byte // nil for creates and deletes
}

// New encodes one event of a write: data is the record after the change
// (for a delete, as it was), previous the record before an update or nil.
// The time is the event's creation, truncated to the microsecond.
func New(typ string, at time.Time, data store.Resource, previous *store.Resource) (Row, error) {
	d, p, err := Encode(data, previous)
	if err != nil {
		return Row{}, err
	}
	return Row{ID: ids.New(IDPrefix), Type: typ, CreatedAt: at.Truncate(time.Microsecond).UTC(), Data: d, Previous: p}, nil
}

// Times are unix microseconds, the precision both backends keep, in an
// int64: exact, and compact.
type micros = int64

func enc(t time.Time) micros { return t.UnixMicro() }

func encOpt(t *time.Time) *micros {
	if t == nil {
		return nil
	}
	n := t.UnixMicro()
	return &n
}

func dec(n micros) time.Time { return time.UnixMicro(n).UTC() }

func decOpt(n *micros) *time.Time {
	if n == nil {
		return nil
	}
	t := dec(*n)
	return &t
}

// The stored records: explicit names, never omitempty on a field, so that
// a field that became null is in a Previous diff as null.
type project struct {
	ID          string `json:"id"`
	WorkspaceID string `json:"workspace_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	CreatedAt   micros `json:"created_at"`
	UpdatedAt   micros `json:"updated_at"`
	Version     int64  `json:"version"`
}

type task struct {
	ID          string  `json:"id"`
	WorkspaceID string  `json:"workspace_id"`
	ProjectID   string  `json:"project_id"`
	Title       string  `json:"title"`
	Description string  `json:"description"`
	Status      string  `json:"status"`
	DueAt       *micros `json:"due_at"`
	CompletedAt *micros `json:"completed_at"`
	CreatedAt   micros  `json:"created_at"`
	UpdatedAt   micros  `json:"updated_at"`
	Version     int64   `json:"version"`
}

// apiKey has no hash: an event never holds a key's secret, nor what
// verifies it.
type apiKey struct {
	ID          string   `json:"id"`
	WorkspaceID string   `json:"workspace_id"`
	Name        string   `json:"name"`
	Scopes      []string `json:"scopes"`
	Prefix      string   `json:"prefix"`
	CreatedAt   micros   `json:"created_at"`
	LastUsedAt  *micros  `json:"last_used_at"`
	ExpiresAt   *micros  `json:"expires_at"`
	RevokedAt   *micros  `json:"revoked_at"`
}

type workspace struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Plan      string `json:"plan"`
	CreatedAt micros `json:"created_at"`
}

// webhookEndpoint has no secrets and no dispatch state: what the API
// renders of an endpoint.
type webhookEndpoint struct {
	ID             string   `json:"id"`
	WorkspaceID    string   `json:"workspace_id"`
	URL            string   `json:"url"`
	Description    string   `json:"description"`
	EventTypes     []string `json:"event_types"`
	Enabled        bool     `json:"enabled"`
	DisabledReason string   `json:"disabled_reason"`
	CreatedAt      micros   `json:"created_at"`
	UpdatedAt      micros   `json:"updated_at"`
	Version        int64    `json:"version"`
}

// resource is store.Resource stored: one key, the resource's kind.
type resource struct {
	Project         *project         `json:"project,omitempty"`
	Task            *task            `json:"task,omitempty"`
	APIKey          *apiKey          `json:"api_key,omitempty"`
	Workspace       *workspace       `json:"workspace,omitempty"`
	WebhookEndpoint *webhookEndpoint `json:"webhook_endpoint,omitempty"`
}

func toStored(r store.Resource) (resource, error) {
	var out resource
	n := 0
	if p := r.Project; p != nil {
		n++
		out.Project = &project{p.ID, p.WorkspaceID, p.Name, p.Description, enc(p.CreatedAt), enc(p.UpdatedAt), p.Version}
	}
	if t := r.Task; t != nil {
		n++
		out.Task = &task{t.ID, t.WorkspaceID, t.ProjectID, t.Title, t.Description, t.Status,
			encOpt(t.DueAt), encOpt(t.CompletedAt), enc(t.CreatedAt), enc(t.UpdatedAt), t.Version}
	}
	if k := r.APIKey; k != nil {
		n++
		scopes := k.Scopes
		if scopes == nil {
			scopes = []string{}
		}
		out.APIKey = &apiKey{k.ID, k.WorkspaceID, k.Name, scopes, k.Prefix, enc(k.CreatedAt),
			encOpt(k.LastUsedAt), encOpt(k.ExpiresAt), encOpt(k.RevokedAt)}
	}
	if w := r.Workspace; w != nil {
		n++
		out.Workspace = &workspace{w.ID, w.Name, w.Plan, enc(w.CreatedAt)}
	}
	if e := r.WebhookEndpoint; e != nil {
		n++
		types := e.EventTypes
		if types == nil {
			types = []string{}
		}
		out.WebhookEndpoint = &webhookEndpoint{e.ID, e.WorkspaceID, e.URL, e.Description, types, e.Enabled,
			e.DisabledReason, enc(e.CreatedAt), enc(e.UpdatedAt), e.Version}
	}
	if n != 1 {
		return resource{}, fmt.Errorf("eventdata: a resource holds exactly one record, not %d", n)
	}
	return out, nil
}

func fromStored(r resource) (store.Resource, error) {
	var out store.Resource
	switch {
	case r.Project != nil:
		p := r.Project
		out.Project = &store.Project{ID: p.ID, WorkspaceID: p.WorkspaceID, Name: p.Name, Description: p.Description,
			CreatedAt: dec(p.CreatedAt), UpdatedAt: dec(p.UpdatedAt), Version: p.Version}
	case r.Task != nil:
		t := r.Task
		out.Task = &store.Task{ID: t.ID, WorkspaceID: t.WorkspaceID, ProjectID: t.ProjectID, Title: t.Title,
			Description: t.Description, Status: t.Status, DueAt: decOpt(t.DueAt), CompletedAt: decOpt(t.CompletedAt),
			CreatedAt: dec(t.CreatedAt), UpdatedAt: dec(t.UpdatedAt), Version: t.Version}
	case r.APIKey != nil:
		k := r.APIKey
		out.APIKey = &store.APIKey{ID: k.ID, WorkspaceID: k.WorkspaceID, Name: k.Name, Scopes: k.Scopes, Prefix: k.Prefix,
			CreatedAt: dec(k.CreatedAt), LastUsedAt: decOpt(k.LastUsedAt), ExpiresAt: decOpt(k.ExpiresAt), RevokedAt: decOpt(k.RevokedAt)}
	case r.Workspace != nil:
		w := r.Workspace
		out.Workspace = &store.Workspace{ID: w.ID, Name: w.Name, Plan: w.Plan, CreatedAt: dec(w.CreatedAt)}
	case r.WebhookEndpoint != nil:
		e := r.WebhookEndpoint
		out.WebhookEndpoint = &store.WebhookEndpoint{ID: e.ID, WorkspaceID: e.WorkspaceID, URL: e.URL,
			Description: e.Description, EventTypes: e.EventTypes, Enabled: e.Enabled, DisabledReason: e.DisabledReason,
			CreatedAt: dec(e.CreatedAt), UpdatedAt: dec(e.UpdatedAt), Version: e.Version}
	default:
		return store.Resource{}, errors.New("eventdata: stored resource holds no record")
	}
	return out, nil
}

// Encode returns the stored bytes of an event's Data and Previous. Previous
// is stored as the fields of the record whose value differs from Data's
// (most updates change two or three), and nil when there is none.
func Encode(data store.Resource, previous *store.Resource) (d, p []byte, err error) {
	sd, err := toStored(data)
	if err != nil {
		return nil, nil, err
	}
	if d, err = json.Marshal(sd); err != nil {
		return nil, nil, err
	}
	if previous == nil {
		return d, nil, nil
	}
	sp, err := toStored(*previous)
	if err != nil {
		return nil, nil, err
	}
	pb, err := json.Marshal(sp)
	if err != nil {
		return nil, nil, err
	}
	kind, dataFields, err := fields(d)
	if err != nil {
		return nil, nil, err
	}
	pkind, prevFields, err := fields(pb)
	if err != nil {
		return nil, nil, err
	}
	if kind != pkind {
		return nil, nil, fmt.Errorf("eventdata: previous is a %s, data a %s", pkind, kind)
	}
	changed := map[string]json.RawMessage{}
	for k, v := range prevFields {
		if !bytes.Equal(v, dataFields[k]) {
			changed[k] = v
		}
	}
	if p, err = json.Marshal(map[string]map[string]json.RawMessage{kind: changed}); err != nil {
		return nil, nil, err
	}
	return d, p, nil
}

// fields splits a stored resource into its kind and its record's fields.
func fields(b []byte) (string, map[string]json.RawMessage, error) {
	var outer map[string]map[string]json.RawMessage
	if err := json.Unmarshal(b, &outer); err != nil {
		return "", nil, fmt.Errorf("eventdata: %w", err)
	}
	if len(outer) != 1 {
		return "", nil, fmt.Errorf("eventdata: stored resource has %d kinds", len(outer))
	}
	for k, v := range outer {
		return k, v, nil
	}
	panic("unreachable")
}

// Decode turns stored bytes back into an event's Data and Previous (nil if
// p is).
func Decode(d, p []byte) (store.Resource, *store.Resource, error) {
	var sd resource
	if err := json.Unmarshal(d, &sd); err != nil {
		return store.Resource{}, nil, fmt.Errorf("eventdata: data: %w", err)
	}
	data, err := fromStored(sd)
	if err != nil {
		return store.Resource{}, nil, err
	}
	if p == nil {
		return data, nil, nil
	}
	kind, dataFields, err := fields(d)
	if err != nil {
		return store.Resource{}, nil, err
	}
	pkind, changed, err := fields(p)
	if err != nil {
		return store.Resource{}, nil, err
	}
	if kind != pkind {
		return store.Resource{}, nil, fmt.Errorf("eventdata: previous is a %s, data a %s", pkind, kind)
	}
	for k, v := range changed {
		dataFields[k] = v
	}
	merged, err := json.Marshal(map[string]map[string]json.RawMessage{kind: dataFields})
	if err != nil {
		return store.Resource{}, nil, err
	}
	var sp resource
	if err := json.Unmarshal(merged, &sp); err != nil {
		return store.Resource{}, nil, fmt.Errorf("eventdata: previous: %w", err)
	}
	prev, err := fromStored(sp)
	if err != nil {
		return store.Resource{}, nil, err
	}
	return data, &prev, nil
}

// Pending collects the events of one write, all of one workspace, in the
// order the write made its changes. Last is the Seq of the last one, once
// the backend has appended them.
type Pending struct {
	WorkspaceID string
	Rows        []Row
	Last        int64
}

// Add encodes one event of the write, created now.
func (p *Pending) Add(workspaceID, typ string, data store.Resource, previous *store.Resource) error {
	if p.WorkspaceID != "" && p.WorkspaceID != workspaceID {
		return fmt.Errorf("eventdata: one write's events in two workspaces (%s, %s)", p.WorkspaceID, workspaceID)
	}
	p.WorkspaceID = workspaceID
	row, err := New(typ, time.Now(), data, previous)
	if err != nil {
		return err
	}
	p.Rows = append(p.Rows, row)
	return nil
}
