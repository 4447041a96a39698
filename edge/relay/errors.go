package relay

import (
	"errors"

	"github.com/strata-edge/strata/edge/authz"
)

var (
	// ErrNoLocator: a broadcast is not local and no Locator is configured.
	ErrNoLocator = errors.New("relay: no locator for remote broadcasts")
	// ErrNoPublisher: a track was requested from a local broadcast whose
	// publisher session is gone.
	ErrNoPublisher = errors.New("relay: no publisher for broadcast")
	// ErrUnauthorized: the token does not grant the request. It is
	// authz's, so a refusal matches whichever name a caller checks.
	ErrUnauthorized = authz.ErrUnauthorized
	// ErrNoToken: the request carried no token, in the request or setup.
	ErrNoToken = authz.ErrNoToken
	// ErrBadOptions: the Config and Deps given to New failed validation.
	ErrBadOptions = errors.New("relay: bad options")
	// ErrClosed: the relay has been closed.
	ErrClosed = errors.New("relay: closed")
)
