package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/example/workspace/store"
)

var errNotYet = errors.New("postgres: the event log is not implemented yet")

func (s *Store) ListEvents(ctx context.Context, workspaceID string, filter store.EventFilter, limit int) ([]store.Event, int, error) {
	return nil, 0, errNotYet
}

func (s *Store) EventHead(ctx context.Context, workspaceID string) (store.EventHead, error) {
	return store.EventHead{}, errNotYet
}

func (s *Store) PruneEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	return 0, errNotYet
}

func (s *Store) FollowEvents(ctx context.Context, notify func(workspaceID string, seq int64)) error {
	<-ctx.Done()
	return ctx.Err()
}
