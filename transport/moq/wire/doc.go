// Package wire is the Media over QUIC Transport (MOQT) wire codec.
//
// It encodes and decodes control messages, data stream headers, stream
// objects and datagrams exactly as draft-ietf-moq-transport-14 lays them out,
// and nothing more: no I/O policy, no session state. Keeping the codec free
// of state lets the session layer, relays and fuzzers share one source of
// truth for the bytes on the wire.
//
// Later drafts are added as further [Codec] values selected by [Version]:
// message structs are the logical messages, and each codec decides the
// layout for its version, so callers above this package never fork.
//
// Decoders are written for hostile input. They never panic, check every
// length against the bytes actually present before slicing, and grow
// buffers only as data arrives, so memory use is bounded by the input.
// Decoded byte slices alias the buffer they were decoded from.
package wire
