//go:build race

package gossip

// raceEnabled reports whether the race detector instruments this test
// binary.
const raceEnabled = true
