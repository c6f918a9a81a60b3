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
// group commit, numbered after the workspace's last seq (lastSeqSQL: the
// largest stored, or the pruned position when pruning left none). The single
// writer runs savepoints one after the other, so the numbers follow commit
// order with no gap; a savepoint rolled back (a failing write, a failed
// precondition) takes its rows with it and gives its numbers back, and the
// writes grouped with it keep theirs. A write's one event costs it one
// statement (insertOneEvent), several a read and an insert per 16; never an
// fsync: they commit with the group.

// pending collects the events of one write.
type pending = eventdata.Pending

// lastSeqSQL is workspace ?1's last seq: its largest stored (one seek of
// the primary key), and never below its pruned position (a workspace whose
// events were all pruned goes on after them).
const lastSeqSQL = `SELECT max(coalesce((SELECT max(seq) FROM events WHERE workspace_id = ?1), 0),
	coalesce((SELECT pruned_seq FROM event_heads WHERE workspace_id = ?1), 0))`

// insertOneEvent appends a write's one event (most writes have one) after
// the workspace's last seq, in one statement, and returns its seq: a
// statement less than reading the seq first, which is most of the log's
// cost to a write (each statement costs its trip through database/sql).
const insertOneEvent = `INSERT INTO events (` + eventCols + `) SELECT ?1, (` + lastSeqSQL + `) + 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8
	RETURNING seq`

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
	o := store.OriginFrom(ctx)
	if len(p.Rows) == 1 {
		r := p.Rows[0]
		if err := tx.QueryRowContext(ctx, insertOneEvent, p.WorkspaceID, r.ID, r.Type, r.CreatedAt.UnixMicro(),
			o.RequestID, o.KeyID, r.Data, nullIfNil(r.Previous)).Scan(&p.Last); err != nil {
			return err
		}
		return nil
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, lastSeqSQL, p.WorkspaceID).Scan(&seq); err != nil {
		return err
	}
	for rows := p.Rows; len(rows) > 0; {
		chunk := rows[:min(len(rows), len(insertEvents)-1)]
		rows = rows[len(chunk):]
		args := make([]any, 0, 9*len(chunk))
		for _, r := range chunk {
			seq++
			args = append(args, p.WorkspaceID, seq, r.ID, r.Type, r.CreatedAt.UnixMicro(), o.RequestID, o.KeyID, r.Data, nullIfNil(r.Previous))
		}
		if _, err := tx.ExecContext(ctx, insertEvents[len(chunk)], args...); err != nil {
			return err
		}
	}
	p.Last = seq
	return nil
}

// nullIfNil binds a nil Previous as NULL, not as an empty blob.
func nullIfNil(b []byte) any {
	if b == nil {
		return nil
	}
	return b
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
	err := q.QueryRowContext(ctx, `SELECT (`+lastSeqSQL+`), coalesce((SELECT pruned_seq FROM event_heads WHERE workspace_id = ?1), 0)`,
		workspaceID).Scan(&h.LastSeq, &h.PrunedSeq)
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
	err := s.db.Read(ctx, func(ctx context.Context, tx engine.ReadTx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM workspaces WHERE id = ?`, workspaceID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return store.NotFound("workspace")
		}
		if err != nil {
			return err
		}
		h, err = readHead(ctx, tx, workspaceID)
		return err
	})
	if err != nil {
		return store.EventHead{}, wrap(ctx, "event head", err)
	}
	return h, nil
}

// PruneEvents deletes the events created before before from the start of
// the log in rowid order, which is commit order: a prefix of every
// workspace's seq order, so each one's remaining events all follow its new
// pruned_seq. It stops at the first event not old enough; one a microsecond
// out of time order behind an older one waits for the next round.
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
		rows, err := tx.QueryContext(ctx, `SELECT rowid, workspace_id, seq, created_at FROM events ORDER BY rowid LIMIT ?`, limit)
		if err != nil {
			return err
		}
		pruned := map[string]int64{}
		var through int64
		for rows.Next() {
			var rowid, seq, created int64
			var ws string
			if err := rows.Scan(&rowid, &ws, &seq, &created); err != nil {
				rows.Close()
				return err
			}
			if created >= cut {
				break
			}
			n++
			through = rowid
			pruned[ws] = max(pruned[ws], seq)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM events WHERE rowid <= ?`, through); err != nil {
			return err
		}
		for ws, seq := range pruned {
			if _, err := tx.ExecContext(ctx, `INSERT INTO event_heads (workspace_id, pruned_seq) VALUES (?, ?)
				ON CONFLICT (workspace_id) DO UPDATE SET pruned_seq = max(pruned_seq, excluded.pruned_seq)`, ws, seq); err != nil {
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
