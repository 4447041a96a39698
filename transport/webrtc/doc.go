// Package webrtc is Strata's WebRTC edge: WHIP ingest (RFC 9725) and WHEP
// egress over pion/webrtc, bridged to the node's media hub.
//
// Ingest: a WHIP publisher's RTP is depacketized into whole frames (H.264
// access units in Annex B, VP8 frames, Opus packets) and appended to the
// hub broadcast strata/{tenant}/{session}, so MoQ viewers and the recorder
// see exactly what WebRTC viewers see.
//
// Egress: every WHEP viewer is fed from hub tracks, whoever published them
// (WHIP here, or MoQ from another edge). Packetizing is the expensive,
// codec-aware step, so it happens once per track in a shared feed; each
// viewer only stamps its own sequence numbers onto the shared payloads and
// hands them to pion, which encrypts per peer. The feed stores packetized
// frames in a media.Track, so viewers inherit the fan-out buffer's rules:
// they join at the newest keyframe and a slow one skips to the newest group
// instead of holding anyone back.
//
// HTTP is kept at arm's length: Server.Serve takes a Request value and
// returns a Response value, and ServeHTTP is a thin net/http adapter, so a
// fasthttp adapter is a few lines.
//
// All peer connections share one UDP port (ICE UDP mux) and optionally one
// TCP listener (ICE-TCP). Every goroutine is owned by a session or feed
// with its own context; DELETE, ICE failure and Server.Close free them.
//
// Lock order: Server.mu, then feed.mu, then session locks (leaves).
package webrtc
