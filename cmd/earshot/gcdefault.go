package main

import (
	"os"
	"runtime/debug"
)

// defaultGOGC is the collector's target when neither GOGC nor GOMEMLIMIT
// is set: the heap may grow by half of what is live before a collection,
// instead of Go's default of all of it. Measured with `earshot bench`
// (README, Benchmarks, Memory), it cut earshot's peak RSS by about a
// third and NATS's (embedded in `earshot run`) by more, for a few percent
// more CPU in the collector. GOGC=100 restores Go's default; GOMEMLIMIT
// alone (a soft limit sized to the machine) leaves GOGC at Go's default.
const defaultGOGC = 50

// applyGCDefault sets defaultGOGC unless the environment configures the
// collector.
func applyGCDefault() {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(defaultGOGC)
	}
}
