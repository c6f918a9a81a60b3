package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

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

// txn is a transaction of a pool that uses the pool's prepared statements
// (Tx.StmtContext reuses the copy already prepared on the transaction's
// connection, or prepares it there). A transaction never prepares a pool
// statement itself: that takes a connection of the pool, and a transaction
// waiting for a second connection of a pool whose connections are all held by
// transactions (the writer has only one) would wait forever. It notes the
// queries it missed instead, for prepareMissed once it has ended.
type txn struct {
	tx     *sql.Tx
	p      *pool
	missed []string
}

func (t *txn) cached(query string) *sql.Stmt {
	if st, ok := t.p.stmts.Load(query); ok {
		return st.(*sql.Stmt)
	}
	t.missed = append(t.missed, query)
	return nil
}

// prepareMissed caches the statements the transaction lacked; call it after
// the transaction has released its connection.
func (t *txn) prepareMissed() {
	for _, q := range t.missed {
		t.p.prepared(context.Background(), q)
	}
	t.missed = nil
}

func (t *txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.cached(query); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t *txn) QueryRowContext(ctx context.Context, query string, args ...any) scanner {
	if st := t.cached(query); st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}
