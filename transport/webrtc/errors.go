package webrtc

import "errors"

var (
	// ErrClosed is returned once the server is closed.
	ErrClosed = errors.New("webrtc: server closed")
	// ErrBadSDP is returned for an offer or fragment that does not parse or
	// that we cannot answer.
	ErrBadSDP = errors.New("webrtc: bad sdp")
	// ErrUnauthorized is returned when the Authorizer refuses a token.
	ErrUnauthorized = errors.New("webrtc: unauthorized")
	// ErrTokenExpired is what an Authorizer wraps for a token that was
	// valid but has expired: the 401 then says token_expired, so a
	// client knows to get a new token rather than give up.
	ErrTokenExpired = errors.New("webrtc: token expired")
	// ErrFull is returned when a configured peer limit is reached.
	ErrFull = errors.New("webrtc: peer limit reached")
	// ErrNotLive is returned to a viewer of a session that has no media.
	ErrNotLive = errors.New("webrtc: session not live")
	// ErrPublisherLive is returned to a WHIP publisher of a session whose
	// live publisher holds a token at least as new as its own.
	ErrPublisherLive = errors.New("webrtc: session has a live publisher")
	// ErrNotFound is returned for an unknown WHIP/WHEP resource.
	ErrNotFound = errors.New("webrtc: resource not found")
	// ErrConfig is returned by New for an unusable Config.
	ErrConfig = errors.New("webrtc: invalid config")
	// ErrUnsupportedCodec is returned for a track whose codec we cannot
	// packetize or depacketize.
	ErrUnsupportedCodec = errors.New("webrtc: unsupported codec")
)
