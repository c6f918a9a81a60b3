package store

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// ErrEventsExpired reports a read of the event log after a position whose
// following events were pruned: the caller cannot learn what changed from the
// log and must resync from the lists.
var ErrEventsExpired = errors.New("events expired")

// Event types: "<resource>.<what happened>". Every write of a project, a task,
// an API key or a workspace's plan appends exactly one event per record it
// changes, in the write's own transaction.
const (
	EventProjectCreated   = "project.created"
	EventProjectUpdated   = "project.updated"
	EventProjectDeleted   = "project.deleted"
	EventTaskCreated      = "task.created"
	EventTaskUpdated      = "task.updated"
	EventTaskDeleted      = "task.deleted"
	EventAPIKeyCreated    = "api_key.created"
	EventAPIKeyRevoked    = "api_key.revoked"
	EventWorkspaceUpdated = "workspace.updated"
	// EventEndpointDisabled ("endpoint.disabled") is in webhooks.go.
)

// EventTypes lists every event type, in the order above.
func EventTypes() []string {
	return []string{
		EventProjectCreated, EventProjectUpdated, EventProjectDeleted,
		EventTaskCreated, EventTaskUpdated, EventTaskDeleted,
		EventAPIKeyCreated, EventAPIKeyRevoked, EventWorkspaceUpdated,
		EventEndpointDisabled,
	}
}

// Resource is the record an event is about: exactly one field is set, the
// one of the event type's resource. An APIKey's Hash is never kept.
type Resource struct {
	Project   *Project   `json:"project,omitempty"`
	Task      *Task      `json:"task,omitempty"`
	APIKey    *APIKey    `json:"api_key,omitempty"`
	Workspace *Workspace `json:"workspace,omitempty"`
	// WebhookEndpoint is kept without its secrets.
	WebhookEndpoint *WebhookEndpoint `json:"webhook_endpoint,omitempty"`
}

// Event is one entry of a workspace's event log.
type Event struct {
	WorkspaceID string
	// Seq is the event's place in its workspace's log: 1, 2, 3…, with no
	// gap, in the order the writes committed, so that a reader that has seen
	// Seq n never later finds an event with a smaller one.
	Seq int64
	// ID is "evt_" and random base62 characters.
	ID        string
	Type      string
	CreatedAt time.Time
	// RequestID and KeyID are the Origin of the write ("" when it had none:
	// the CLI).
	RequestID string
	KeyID     string
	// Data is the record after the change; for a delete, as it was.
	Data Resource
	// Previous is the record before an update (the same resource as Data);
	// nil for creates and deletes. Which fields changed is for the reader
	// to compare.
	Previous *Resource
}

// EventFilter selects events of a workspace's log.
type EventFilter struct {
	// After is a Seq: only events after it. 0 is the start of the log.
	After int64
	// Types keeps only events of these types; all when empty.
	Types []string
}

// Events is the event log as its readers and its pruner see it.
type Events interface {
	// ListEvents returns up to limit (at least 1) events of the workspace
	// that match filter, oldest first, and how many match in all after
	// filter.After (without Types, the workspace's last Seq less After: one
	// row read; with Types, a count of the matching rows). ErrEventsExpired
	// if filter.After is below the workspace's PrunedSeq: events after it
	// are gone.
	ListEvents(ctx context.Context, workspaceID string, filter EventFilter, limit int) ([]Event, int, error)
	// EventHead returns the workspace's last Seq (0 before its first event)
	// and PrunedSeq, the Seq through which its events were pruned (0 if none
	// was); NotFound("workspace") for an unknown workspace.
	EventHead(ctx context.Context, workspaceID string) (EventHead, error)
	// PruneEvents deletes, oldest first, at most limit events (of any
	// workspace) created before before, in one short transaction, raising
	// each workspace's PrunedSeq to the last Seq it deleted; it returns how
	// many it deleted (fewer than limit: none older is left).
	PruneEvents(ctx context.Context, before time.Time, limit int) (int, error)
}

// EventHead is where a workspace's log stands.
type EventHead struct {
	LastSeq   int64
	PrunedSeq int64
}

// EventFeed tells its follower that events were committed.
type EventFeed interface {
	// FollowEvents calls notify(workspaceID, seq) after events of the
	// workspace up to seq were committed — by this process, or on PostgreSQL
	// by any process on the database (LISTEN/NOTIFY) — until ctx ends, then
	// returns ctx's error. Notifications may be coalesced, and none is
	// delivered for writes of other processes on SQLite; notify("", 0)
	// means notifications may have been missed (a reconnect), so every
	// followed workspace must be read again. notify must not block.
	// Several calls may follow at once; each returns nil once the Store is
	// closed.
	FollowEvents(ctx context.Context, notify func(workspaceID string, seq int64)) error
}

// Origin is what caused the writes made with a context: the request (its
// X-Request-Id) and the API key. The event log records it in every event.
type Origin struct {
	RequestID string
	KeyID     string
}

type originKey struct{}

// WithOrigin returns ctx whose writes the event log attributes to o.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// OriginFrom returns the Origin of ctx; the zero Origin if none was set.
func OriginFrom(ctx context.Context) Origin {
	o, _ := ctx.Value(originKey{}).(Origin)
	return o
}

// EventReceipt holds the Seq of the last event that the writes made with a
// context appended and committed, so that a write's answer can carry it
// (X-Event-Seq): a client waits for its own write by that number.
type EventReceipt struct {
	seq atomic.Int64
}

type receiptKey struct{}

// WithEventReceipt returns ctx and the receipt its writes fill.
func WithEventReceipt(ctx context.Context) (context.Context, *EventReceipt) {
	r := &EventReceipt{}
	return context.WithValue(ctx, receiptKey{}, r), r
}

// Seq returns the last Seq recorded, 0 if none (no write, or a write that
// changed nothing).
func (r *EventReceipt) Seq() int64 { return r.seq.Load() }

// RecordEventSeq is for backends: called after a write committed, with the
// Seq of the last event it appended, when ctx carries a receipt.
func RecordEventSeq(ctx context.Context, seq int64) {
	if r, ok := ctx.Value(receiptKey{}).(*EventReceipt); ok {
		for {
			cur := r.seq.Load()
			if seq <= cur || r.seq.CompareAndSwap(cur, seq) {
				return
			}
		}
	}
}
