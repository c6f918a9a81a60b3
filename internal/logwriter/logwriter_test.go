package logwriter_test

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/example/workspace/internal/logwriter"
)

// recorder keeps each underlying write separately and signals every write.
type recorder struct {
	mu     sync.Mutex
	writes []string
	wrote  chan struct{}
	fail   error
}

func newRecorder() *recorder { return &recorder{wrote: make(chan struct{}, 100)} }

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.writes = append(r.writes, string(p))
	r.mu.Unlock()
	r.wrote <- struct{}{}
	return len(p), r.fail
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.writes...)
}

func TestLinesAreBatchedIntoOneWrite(t *testing.T) {
	r := newRecorder()
	w := logwriter.New(r, time.Hour, 1024)
	for _, line := range []string{"a=1\n", "b=2\n", "c=3\n"} {
		if _, err := w.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.all(); len(got) != 0 {
		t.Fatalf("written before the delay or a flush: %q", got)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := r.all(); len(got) != 1 || got[0] != "a=1\nb=2\nc=3\n" {
		t.Fatalf("after Flush: %q, want the three lines in one write", got)
	}
	if err := w.Flush(); err != nil || len(r.all()) != 1 {
		t.Fatalf("a second Flush with nothing buffered wrote again: %q", r.all())
	}
}

func TestBufferedLinesAreWrittenAfterTheDelay(t *testing.T) {
	r := newRecorder()
	w := logwriter.New(r, 20*time.Millisecond, 1024)
	start := time.Now()
	_, _ = w.Write([]byte("late=1\n"))
	select {
	case <-r.wrote:
	case <-time.After(5 * time.Second):
		t.Fatal("a buffered line was never written without a Flush")
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Fatalf("written after %v, before the 20ms delay", waited)
	}
	if got := r.all(); len(got) != 1 || got[0] != "late=1\n" {
		t.Fatalf("got %q", got)
	}
	// The timer re-arms for the next line.
	_, _ = w.Write([]byte("later=2\n"))
	select {
	case <-r.wrote:
	case <-time.After(5 * time.Second):
		t.Fatal("the second line was never written")
	}
}

func TestAFullBufferIsWrittenAtOnceAndLinesStayWhole(t *testing.T) {
	r := newRecorder()
	w := logwriter.New(r, time.Hour, 16)
	_, _ = w.Write([]byte("0123456789\n")) // 11 bytes: buffered
	_, _ = w.Write([]byte("abcdefghij\n")) // would pass 16: the first goes out alone
	if got := r.all(); len(got) != 1 || got[0] != "0123456789\n" {
		t.Fatalf("got %q, want the first line written whole when the second did not fit", got)
	}
	big := strings.Repeat("x", 40) + "\n"
	_, _ = w.Write([]byte(big)) // larger than the buffer: the buffered line, then it
	if got := r.all(); len(got) != 3 || got[1] != "abcdefghij\n" || got[2] != big {
		t.Fatalf("got %q", got)
	}
}

func TestConcurrentWritesKeepEveryLineWhole(t *testing.T) {
	var out bytes.Buffer
	var mu sync.Mutex
	w := logwriter.New(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return out.Write(p)
	}), time.Millisecond, 256)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				_, _ = w.Write([]byte("goroutine line with some padding to fill buffers\n"))
			}
		}()
	}
	wg.Wait()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 8*500 {
		t.Fatalf("%d lines, want %d", len(lines), 8*500)
	}
	for _, l := range lines {
		if l != "goroutine line with some padding to fill buffers" {
			t.Fatalf("a line was torn: %q", l)
		}
	}
}

func TestTheUnderlyingErrorIsReported(t *testing.T) {
	r := newRecorder()
	r.fail = errors.New("disk full")
	w := logwriter.New(r, time.Hour, 1024)
	_, _ = w.Write([]byte("x\n"))
	if err := w.Flush(); err == nil || err.Error() != "disk full" {
		t.Fatalf("Flush = %v, want the underlying error", err)
	}
	if _, err := w.Write([]byte("y\n")); err == nil {
		t.Fatal("Write after a failed write reports no error")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
