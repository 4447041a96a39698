package gossip

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/hashicorp/memberlist"
)

// KeySize is the AES-256 key length gossip encryption uses.
const KeySize = 32

// GenerateKey returns a new random base64 gossip key, for `strata keygen`.
func GenerateKey() (string, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return "", fmt.Errorf("gossip: generate key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(k), nil
}

// DecodeKey parses a base64 key and checks its length.
func DecodeKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64: %w", ErrBadKey, err)
	}
	if len(k) != KeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrBadKey, len(k), KeySize)
	}
	return k, nil
}

// NewKeyring builds a keyring whose primary (encrypting) key is keys[0];
// the other keys are still accepted for decryption. Rotation is: install
// the new key everywhere as an extra key, make it primary everywhere, then
// remove the old key (Pool.InstallKey, UseKey, RemoveKey).
func NewKeyring(keys []string) (*memberlist.Keyring, error) {
	if len(keys) == 0 {
		return nil, ErrNoKeys
	}
	raw := make([][]byte, 0, len(keys))
	for i, s := range keys {
		k, err := DecodeKey(s)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		raw = append(raw, k)
	}
	kr, err := memberlist.NewKeyring(raw, raw[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	return kr, nil
}
