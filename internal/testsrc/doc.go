// Package testsrc is the media side of `strata testsrc`: a test publisher
// that loops a short committed clip (H.264 + Opus, see testdata/README.md)
// in real time, stamping every object with its capture wall-clock time as
// a LOC property so glass-to-glass latency can be measured end to end.
//
// The clip is split into access units (H.264) and packets (Opus in Ogg)
// once at load time; a Source then appends them to media.Tracks, which a
// Publisher serves to an edge over MoQ.
package testsrc
