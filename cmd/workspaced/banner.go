package main

import (
	"errors"
	"io"
	"syscall"
)

// bannerWriter is where the first start's admin key goes. The key is shown
// only once, so it must not wait in the log's batches (up to
// logwriter.DefaultDelay late, lost in a crash): it is written straight to
// stderr, which is then synced when it is a file. The log is flushed first,
// so that what was logged before the banner still comes before it.
type bannerWriter struct {
	flushLog func() error
	stderr   io.Writer
}

func (b bannerWriter) Write(p []byte) (int, error) {
	_ = b.flushLog() // a failing log must not keep the key from stderr
	n, err := b.stderr.Write(p)
	if err != nil {
		return n, err
	}
	if f, ok := b.stderr.(interface{ Sync() error }); ok {
		// Pipes and terminals cannot be synced (EINVAL): what was written to
		// them has already left the process.
		if err := f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, errors.ErrUnsupported) {
			return n, err
		}
	}
	return n, nil
}
