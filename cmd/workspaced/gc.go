package main

import (
	"runtime/debug"
)

// defaultGCPercent is the collector's target when GOGC is not set: the heap
// may grow to five times what is live before a collection, instead of Go's
// default of twice. A request allocates ~10 KiB that is garbage when it ends
// while the live heap stays ~10 MiB (caches, pools, prepared statements), so
// collections were a fifth of the server's CPU under load at GOGC=100; at 400
// they are a quarter as frequent for a peak RSS that stays under 60 MiB
// (docs/benchmarks.md). GOGC, if set, wins, as does GOMEMLIMIT for a
// container's memory limit.
const defaultGCPercent = 400

// tuneGC applies defaultGCPercent unless the environment chose a target
// itself, and returns the percent in force.
func tuneGC(lookupEnv func(string) (string, bool)) int {
	if _, set := lookupEnv("GOGC"); set {
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		return p
	}
	debug.SetGCPercent(defaultGCPercent)
	return defaultGCPercent
}
