package relay

import (
	"errors"
	"fmt"

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
	// ErrNoIdentity: relaying between edges needs the edge's cluster
	// certificate (Deps.Identity), and there is none.
	ErrNoIdentity = errors.New("relay: no cluster certificate, relaying between edges is off")
	// ErrWrongPeer: the edge at the other end of a relay connection is
	// not the one meant.
	ErrWrongPeer = errors.New("relay: wrong peer edge")
	// ErrNotPeer: a relay token came over a connection that is not from a
	// verified cluster edge (a viewer's).
	// It is an ErrUnauthorized.
	ErrNotPeer = fmt.Errorf("%w: relay token over a connection that is not from a cluster edge", ErrUnauthorized)
	// ErrClosed: the relay has been closed.
	ErrClosed = errors.New("relay: closed")
)
