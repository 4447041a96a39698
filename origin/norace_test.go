//go:build !race

package origin_test

// raceEnabled reports whether the race detector instruments this test
// binary.
const raceEnabled = false
