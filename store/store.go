// Package store defines the storage contract of the Workspace API: the domain
// records, the Store's role interfaces, and the domain errors.
package store

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// ErrNotFound is matched (errors.Is) by every NotFoundError.
var ErrNotFound = errors.New("not found")

// ErrConflict reports a write that conflicts with what is stored, such as a
// duplicate id or key hash.
var ErrConflict = errors.New("conflict")

// ErrUnavailable reports that the backing database cannot be reached; backends
// wrap connection failures in it so that callers answer 503, not 500.
var ErrUnavailable = errors.New("store unavailable")

// NotFoundError says which kind of record is missing from the workspace: "project",
// "task", "api_key" or "workspace". It never says which id was asked for, so a
// foreign id and a random one produce the same error.
type NotFoundError struct {
	Resource string
}

func (e *NotFoundError) Error() string { return e.Resource + " not found" }

// Is makes errors.Is(err, ErrNotFound) true for every NotFoundError.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// NotFound returns a NotFoundError for resource.
func NotFound(resource string) error { return &NotFoundError{Resource: resource} }

// BatchItemError says which item of a batch write failed: Index is its
// position in the slice given, Err what the write of that one item alone
// would have returned (NotFound("project"), an ErrConflict). errors.Is and
// errors.As see through it to Err, so a caller that does not care which item
// it was handles it as the single write's error.
type BatchItemError struct {
	Index int
	Err   error
}

func (e *BatchItemError) Error() string {
	return "item " + strconv.Itoa(e.Index) + ": " + e.Err.Error()
}

// Unwrap returns the item's own error.
func (e *BatchItemError) Unwrap() error { return e.Err }

// Workspace is a tenant: every other record belongs to exactly one.
type Workspace struct {
	ID        string
	Name      string
	Plan      string
	CreatedAt time.Time
}

// Project groups tasks.
type Project struct {
	ID          string
	WorkspaceID string
	Name        string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Version is the store's count of the record's states: CreateProject
	// stores 1 whatever it is given, and every UpdateProject stores one more
	// than it read, in the same transaction, whatever the callback sets. It
	// is what the API's ETag says (updated_at's whole seconds cannot tell
	// two edits apart).
	Version int64
}

// Task belongs to a project of the same workspace.
type Task struct {
	ID          string
	WorkspaceID string
	ProjectID   string
	Title       string
	Description string
	Status      string
	DueAt       *time.Time
	CompletedAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Version is Project.Version for tasks: 1 on CreateTask, one more with
	// every UpdateTask.
	Version int64
}

// APIKey is a stored key. Only the SHA-256 hash of the secret is kept.
type APIKey struct {
	ID          string
	WorkspaceID string
	Name        string
	Scopes      []string
	Prefix      string
	Hash        []byte
	CreatedAt   time.Time
	LastUsedAt  *time.Time
	ExpiresAt   *time.Time
	RevokedAt   *time.Time
}

// IdempotencyKey is what a workspace's Idempotency-Key stands for: the
// fingerprint of the request that first used it and, once that request has
// succeeded, its response, replayed to every retry.
type IdempotencyKey struct {
	WorkspaceID string
	Key         string
	// Fingerprint identifies the request: a SHA-256 of its method and body.
	Fingerprint []byte
	CreatedAt   time.Time
	// Response is the serialised response and CompletedAt when it was
	// stored; CompletedAt is nil while the request runs.
	Response    []byte
	CompletedAt *time.Time
}

// Page selects a slice of a list in Order (newest first, created_at then id
// descending, when Order is zero). Limit is at least 1; Offset at least 0.
// After, when set, is a keyset position: the page holds the rows that follow
// it in Order (Offset must then be 0), so that a page costs the same at any
// depth. A backend refuses an Order its list does not support with an error
// (a caller's mistake, not a domain error).
type Page struct {
	Limit  int
	Offset int
	Order  Order
	After  *Position
}

// Sort keys of Order.By. Tasks take all three; projects created_at and
// updated_at; API keys only the default.
const (
	SortCreatedAt = "created_at"
	SortUpdatedAt = "updated_at"
	SortDueAt     = "due_at"
)

// Order is a list's order: by one time column, ties broken by id in the same
// direction. Its zero value is the default, created_at descending. Rows
// without the key (tasks without a due date) come last in both directions,
// among themselves by id in the direction asked.
type Order struct {
	By        string // one of the Sort* constants; "" is SortCreatedAt
	Ascending bool
}

// Field returns the sort key, SortCreatedAt for the zero Order.
func (o Order) Field() string {
	if o.By == "" {
		return SortCreatedAt
	}
	return o.By
}

// Position is a row's place in an Order: its sort key (nil when the row has
// none: a task without a due date) and its id.
type Position struct {
	Key *time.Time
	ID  string
}

// TaskFilter narrows ListTasks; empty fields do not filter, and every field
// set must hold. Status is one status; Statuses any of several (both may be
// set, and then both must hold). DueBefore and DueAfter bound due_at
// (exclusive; a task without a due date matches neither), UpdatedAfter
// updated_at (exclusive). Query is a case-insensitive substring of the title
// or of the description, at least three characters (a trigram: what both
// backends' indexes can answer); a shorter one is an error.
type TaskFilter struct {
	ProjectID    string
	Status       string
	Statuses     []string
	DueBefore    *time.Time
	DueAfter     *time.Time
	UpdatedAfter *time.Time
	Query        string
}

// ProjectFilter narrows ListProjects: Query is TaskFilter.Query for the
// project's name or description.
type ProjectFilter struct {
	Query string
}

// MinQueryLength is the shortest Query the stores accept, in characters.
const MinQueryLength = 3

// Store is the persistence contract: every role below, as one backend
// implements them. Every method that takes a workspaceID only ever sees records
// of that workspace: a record of another workspace is reported exactly as a
// missing one. Times are stored as given and returned in UTC with at least
// microsecond precision. Implementations are safe for concurrent use.
//
// Consumers take the narrowest role they need (the authenticator a KeyLookup,
// the idempotency interceptor IdempotencyKeys, readiness a Pinger), so that
// what each one can touch is visible in its signature. The whole Store is for
// what owns or wraps one: the composition root, the CLI, decorators (metrics)
// and the conformance suite.
type Store interface {
	Workspaces
	Projects
	Tasks
	APIKeys
	KeyLookup
	IdempotencyKeys
	Events
	EventFeed
	WebhookEndpoints
	WebhookDispatch
	Pinger
	Closer
}

// Workspaces are the tenants.
type Workspaces interface {
	// Bootstrap creates ws and key in one transaction if the store holds no
	// workspace yet, and reports whether it did.
	Bootstrap(ctx context.Context, ws Workspace, key APIKey) (bool, error)
	// CreateWorkspaceWithKey stores a new workspace and its first key in one
	// transaction, so that no workspace exists that no key can reach:
	// ErrConflict if the workspace's id or the key's id or hash is taken, and
	// then neither is stored.
	CreateWorkspaceWithKey(ctx context.Context, ws Workspace, key APIKey) error
	// CreateWorkspace stores a new workspace; ErrConflict if the id is taken.
	CreateWorkspace(ctx context.Context, ws Workspace) error
	// GetWorkspace returns a workspace or NotFound("workspace").
	GetWorkspace(ctx context.Context, id string) (Workspace, error)
	// SetWorkspacePlan changes a workspace's plan or returns NotFound("workspace").
	SetWorkspacePlan(ctx context.Context, id, plan string) error
}

// Projects are a workspace's projects.
type Projects interface {
	// CreateProject stores a new project at Version 1 (p.Version is
	// ignored); ErrConflict if the id is taken.
	CreateProject(ctx context.Context, p Project) error
	// GetProject returns a project of the workspace or NotFound("project").
	GetProject(ctx context.Context, workspaceID, id string) (Project, error)
	// UpdateProject reads the project, lets update change it and writes it back,
	// all in one transaction. An error from update aborts and is returned as is.
	// ID, WorkspaceID and CreatedAt are kept whatever update does to them.
	// update sees the stored Version, so a precondition on it (If-Match)
	// checked there holds for the write; the record written and returned
	// has Version one more than it read, whatever update sets.
	UpdateProject(ctx context.Context, workspaceID, id string, update func(*Project) error) (Project, error)
	// DeleteProject deletes the project and its tasks in one transaction, or
	// returns NotFound("project").
	DeleteProject(ctx context.Context, workspaceID, id string) error
	// DeleteProjectIf is DeleteProject with a precondition: it reads the
	// project and calls check with it in the transaction that deletes it,
	// so that what check saw is what is deleted. An error from check aborts
	// (nothing is deleted) and is returned as is; NotFound("project") comes
	// before check is called.
	DeleteProjectIf(ctx context.Context, workspaceID, id string, check func(Project) error) error
	// ListProjects returns one page of the workspace's projects matching
	// filter and how many match in all (whatever page.After is). Without a
	// search the total is a counter kept in the same transaction as every
	// create and delete (one row read, whatever the workspace's size), read in
	// the same snapshot as the page; a search counts its matches.
	ListProjects(ctx context.Context, workspaceID string, filter ProjectFilter, page Page) ([]Project, int, error)
}

// Tasks are a workspace's tasks, each in one of its projects.
type Tasks interface {
	// CreateTask stores a new task at Version 1 (t.Version is ignored).
	// NotFound("project") if its project is not in the workspace;
	// ErrConflict if the id is taken.
	CreateTask(ctx context.Context, t Task) error
	// CreateTasks stores tasks in one transaction, all of them or none: the
	// batch create. Each is checked as CreateTask checks one; if one cannot
	// be stored, nothing is, and the error is a *BatchItemError naming the
	// first item that failed, with CreateTask's error for it:
	// NotFound("project"), or ErrConflict if its id is taken (by a stored
	// task or an earlier item). Errors that are no item's (ErrUnavailable)
	// are returned bare. No tasks is no write and no error.
	CreateTasks(ctx context.Context, tasks []Task) error
	// GetTask returns a task of the workspace or NotFound("task").
	GetTask(ctx context.Context, workspaceID, id string) (Task, error)
	// UpdateTask is UpdateProject for tasks, Version included. If update
	// changes ProjectID to a project that is not in the workspace, it
	// returns NotFound("project").
	UpdateTask(ctx context.Context, workspaceID, id string, update func(*Task) error) (Task, error)
	// DeleteTask deletes a task or returns NotFound("task").
	DeleteTask(ctx context.Context, workspaceID, id string) error
	// DeleteTaskIf is DeleteProjectIf for tasks: check sees the task in the
	// transaction that deletes it, and an error from it deletes nothing.
	DeleteTaskIf(ctx context.Context, workspaceID, id string, check func(Task) error) error
	// ListTasks returns one page of the workspace's tasks matching filter and how
	// many match in all (whatever page.After is). NotFound("project") if
	// filter.ProjectID is set and is not a project of the workspace. The total
	// of a filter by project and status (one or several) is read from counters
	// that every write of tasks (create, update that moves or changes status,
	// delete, the project delete's cascade) changes in its own transaction, in
	// the same snapshot as the page; a date range or a search counts its
	// matching rows.
	ListTasks(ctx context.Context, workspaceID string, filter TaskFilter, page Page) ([]Task, int, error)
}

// APIKeys are the keys as their owners and operators manage them: create,
// list, revoke. Authenticating a request with a key is KeyLookup's.
type APIKeys interface {
	// CreateAPIKey stores a new key; ErrConflict if the id or hash is taken, and
	// NotFound("workspace") if its workspace does not exist.
	CreateAPIKey(ctx context.Context, k APIKey) error
	// GetAPIKey returns a key by id, whatever its workspace, or NotFound("api_key").
	// It is for operators (the CLI), never for API callers.
	GetAPIKey(ctx context.Context, id string) (APIKey, error)
	// ListAPIKeys returns one page of the workspace's keys, revoked ones
	// included, and how many there are (a counter, as for ListProjects);
	// only the default Order.
	ListAPIKeys(ctx context.Context, workspaceID string, page Page) ([]APIKey, int, error)
	// RevokeAPIKey sets RevokedAt to at unless the key is already revoked (then
	// the first time is kept), and returns the key; NotFound("api_key") if it is
	// not in the workspace.
	RevokeAPIKey(ctx context.Context, workspaceID, id string, at time.Time) (APIKey, error)
}

// KeyLookup is what authenticating a request needs: the key behind a secret's
// hash, and a note that it was used.
type KeyLookup interface {
	// LookupAPIKey finds a key by the SHA-256 hash of its secret, with its
	// workspace, or returns NotFound("api_key"). It does not filter out revoked
	// or expired keys: the caller decides.
	LookupAPIKey(ctx context.Context, hash []byte) (APIKey, Workspace, error)
	// TouchAPIKey sets LastUsedAt to at if it is unset or earlier.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
}

// IdempotencyKeys are the records behind the Idempotency-Key header.
type IdempotencyKeys interface {
	// ReserveIdempotencyKey claims k.Key in k.WorkspaceID for a request whose
	// fingerprint is k.Fingerprint, atomically: if the workspace holds no live
	// record under that key it stores k as pending (Response nil) and returns
	// (k, true); otherwise it returns the live record and false, leaving it
	// untouched. A record is live unless it was created before expiredBefore,
	// or it is still pending and was created before staleBefore (its request
	// is taken to have died with its process); a record that is not live is
	// replaced. Records of the workspace created before expiredBefore may be
	// deleted on the way.
	ReserveIdempotencyKey(ctx context.Context, k IdempotencyKey, expiredBefore, staleBefore time.Time) (IdempotencyKey, bool, error)
	// CompleteIdempotencyKey stores the response of the pending record of key
	// in the workspace. NotFound("idempotency_key") if no such pending record
	// exists (it was released, completed, or replaced as stale).
	CompleteIdempotencyKey(ctx context.Context, workspaceID, key string, response []byte, at time.Time) error
	// ReleaseIdempotencyKey deletes the pending record of key, so that a retry
	// runs the request afresh; a completed record is kept, and a missing one
	// is not an error.
	ReleaseIdempotencyKey(ctx context.Context, workspaceID, key string) error
}

// Pinger is what readiness needs.
type Pinger interface {
	// Ping reports whether the backing database answers.
	Ping(ctx context.Context) error
}

// Closer ends a store.
type Closer interface {
	// Close releases the store; no method may be called after it.
	Close() error
}
