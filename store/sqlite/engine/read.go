package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"sync"

	sqlite "modernc.org/sqlite"
)

// readers is the pool of read-only connections, used through the driver
// directly rather than database/sql: for a point read, database/sql's
// per-query machinery (a connection request, a statement per connection
// looked up under a lock, a Rows with its own lock and close protocol,
// reflection-driven conversions) cost a third of the time SQLite itself took.
// What database/sql would add beyond that is not needed here: the
// connections are local, a statement never outlives its connection, and a
// read is never interrupted (see uninterrupted).
//
// Connections are handed out first come, first served: a receive from a
// channel that callers queue on is in order, where database/sql gives a freed
// connection to a random waiter, which under load lets some requests wait far
// longer than others.
type readers struct {
	free   chan *readConn
	all    []*readConn
	closed chan struct{} // closed by Close: no connection is handed out after
	once   sync.Once
	err    error // Close's
}

// ErrClosed answers reads after Close.
var ErrClosed = errors.New("sqlite: the store is closed")

type readConn struct {
	conn  driver.Conn
	stmts map[string]driver.Stmt // prepared once per connection, by SQL text
}

func openReaders(dsn string, n int) (*readers, error) {
	r := &readers{free: make(chan *readConn, n), closed: make(chan struct{})}
	for i := 0; i < n; i++ {
		c, err := (&sqlite.Driver{}).Open(dsn)
		if err != nil {
			for _, rc := range r.all {
				_ = rc.conn.Close()
			}
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		rc := &readConn{conn: c, stmts: map[string]driver.Stmt{}}
		r.all = append(r.all, rc)
		r.free <- rc
	}
	return r, nil
}

// acquire waits for a connection, in order of arrival, or for ctx to end.
func (r *readers) acquire(ctx context.Context) (*readConn, error) {
	select {
	case <-r.closed:
		return nil, ErrClosed
	default:
	}
	select {
	case c := <-r.free:
		return c, nil
	case <-r.closed:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (r *readers) release(c *readConn) { r.free <- c }

// QueryRowContext runs a one-row query on a reader of its own, outside any
// transaction (one statement reads one snapshot anyway); Scan the result. It
// is the point read: no BEGIN and COMMIT around it.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) Scanner {
	return db.r.queryRow(ctx, query, args)
}

// Read runs fn in one read transaction on a reader, so that everything fn
// reads comes from a single snapshot: a page and its total always agree.
func (db *DB) Read(ctx context.Context, fn func(context.Context, ReadTx) error) error {
	c, err := db.r.acquire(ctx)
	if err != nil {
		return err
	}
	defer db.r.release(c)
	ctx = uninterrupted(ctx)
	if err := c.exec(ctx, "BEGIN"); err != nil {
		return err
	}
	// Whatever ends the transaction early (fn's error or panic, a failed
	// COMMIT), the connection goes back to the pool outside a transaction.
	committed := false
	defer func() {
		if !committed {
			_ = c.exec(ctx, "ROLLBACK")
		}
	}()
	if err := fn(ctx, ReadTx{c}); err != nil {
		return err
	}
	if err := c.exec(ctx, "COMMIT"); err != nil {
		return err
	}
	committed = true
	return nil
}

func (r *readers) queryRow(ctx context.Context, query string, args []any) Scanner {
	c, err := r.acquire(ctx)
	if err != nil {
		return errRow{err}
	}
	rows, err := c.query(uninterrupted(ctx), query, args)
	if err != nil {
		r.release(c)
		return errRow{err}
	}
	return &releasingRow{rawRow: rawRow{rows: rows}, release: func() { r.release(c) }}
}

// Close refuses new reads, waits for those running to give their
// connections back, and closes the connections. Closing again returns the
// first Close's result.
func (r *readers) Close() error {
	r.once.Do(func() {
		close(r.closed)
		var errs []error
		for range r.all {
			c := <-r.free
			for _, st := range c.stmts {
				errs = append(errs, st.Close())
			}
			errs = append(errs, c.conn.Close())
		}
		r.err = errors.Join(errs...)
	})
	return r.err
}

// uninterrupted is ctx for a read once it has a connection: the driver starts
// a goroutine per query to watch a context that can be cancelled (to
// interrupt SQLite), which costs more than the reads themselves, all of which
// are bounded (a key look-up or one page of at most 100 rows by an index). A
// request cancelled while it waits for a connection still gives up at once.
func uninterrupted(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// errRow is a row that failed before it was read: Scan reports why.
type errRow struct{ err error }

func (e errRow) Scan(...any) error { return e.err }

// query runs query with args on c, preparing it on c's first use of it.
func (c *readConn) query(ctx context.Context, query string, args []any) (driver.Rows, error) {
	st, err := c.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		v, err := driverValue(a)
		if err != nil {
			return nil, fmt.Errorf("argument %d of %q: %w", i+1, query, err)
		}
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return st.(driver.StmtQueryContext).QueryContext(ctx, named)
}

// exec runs a statement without arguments or rows (BEGIN, COMMIT), prepared
// once per connection like the queries.
func (c *readConn) exec(ctx context.Context, query string) error {
	st, err := c.prepared(ctx, query)
	if err != nil {
		return err
	}
	_, err = st.(driver.StmtExecContext).ExecContext(ctx, nil)
	return err
}

func (c *readConn) prepared(ctx context.Context, query string) (driver.Stmt, error) {
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	st, err := c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = st
	return st, nil
}

// driverValue converts the argument types the store passes.
func driverValue(a any) (driver.Value, error) {
	switch v := a.(type) {
	case int:
		return int64(v), nil
	case string, int64, []byte, nil:
		return v, nil
	}
	return driver.DefaultParameterConverter.ConvertValue(a)
}

// ReadTx is a read transaction on one reader: queries in it see one
// snapshot of the database.
type ReadTx struct{ c *readConn }

// QueryRowContext runs a query for one row; Scan the result.
func (t ReadTx) QueryRowContext(ctx context.Context, query string, args ...any) Scanner {
	rows, err := t.c.query(ctx, query, args)
	if err != nil {
		return errRow{err}
	}
	return &rawRow{rows: rows}
}

// QueryContext runs a query for any number of rows; Close them.
func (t ReadTx) QueryContext(ctx context.Context, query string, args ...any) (Rows, error) {
	rows, err := t.c.query(ctx, query, args)
	if err != nil {
		return nil, err
	}
	return &rawRows{rows: rows, vals: make([]driver.Value, len(rows.Columns()))}, nil
}

// rawRow is the first row of a result, as *sql.Row: sql.ErrNoRows if there is
// none.
type rawRow struct {
	rows driver.Rows
}

func (r *rawRow) Scan(dest ...any) error {
	defer r.rows.Close()
	vals := make([]driver.Value, len(r.rows.Columns()))
	if err := r.rows.Next(vals); err != nil {
		if err == io.EOF {
			return sql.ErrNoRows
		}
		return err
	}
	return assign(dest, vals)
}

// releasingRow gives its connection back once scanned.
type releasingRow struct {
	rawRow
	release func()
}

func (r *releasingRow) Scan(dest ...any) error {
	defer r.release()
	return r.rawRow.Scan(dest...)
}

// rawRows iterates a result as *sql.Rows does.
type rawRows struct {
	rows driver.Rows
	vals []driver.Value
	err  error
	done bool
}

func (r *rawRows) Next() bool {
	if r.done {
		return false
	}
	if err := r.rows.Next(r.vals); err != nil {
		r.done = true
		if err != io.EOF {
			r.err = err
		}
		return false
	}
	return true
}

func (r *rawRows) Scan(dest ...any) error { return assign(dest, r.vals) }
func (r *rawRows) Err() error             { return r.err }
func (r *rawRows) Close() error           { r.done = true; return r.rows.Close() }

// assign stores a row's values in dest, for the destination types the store
// scans into, with database/sql's conversions for them.
func assign(dest []any, vals []driver.Value) error {
	if len(dest) != len(vals) {
		return fmt.Errorf("sqlite: %d destinations for %d columns", len(dest), len(vals))
	}
	for i, v := range vals {
		if err := assignOne(dest[i], v); err != nil {
			return fmt.Errorf("sqlite: column %d: %w", i+1, err)
		}
	}
	return nil
}

func assignOne(dest any, v driver.Value) error {
	switch d := dest.(type) {
	case *string:
		switch v := v.(type) {
		case string:
			*d = v
			return nil
		case []byte:
			*d = string(v)
			return nil
		}
	case *int64:
		if n, ok := v.(int64); ok {
			*d = n
			return nil
		}
	case *int:
		if n, ok := v.(int64); ok {
			*d = int(n)
			return nil
		}
	case *bool:
		if n, ok := v.(int64); ok {
			*d = n != 0
			return nil
		}
	case *[]byte:
		switch v := v.(type) {
		case []byte:
			*d = append([]byte(nil), v...) // the driver may reuse its buffer
			return nil
		case string:
			*d = []byte(v)
			return nil
		case nil:
			*d = nil
			return nil
		}
	case sql.Scanner:
		return d.Scan(v)
	}
	return fmt.Errorf("cannot store %T in %T", v, dest)
}
