// Package logwriter batches log lines into fewer writes: the server logs a
// line per request, and a write system call per line cost ~4 µs of a 29 µs
// gRPC read under load.
package logwriter

import (
	"io"
	"sync"
	"time"
)

// Writer buffers what is written to it and passes it on to the underlying
// writer at most Delay later, at once when a buffer's worth has gathered, and
// on Flush. Each Write's bytes reach the underlying writer together, in the
// order written, so whole lines from a log handler stay whole.
type Writer struct {
	w     io.Writer
	delay time.Duration
	limit int

	mu    sync.Mutex
	buf   []byte
	timer *time.Timer // armed while buf holds bytes not yet due
	err   error       // the first error of the underlying writer
}

// Defaults for New.
const (
	DefaultDelay = 50 * time.Millisecond
	DefaultSize  = 64 << 10
)

// New returns a Writer in front of w that holds bytes for at most delay and
// writes as soon as size bytes have gathered (≤ 0: the defaults).
func New(w io.Writer, delay time.Duration, size int) *Writer {
	if delay <= 0 {
		delay = DefaultDelay
	}
	if size <= 0 {
		size = DefaultSize
	}
	return &Writer{w: w, delay: delay, limit: size, buf: make([]byte, 0, size)}
}

// Write buffers p. It reports the underlying writer's first error, if any
// write has failed so far.
func (l *Writer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf)+len(p) > l.limit {
		l.flushLocked()
	}
	if len(p) >= l.limit {
		// A record larger than the buffer goes straight through.
		l.writeLocked(p)
		return len(p), l.err
	}
	l.buf = append(l.buf, p...)
	if l.timer == nil {
		l.timer = time.AfterFunc(l.delay, l.flushDue)
	}
	return len(p), l.err
}

// Flush writes everything buffered now; call it before the process exits.
func (l *Writer) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
	return l.err
}

func (l *Writer) flushDue() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.timer = nil
	l.flushLocked()
}

func (l *Writer) flushLocked() {
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	if len(l.buf) == 0 {
		return
	}
	l.writeLocked(l.buf)
	l.buf = l.buf[:0]
}

func (l *Writer) writeLocked(p []byte) {
	if _, err := l.w.Write(p); err != nil && l.err == nil {
		l.err = err
	}
}
