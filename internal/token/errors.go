package token

import "errors"

// Sentinel errors returned (wrapped) by Verify and the constructors.
var (
	// ErrMalformed: the token is not a well-formed compact EdDSA JWS with the
	// claims this package requires, or exceeds MaxTokenLen.
	ErrMalformed = errors.New("token: malformed")
	// ErrBadSignature: the signature does not verify under the named key.
	ErrBadSignature = errors.New("token: bad signature")
	// ErrUnknownKey: the kid names no key in the key set.
	ErrUnknownKey = errors.New("token: unknown key")
	// ErrExpired: the token's expiry has passed.
	ErrExpired = errors.New("token: expired")
	// ErrNotYetValid: the token's not-before time is in the future.
	ErrNotYetValid = errors.New("token: not yet valid")
	// ErrInvalidClaims: Sign was given claims that could never verify.
	ErrInvalidClaims = errors.New("token: invalid claims")
	// ErrBadKeySet: a JWKS document or key is unusable.
	ErrBadKeySet = errors.New("token: bad key set")
)
