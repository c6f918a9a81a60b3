package main

import (
	"runtime/debug"
)

// defaultGCPercent is the collector's target when GOGC is not set: the heap
// may grow to five times what is live before a collection, instead of Go's
// default of twice. A request leaves ~16 KiB of garbage (the handler
// benchmark) and little stays live, so collections are a quarter as frequent
// for a modest heap: under the load tool, REST get-project took 73 µs of CPU
// a request at GOGC=100 and 52.5 µs at 400, with a peak RSS of ~80 MiB
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
