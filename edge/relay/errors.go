package relay

import "errors"

var (
	// ErrNoLocator: a broadcast is not local and no Locator is configured.
	ErrNoLocator = errors.New("relay: no locator for remote broadcasts")
	// ErrNoPublisher: a track was requested from a local broadcast whose
	// publisher session is gone.
	ErrNoPublisher = errors.New("relay: no publisher for broadcast")
	// ErrUnauthorized: the token does not grant the request.
	ErrUnauthorized = errors.New("relay: unauthorized")
	// ErrNoToken: the request carried no token, in the request or setup.
	ErrNoToken = errors.New("relay: no authorization token")
	// ErrBadOptions: Options failed validation.
	ErrBadOptions = errors.New("relay: bad options")
	// ErrClosed: the relay has been closed.
	ErrClosed = errors.New("relay: closed")
)
