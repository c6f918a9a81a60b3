package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/internal/eventdata"
	"github.com/example/workspace/store/sqlite/engine"
)

// The event log. A write appends its events inside its own savepoint of the
// group commit: it raises the workspace's last_seq in event_heads by the
// number of its events and inserts them under the numbers it took. The
// single writer runs savepoints one after the other, so the numbers follow
// commit order with no gap; a savepoint rolled back (a failing write, a
// failed precondition) takes its head update with it and gives its numbers
// back, and the writes grouped with it keep theirs. The events add a
// statement or two to a write, never an fsync: they commit with the group.

// pending collects the events of one write.
type pending = eventdata.Pending

// upsertHead takes ?2 seq numbers for workspace ?1 and returns the last.
const upsertHead = `INSERT INTO event_heads (workspace_id, last_seq, pruned_seq) VALUES (?, ?, 0)
	ON CONFLICT (workspace_id) DO UPDATE SET last_seq = last_seq + excluded.last_seq RETURNING last_seq`

const eventCols = `workspace_id, seq, id, type, created_at, request_id, key_id, data, previous`

// insertEvents holds the statement that inserts n events, by n (a batch's
// events go in chunks of the largest), each cached by its text.
var insertEvents = func() [17]string {
	var qs [17]string
	for n := 1; n < len(qs); n++ {
		qs[n] = `INSERT INTO events (` + eventCols + `) VALUES ` +
			strings.TrimSuffix(strings.Repeat(`(?, ?, ?, ?, ?, ?, ?, ?, ?), `, n), `, `)
	}
	return qs
}()

// flush appends the write's events, in the order added, with the origin of
// ctx.
func flush(ctx context.Context, tx *engine.Tx, p *pending) error {
	if len(p.Rows) == 0 {
		return nil
	}
	var last int64
	if err := tx.QueryRowContext(ctx, upsertHead, p.WorkspaceID, len(p.Rows)).Scan(&last); err != nil {
		return err
	}
	o := store.OriginFrom(ctx)
	seq := last - int64(len(p.Rows))
	for rows := p.Rows; len(rows) > 0; {
		chunk := rows[:min(len(rows), len(insertEvents)-1)]
		rows = rows[len(chunk):]
		args := make([]any, 0, 9*len(chunk))
		for _, r := range chunk {
			seq++
			var prev any
			if r.Previous != nil {
				prev = r.Previous
			}
			args = append(args, p.WorkspaceID, seq, r.ID, r.Type, r.CreatedAt.UnixMicro(), o.RequestID, o.KeyID, r.Data, prev)
		}
		if _, err := tx.ExecContext(ctx, insertEvents[len(chunk)], args...); err != nil {
			return err
		}
	}
	p.Last = last
	return nil
}

// write runs fn as one write of the group committer, appends the events it
// added in the same savepoint and, once the write is durable, tells the
// followers and ctx's receipt.
func (s *Store) write(ctx context.Context, fn func(context.Context, *engine.Tx, *pending) error) error {
	var p pending
	err := s.db.Write(ctx, func(ctx context.Context, tx *engine.Tx) error {
		p = pending{}
		if err := fn(ctx, tx, &p); err != nil {
			return err
		}
		return flush(ctx, tx, &p)
	})
	if err == nil && p.Last > 0 {
		s.feed.publish(p.WorkspaceID, p.Last)
		store.RecordEventSeq(ctx, p.Last)
	}
	return err
}

func scanEvent(sc engine.Scanner) (store.Event, error) {
	var e store.Event
	var created int64
	var data, prev []byte
	if err := sc.Scan(&e.WorkspaceID, &e.Seq, &e.ID, &e.Type, &created, &e.RequestID, &e.KeyID, &data, &prev); err != nil {
		return store.Event{}, err
	}
	e.CreatedAt = fromMicros(created)
	var err error
	if e.Data, e.Previous, err = eventdata.Decode(data, prev); err != nil {
		return store.Event{}, fmt.Errorf("event %s: %w", e.ID, err)
	}
	return e, nil
}

// checkEventArgs refuses what no caller may ask: a caller's mistake, not a
// domain error.
func checkEventArgs(filter store.EventFilter, limit int) error {
	if limit < 1 {
		return fmt.Errorf("events: limit %d is below 1", limit)
	}
	if filter.After < 0 {
		return fmt.Errorf("events: after %d is negative", filter.After)
	}
	return nil
}

func readHead(ctx context.Context, q engine.Querier, workspaceID string) (store.EventHead, error) {
	var h store.EventHead
	err := q.QueryRowContext(ctx, `SELECT last_seq, pruned_seq FROM event_heads WHERE workspace_id = ?`, workspaceID).
		Scan(&h.LastSeq, &h.PrunedSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return store.EventHead{}, nil
	}
	return h, err
}

func (s *Store) ListEvents(ctx context.Context, workspaceID string, filter store.EventFilter, limit int) ([]store.Event, int, error) {
	if err := checkEventArgs(filter, limit); err != nil {
		return nil, 0, err
	}
	var out []store.Event
	var total int
	err := s.db.Read(ctx, func(ctx context.Context, tx engine.ReadTx) error {
		h, err := readHead(ctx, tx, workspaceID)
		if err != nil {
			return err
		}
		if filter.After < h.PrunedSeq {
			return store.ErrEventsExpired
		}
		where := `workspace_id = ? AND seq > ?`
		args := []any{workspaceID, filter.After}
		if len(filter.Types) > 0 {
			where += ` AND type IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(filter.Types)), ", ") + `)`
			for _, t := range filter.Types {
				args = append(args, t)
			}
		}
		out, err = list(ctx, tx, scanEvent, `SELECT `+eventCols+` FROM events WHERE `+where+` ORDER BY seq LIMIT ?`,
			append(args, limit)...)
		if err != nil {
			return err
		}
		switch {
		case len(filter.Types) > 0:
			total, err = count(ctx, tx, `SELECT count(*) FROM events WHERE `+where, args...)
		case h.LastSeq > filter.After:
			total = int(h.LastSeq - filter.After)
		}
		return err
	})
	if errors.Is(err, store.ErrEventsExpired) {
		return nil, 0, err
	}
	if err != nil {
		return nil, 0, wrap(ctx, "list events", err)
	}
	return out, total, nil
}

func (s *Store) EventHead(ctx context.Context, workspaceID string) (store.EventHead, error) {
	var h store.EventHead
	err := s.db.QueryRowContext(ctx, `SELECT coalesce(h.last_seq, 0), coalesce(h.pruned_seq, 0)
		FROM workspaces w LEFT JOIN event_heads h ON h.workspace_id = w.id WHERE w.id = ?`, workspaceID).
		Scan(&h.LastSeq, &h.PrunedSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return store.EventHead{}, store.NotFound("workspace")
	}
	return h, wrap(ctx, "event head", err)
}

// PruneEvents deletes the oldest events by created_at (an index), then
// raises each workspace's pruned_seq to the last seq it lost. Two events of
// one workspace may be a microsecond out of order in time; one left behind
// with a seq below pruned_seq is never listed (a list starts at pruned_seq
// or later) and goes with the next round.
func (s *Store) PruneEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, fmt.Errorf("prune events: limit %d is below 1", limit)
	}
	var e encoder
	cut := e.micros(before)
	if e.err != nil {
		return 0, e.err
	}
	var n int
	err := s.db.Write(ctx, func(ctx context.Context, tx *engine.Tx) error {
		n = 0
		rows, err := tx.QueryContext(ctx, `DELETE FROM events WHERE rowid IN
			(SELECT rowid FROM events WHERE created_at < ? ORDER BY created_at LIMIT ?) RETURNING workspace_id, seq`, cut, limit)
		if err != nil {
			return err
		}
		pruned := map[string]int64{}
		for rows.Next() {
			var ws string
			var seq int64
			if err := rows.Scan(&ws, &seq); err != nil {
				rows.Close()
				return err
			}
			n++
			pruned[ws] = max(pruned[ws], seq)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for ws, seq := range pruned {
			if _, err := tx.ExecContext(ctx, `UPDATE event_heads SET pruned_seq = max(pruned_seq, ?) WHERE workspace_id = ?`, seq, ws); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, wrap(ctx, "prune events", err)
	}
	return n, nil
}

// FollowEvents hears this process's writes only: the Store tells its
// followers after each commit. It returns nil once the store is closed.
func (s *Store) FollowEvents(ctx context.Context, notify func(workspaceID string, seq int64)) error {
	return s.feed.follow(ctx, notify)
}

// feed is the in-process EventFeed: the followers, told of every committed
// write that appended events.
type feed struct {
	mu        sync.RWMutex
	next      int
	followers map[int]func(string, int64)
	closed    chan struct{}
	closeOnce sync.Once
}

func newFeed() *feed {
	return &feed{followers: map[int]func(string, int64){}, closed: make(chan struct{})}
}

func (f *feed) follow(ctx context.Context, notify func(string, int64)) error {
	f.mu.Lock()
	id := f.next
	f.next++
	f.followers[id] = notify
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.followers, id)
		f.mu.Unlock()
	}()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-f.closed:
		return nil
	}
}

// publish calls every follower; notify does not block, by its contract.
func (f *feed) publish(workspaceID string, seq int64) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, notify := range f.followers {
		notify(workspaceID, seq)
	}
}

func (f *feed) close() { f.closeOnce.Do(func() { close(f.closed) }) }
