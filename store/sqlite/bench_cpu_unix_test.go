//go:build unix

package sqlite

import (
	"syscall"
	"testing"
	"time"
)

// processCPU is the user and system CPU the process has used so far: the
// figure the load tool reads of the server, here without the seeding.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
