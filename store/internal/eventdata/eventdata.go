// Package eventdata is the stored form of the event log's rows, one codec for both backends so that both store the same bytes.
package eventdata

import (
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
