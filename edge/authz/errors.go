package authz

import "errors"

var (
	// ErrUnauthorized: the token is valid but does not grant the request
	// (other session, other role, bound to another node).
	ErrUnauthorized = errors.New("authz: unauthorized")
	// ErrNoToken: the request carried no token.
	ErrNoToken = errors.New("authz: no authorization token")
	// ErrBadConfig: a Config or KeysConfig failed validation.
	ErrBadConfig = errors.New("authz: bad config")
)
