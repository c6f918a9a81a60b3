package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/example/workspace/store"
	"github.com/example/workspace/store/internal/eventdata"
)

// The event log. A write appends its events with one statement, the last
// of its transaction (appendEventsSQL): it raises its workspace's last_seq
// in event_heads by the number of events, inserts them under the numbers it
// took and queues a NOTIFY, all delivered at commit. The head row's lock is
// held from that statement to the commit, so a second writer of the
// workspace, on any replica, takes its numbers only after the first has
// committed: numbers follow commit order, with no gap (a transaction that
// rolls back gives its update back). Taken last, the lock is held only for
// the commit, and it never waits in a cycle with the rows a write locks
// before it.

// eventChannel is the LISTEN/NOTIFY channel; a payload is "workspace_id:seq".
const eventChannel = "workspace_events"

// pending collects the events of one write.
type pending = eventdata.Pending

const eventCols = "workspace_id, seq, id, type, created_at, request_id, key_id, data, previous"

// appendEventsSQL appends the events of a write: $1 workspace, $2 how many,
// $3 and $4 the origin, $5… one array per column, in order.
const appendEventsSQL = `WITH h AS (
		INSERT INTO event_heads AS h (workspace_id, last_seq, pruned_seq) VALUES ($1::text, $2::bigint, 0)
		ON CONFLICT (workspace_id) DO UPDATE SET last_seq = h.last_seq + excluded.last_seq
		RETURNING last_seq
	), e AS (
		INSERT INTO events (` + eventCols + `)
		SELECT $1::text, h.last_seq - $2::bigint + u.ord, u.id, u.type, u.created_at, $3::text, $4::text, u.data, u.previous
		FROM h, unnest($5::text[], $6::text[], $7::timestamptz[], $8::bytea[], $9::bytea[])
			WITH ORDINALITY AS u(id, type, created_at, data, previous, ord)
	)
	SELECT last_seq, pg_notify('` + eventChannel + `', $1::text || ':' || last_seq)::text FROM h`

// appendArgs are appendEventsSQL's arguments for p, with ctx's origin.
func appendArgs(ctx context.Context, p *pending) []any {
	n := len(p.Rows)
	ids, types := make([]string, n), make([]string, n)
	times := make([]time.Time, n)
	data, prev := make([][]byte, n), make([][]byte, n)
	for i, r := range p.Rows {
		ids[i], types[i], times[i], data[i], prev[i] = r.ID, r.Type, r.CreatedAt, r.Data, r.Previous
	}
	o := store.OriginFrom(ctx)
	return []any{p.WorkspaceID, n, o.RequestID, o.KeyID, ids, types, times, data, prev}
}

// appendEvents appends p's events in tx, if it has any.
func appendEvents(ctx context.Context, tx querier, p *pending) error {
	if len(p.Rows) == 0 {
		return nil
	}
	var notified string
	if err := tx.QueryRow(ctx, appendEventsSQL, appendArgs(ctx, p)...).Scan(&p.Last, &notified); err != nil {
		return dbError(ctx, "append events", err)
	}
	return nil
}

// inWrite is inTx for a write that appends events: fn changes the records
// and adds their events to p; they are appended last, in the same
// transaction, and the receipt of ctx learns their seq once committed.
func (s *Store) inWrite(ctx context.Context, fn func(pgx.Tx, *pending) error) error {
	var p pending
	err := s.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		p = pending{}
		if err := fn(tx, &p); err != nil {
			return err
		}
		return appendEvents(ctx, tx, &p)
	})
	if err == nil && p.Last > 0 {
		store.RecordEventSeq(ctx, p.Last)
	}
	return err
}

// batchWithEvents sends b with p's events appended last, in one round trip
// and one implicit transaction; b's statements return no rows.
func (s *Store) batchWithEvents(ctx context.Context, b *pgx.Batch, p *pending) error {
	n := b.Len()
	if len(p.Rows) > 0 {
		b.Queue(appendEventsSQL, appendArgs(ctx, p)...)
	}
	br := s.pool.SendBatch(ctx, b)
	for range n {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return err
		}
	}
	if len(p.Rows) > 0 {
		var notified string
		if err := br.QueryRow().Scan(&p.Last, &notified); err != nil {
			_ = br.Close()
			return err
		}
	}
	if err := br.Close(); err != nil {
		return err
	}
	if p.Last > 0 {
		store.RecordEventSeq(ctx, p.Last)
	}
	return nil
}

func scanEvent(row pgx.CollectableRow) (store.Event, error) {
	var e store.Event
	var data, prev []byte
	if err := row.Scan(&e.WorkspaceID, &e.Seq, &e.ID, &e.Type, &e.CreatedAt, &e.RequestID, &e.KeyID, &data, &prev); err != nil {
		return store.Event{}, err
	}
	e.CreatedAt = e.CreatedAt.UTC()
	var err error
	if e.Data, e.Previous, err = eventdata.Decode(data, prev); err != nil {
		return store.Event{}, fmt.Errorf("event %s: %w", e.ID, err)
	}
	return e, nil
}

func (s *Store) ListEvents(ctx context.Context, workspaceID string, filter store.EventFilter, limit int) ([]store.Event, int, error) {
	if limit < 1 {
		return nil, 0, fmt.Errorf("events: limit %d is below 1", limit)
	}
	if filter.After < 0 {
		return nil, 0, fmt.Errorf("events: after %d is negative", filter.After)
	}
	var (
		out   []store.Event
		total int
	)
	err := s.inSnapshot(ctx, func(tx pgx.Tx) error {
		var h store.EventHead
		err := tx.QueryRow(ctx, "SELECT last_seq, pruned_seq FROM event_heads WHERE workspace_id = $1", workspaceID).
			Scan(&h.LastSeq, &h.PrunedSeq)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return dbError(ctx, "list events: head", err)
		}
		if filter.After < h.PrunedSeq {
			return store.ErrEventsExpired
		}
		where := "workspace_id = $1 AND seq > $2"
		args := []any{workspaceID, filter.After}
		if len(filter.Types) > 0 {
			where += " AND type = ANY($3)"
			args = append(args, filter.Types)
		}
		rows, err := tx.Query(ctx, "SELECT "+eventCols+" FROM events WHERE "+where+
			" ORDER BY seq LIMIT "+strconv.Itoa(limit), args...)
		if err != nil {
			return dbError(ctx, "list events", err)
		}
		if out, err = pgx.CollectRows(rows, scanEvent); err != nil {
			return dbError(ctx, "list events", err)
		}
		switch {
		case len(filter.Types) > 0:
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM events WHERE "+where, args...).Scan(&total); err != nil {
				return dbError(ctx, "list events: total", err)
			}
		case h.LastSeq > filter.After:
			total = int(h.LastSeq - filter.After)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

func (s *Store) EventHead(ctx context.Context, workspaceID string) (store.EventHead, error) {
	var h store.EventHead
	err := s.pool.QueryRow(ctx, `SELECT coalesce(h.last_seq, 0), coalesce(h.pruned_seq, 0)
		FROM workspaces w LEFT JOIN event_heads h ON h.workspace_id = w.id WHERE w.id = $1`, workspaceID).
		Scan(&h.LastSeq, &h.PrunedSeq)
	if err != nil {
		return store.EventHead{}, rowError(ctx, "event head", "workspace", err)
	}
	return h, nil
}

// PruneEvents deletes the oldest events by created_at (an index) and raises
// each workspace's pruned_seq to the last seq it lost, in one statement.
// Two events of one workspace may be a microsecond out of order in time;
// one left behind with a seq below pruned_seq is never listed (a list
// starts at pruned_seq or later) and goes with the next round.
func (s *Store) PruneEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, fmt.Errorf("prune events: limit %d is below 1", limit)
	}
	var n int
	err := s.pool.QueryRow(ctx, `WITH del AS (
			DELETE FROM events WHERE (workspace_id, seq) IN
				(SELECT workspace_id, seq FROM events WHERE created_at < $1 ORDER BY created_at LIMIT $2)
			RETURNING workspace_id, seq
		), heads AS (
			UPDATE event_heads h SET pruned_seq = greatest(h.pruned_seq, d.seq)
			FROM (SELECT workspace_id, max(seq) AS seq FROM del GROUP BY workspace_id) d
			WHERE h.workspace_id = d.workspace_id
		)
		SELECT count(*) FROM del`, ts(before), limit).Scan(&n)
	if err != nil {
		return 0, dbError(ctx, "prune events", err)
	}
	return n, nil
}

// parsePayload reads a NOTIFY payload, "workspace_id:seq".
func parsePayload(s string) (string, int64, bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 1 {
		return "", 0, false
	}
	seq, err := strconv.ParseInt(s[i+1:], 10, 64)
	return s[:i], seq, err == nil
}

// Follow's reconnection backoff: doubled after each failure, from the first
// to the last.
const (
	followBackoffMin = 50 * time.Millisecond
	followBackoffMax = 5 * time.Second
)

// FollowEvents listens on a connection of its own (LISTEN holds a session,
// which a pooled connection cannot), so it hears the writes of every
// replica. After each (re)connection it calls notify("", 0): what was
// committed while it was not listening was not heard. It returns nil once
// the store is closed.
func (s *Store) FollowEvents(ctx context.Context, notify func(workspaceID string, seq int64)) error {
	s.mu.Lock()
	if s.isClosed {
		s.mu.Unlock()
		return nil
	}
	s.followers.Add(1)
	s.mu.Unlock()
	defer s.followers.Done()
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-s.closed:
			stop()
		case <-ctx.Done():
		}
	}()
	backoff := followBackoffMin
	for {
		listened, _ := s.listen(ctx, notify)
		select {
		case <-s.closed:
			return nil
		default:
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if listened {
			backoff = followBackoffMin
		}
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
			continue // the checks above say why
		case <-timer.C:
		}
		backoff = min(2*backoff, followBackoffMax)
	}
}

// listen connects, LISTENs and passes notifications on until the
// connection or ctx fails; listened says whether it got as far as
// listening.
func (s *Store) listen(ctx context.Context, notify func(string, int64)) (listened bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, s.connConfig.Copy())
	if err != nil {
		return false, err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "LISTEN "+eventChannel); err != nil {
		return false, err
	}
	notify("", 0)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		if ws, seq, ok := parsePayload(n.Payload); ok {
			notify(ws, seq)
		}
	}
}

// sortTasks orders the tasks a cascade deleted as their events are
// appended: oldest first, by created_at then id.
func sortTasks(tasks []store.Task) {
	sort.Slice(tasks, func(i, j int) bool {
		a, b := tasks[i], tasks[j]
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
}
