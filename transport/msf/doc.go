// Package msf implements the two formats Strata media rides on besides the
// MoQ wire protocol itself: the MSF (MOQT Streaming Format) catalog, a JSON
// document on the "catalog" track that tells players which tracks a
// session has and how to decode them, and LOC (Low Overhead Media
// Container), which defines the per-object properties (timestamp, configs,
// frame marking, audio level) and how encoded frames become object
// payloads.
//
// It is independent of the MoQ wire package on purpose: properties are
// produced and consumed as the serialized key-value bytes a MoQ object
// carries, so the same helpers serve every negotiated transport version.
package msf
