package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// writeReq is one write waiting for the group committer.
type writeReq struct {
	ctx  context.Context
	fn   func(context.Context, *Tx) error
	done chan error
}

// maxBatch bounds how many writes share one transaction, so that one commit
// never waits on an unbounded amount of work.
const maxBatch = 128

// Write runs fn inside an IMMEDIATE transaction on the writer and returns once
// that transaction is durably committed (synchronous=FULL), or with fn's error,
// in which case nothing fn did is kept. fn must not call the DB: the writer's
// only connection is fn's. fn gets ctx without its cancellation: SQLite
// answers an interrupted statement by rolling back the whole transaction,
// which holds other callers' writes too.
//
// Writes that arrive while another commit is under way are grouped: they share
// one transaction and one fsync, each inside its own savepoint, so one write's
// failure undoes only its own changes. No caller is answered before the commit
// that holds its write has returned.
func (db *DB) Write(ctx context.Context, fn func(context.Context, *Tx) error) error {
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case db.writes <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once handed over, the write's fate is the batch's: waiting for it even if
	// ctx ends means a caller never reports failure for a write that commits.
	return <-req.done
}

// commitLoop is the single writer: it takes the writes that are waiting, runs
// them in one transaction and commits once.
func (db *DB) commitLoop() {
	defer close(db.committed)
	for first := range db.writes {
		batch := []*writeReq{first}
		// Let the goroutines that are ready run first, so that the writes
		// they are about to hand over join this commit. Without it, a
		// server on one core commits HTTP/1.1 requests one at a time: each
		// commit wakes a single waiting handler, the committer runs again
		// before the network poller has delivered the other connections'
		// requests, and every write pays a whole fsync (1.0 write a commit
		// under the load tool's REST create-task, 24 with this yield).
		runtime.Gosched()
	gather:
		for len(batch) < maxBatch {
			select {
			case req, ok := <-db.writes:
				if !ok {
					break gather
				}
				batch = append(batch, req)
			default:
				break gather
			}
		}
		db.commitBatch(batch)
	}
}

func (db *DB) commitBatch(batch []*writeReq) {
	// The transaction outlives any one request's context: a request that is
	// cancelled must not roll back the others' writes.
	sqlTx, err := db.w.BeginTx(context.Background(), nil)
	if err != nil {
		for _, req := range batch {
			req.done <- err
		}
		return
	}
	tx := &Tx{tx: sqlTx, p: db.w}
	var pending []*writeReq
	for _, req := range batch {
		if err := runInSavepoint(tx, req); err != nil {
			req.done <- err
			continue
		}
		pending = append(pending, req)
	}
	if len(pending) > 0 && db.beforeCommit != nil {
		if err = db.beforeCommit(context.Background(), tx); err != nil {
			_ = sqlTx.Rollback()
			for _, req := range pending {
				req.done <- err
			}
			tx.prepareMissed()
			return
		}
	}
	if len(pending) == 0 {
		err = sqlTx.Rollback()
	} else {
		err = sqlTx.Commit()
		if err == nil {
			db.commits.Add(1)
			db.commitWrites.Add(uint64(len(pending)))
		}
	}
	for _, req := range pending {
		req.done <- err
	}
	tx.prepareMissed()
}

// runInSavepoint runs one write so that its failure, or its panic, undoes its
// own changes and nothing else.
func runInSavepoint(tx *Tx, req *writeReq) (err error) {
	if err := req.ctx.Err(); err != nil {
		return err
	}
	if _, err := tx.tx.Exec(`SAVEPOINT write`); err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sqlite: write panicked: %v", p)
		}
		if err != nil {
			// ROLLBACK TO keeps the savepoint open; RELEASE closes it.
			_, _ = tx.tx.Exec(`ROLLBACK TO write`)
		}
		if _, rerr := tx.tx.Exec(`RELEASE write`); rerr != nil && err == nil {
			err = rerr
		}
	}()
	return req.fn(context.WithoutCancel(req.ctx), tx)
}

// pool is the writer's connection pool, whose statements run prepared, cached
// by their SQL text: database/sql keeps one prepared copy per connection, so
// SQLite parses each query once per connection rather than on every call
// (parsing was the largest single cost of a query).
type pool struct {
	*sql.DB
	stmts sync.Map // SQL text → *sql.Stmt
}

// prepared returns the cached statement for query, preparing it on first use;
// nil if it does not prepare, so that the caller reports the error of a plain
// query instead.
func (p *pool) prepared(ctx context.Context, query string) *sql.Stmt {
	if st, ok := p.stmts.Load(query); ok {
		return st.(*sql.Stmt)
	}
	st, err := p.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if prev, loaded := p.stmts.LoadOrStore(query, st); loaded {
		_ = st.Close()
		return prev.(*sql.Stmt)
	}
	return st
}

// Close closes the cached statements, then the pool.
func (p *pool) Close() error {
	var errs []error
	p.stmts.Range(func(k, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		p.stmts.Delete(k)
		return true
	})
	return errors.Join(append(errs, p.DB.Close())...)
}

// Tx is the write transaction a Write callback runs in. It uses the writer's
// prepared statements (Tx.StmtContext reuses the copy already prepared on the
// transaction's connection, or prepares it there). A transaction never
// prepares a pool statement itself: that takes a connection of the pool, and
// a transaction waiting for a second connection of a pool whose connections
// are all held by transactions (the writer has only one) would wait forever.
// It notes the queries it missed instead, for prepareMissed once it has ended.
type Tx struct {
	tx     *sql.Tx
	p      *pool
	missed []string
}

func (t *Tx) cached(query string) *sql.Stmt {
	if st, ok := t.p.stmts.Load(query); ok {
		return st.(*sql.Stmt)
	}
	t.missed = append(t.missed, query)
	return nil
}

// prepareMissed caches the statements the transaction lacked; call it after
// the transaction has released its connection.
func (t *Tx) prepareMissed() {
	for _, q := range t.missed {
		t.p.prepared(context.Background(), q)
	}
	t.missed = nil
}

// ExecContext runs a statement that returns no rows.
func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.cached(query); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a query for several rows; Close them before the next
// statement.
func (t *Tx) QueryContext(ctx context.Context, query string, args ...any) (Rows, error) {
	if st := t.cached(query); st != nil {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query for one row; Scan the result.
func (t *Tx) QueryRowContext(ctx context.Context, query string, args ...any) Scanner {
	if st := t.cached(query); st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}
