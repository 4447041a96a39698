// Package auth makes and checks API key secrets. A key is shown to its
// owner once as "<key id>.<secret>"; the registry stores only the SHA-256 of
// the secret. Secrets carry 256 random bits, so a fast hash is safe and keeps
// authentication cheap on every request.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
)

// ErrMalformedToken means a bearer token is not "<id>.<secret>".
var ErrMalformedToken = errors.New("malformed API key")

// NewSecret returns a random secret and its hash.
func NewSecret() (secret string, hash []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	secret = base64.RawURLEncoding.EncodeToString(b[:])
	return secret, Hash(secret)
}

// Hash is the stored form of a secret.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Token joins a key ID and secret into the bearer token a client sends.
func Token(keyID, secret string) string { return keyID + "." + secret }

// Split parses a bearer token into key ID and secret.
func Split(token string) (keyID, secret string, err error) {
	id, sec, ok := strings.Cut(token, ".")
	if !ok || id == "" || sec == "" || len(token) > 256 {
		return "", "", ErrMalformedToken
	}
	return id, sec, nil
}

// Match reports in constant time whether secret hashes to hash.
func Match(secret string, hash []byte) bool {
	return subtle.ConstantTimeCompare(Hash(secret), hash) == 1
}
