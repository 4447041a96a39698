package token

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"time"
)

// KeySet holds the public keys tokens may be signed with, by kid. It is
// immutable after construction, so concurrent Verify calls need no lock;
// key rotation swaps in a new KeySet.
type KeySet struct {
	keys map[string]ed25519.PublicKey
}

// NewKeySet returns a key set over the given keys.
func NewKeySet(keys map[string]ed25519.PublicKey) (*KeySet, error) {
	ks := &KeySet{keys: make(map[string]ed25519.PublicKey, len(keys))}
	for kid, k := range keys {
		if kid == "" || len(kid) > maxKidLen || len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: key %q", ErrBadKeySet, kid)
		}
		ks.keys[kid] = k
	}
	return ks, nil
}

// JWK is one public key of a JWKS document (RFC 8037 OKP form).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	Kid string `json:"kid"`
	X   string `json:"x"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
}

// JWKS is a key set document as origins publish it.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// maxJWKSLen bounds a JWKS document; a handful of keys is a few KiB.
const maxJWKSLen = 1 << 20

// ParseJWKS builds a key set from a JWKS document. Keys of other types or
// curves are skipped (a set may carry keys for other purposes); a broken
// Ed25519 key is an error.
func ParseJWKS(doc []byte) (*KeySet, error) {
	if len(doc) > maxJWKSLen {
		return nil, fmt.Errorf("%w: document larger than %d bytes", ErrBadKeySet, maxJWKSLen)
	}
	var set JWKS
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKeySet, err)
	}
	keys := make(map[string]ed25519.PublicKey, len(set.Keys))
	for _, k := range set.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" {
			continue
		}
		x, err := b64.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: key %q: x is not a 32-byte base64url value", ErrBadKeySet, k.Kid)
		}
		if _, dup := keys[k.Kid]; dup {
			return nil, fmt.Errorf("%w: duplicate kid %q", ErrBadKeySet, k.Kid)
		}
		keys[k.Kid] = x
	}
	return NewKeySet(keys)
}

// PublicJWK describes pub as a JWKS entry, for origins publishing keys.
func PublicJWK(kid string, pub ed25519.PublicKey) JWK {
	return JWK{Kty: "OKP", Crv: "Ed25519", Kid: kid, X: b64.EncodeToString(pub), Use: "sig", Alg: algEdDSA}
}

// Verify checks tok's signature and validity window at now and returns
// its claims. Errors wrap ErrMalformed, ErrUnknownKey, ErrBadSignature,
// ErrExpired or ErrNotYetValid. The signature is checked before the
// times, so an expired forgery reports ErrBadSignature.
func (ks *KeySet) Verify(tok string, now time.Time) (Claims, error) {
	p, err := parse(tok)
	if err != nil {
		return Claims{}, err
	}
	key, ok := ks.keys[p.kid]
	if !ok {
		return Claims{}, fmt.Errorf("%w: kid %q", ErrUnknownKey, p.kid)
	}
	if !ed25519.Verify(key, p.signing, p.sig) {
		return Claims{}, ErrBadSignature
	}
	c := p.claims.claims()
	if err := c.Validate(); err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !now.Before(c.ExpiresAt.Add(Leeway)) {
		return Claims{}, fmt.Errorf("%w: at %s", ErrExpired, c.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if !c.NotBefore.IsZero() && now.Add(Leeway).Before(c.NotBefore) {
		return Claims{}, fmt.Errorf("%w: until %s", ErrNotYetValid, c.NotBefore.UTC().Format(time.RFC3339))
	}
	return c, nil
}
