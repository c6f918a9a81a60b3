package main

import (
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })

	unset := func(string) (string, bool) { return "", false }
	if got := tuneGC(unset); got != defaultGCPercent {
		t.Fatalf("GOGC unset: tuneGC = %d, want %d", got, defaultGCPercent)
	}
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Fatalf("GOGC unset: the runtime's percent is %d, want %d", got, defaultGCPercent)
	}

	// The runtime read GOGC at start; tuneGC must leave that choice alone.
	set := func(k string) (string, bool) { return "50", k == "GOGC" }
	debug.SetGCPercent(50)
	if got := tuneGC(set); got != 50 {
		t.Fatalf("GOGC=50: tuneGC = %d, want 50 kept", got)
	}
	if got := debug.SetGCPercent(100); got != 50 {
		t.Fatalf("GOGC=50: the runtime's percent is %d, want 50 kept", got)
	}
}
