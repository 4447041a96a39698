package token

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// MaxTokenLen bounds what Verify parses: real tokens are a few hundred
// bytes, and a bound keeps hostile input from costing decode work.
const MaxTokenLen = 4096

// maxKidLen bounds the key ID.
const maxKidLen = 128

const algEdDSA = "EdDSA"

type header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
	Kid string `json:"kid"`
}

var b64 = base64.RawURLEncoding

// Sign returns a compact JWS over c signed with key, naming kid.
func Sign(key ed25519.PrivateKey, kid string, c Claims) (string, error) {
	if len(key) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("%w: private key is %d bytes", ErrBadKeySet, len(key))
	}
	if kid == "" || len(kid) > maxKidLen {
		return "", fmt.Errorf("%w: kid must be 1..%d bytes", ErrInvalidClaims, maxKidLen)
	}
	if err := c.Validate(); err != nil {
		return "", err
	}
	h, err := json.Marshal(header{Alg: algEdDSA, Typ: "JWT", Kid: kid})
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidClaims, err)
	}
	p, err := json.Marshal(c.toWire())
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidClaims, err)
	}
	signing := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	sig := ed25519.Sign(key, []byte(signing))
	tok := signing + "." + b64.EncodeToString(sig)
	if len(tok) > MaxTokenLen {
		return "", fmt.Errorf("%w: token would be %d bytes", ErrInvalidClaims, len(tok))
	}
	return tok, nil
}

// parsed is a token split and decoded, signature not yet checked.
type parsed struct {
	kid     string
	signing []byte // header.payload as sent
	sig     []byte
	claims  wireClaims
}

func parse(tok string) (parsed, error) {
	if len(tok) > MaxTokenLen {
		return parsed{}, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformed, len(tok), MaxTokenLen)
	}
	h64, rest, ok1 := strings.Cut(tok, ".")
	p64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") {
		return parsed{}, fmt.Errorf("%w: want three dot-separated parts", ErrMalformed)
	}
	var h header
	if err := decodeJSON(h64, &h); err != nil {
		return parsed{}, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	// Only EdDSA: never let the token choose a weaker algorithm.
	if h.Alg != algEdDSA || h.Kid == "" || len(h.Kid) > maxKidLen {
		return parsed{}, fmt.Errorf("%w: header must name alg EdDSA and a kid", ErrMalformed)
	}
	var c wireClaims
	if err := decodeJSON(p64, &c); err != nil {
		return parsed{}, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	sig, err := b64.DecodeString(s64)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return parsed{}, fmt.Errorf("%w: signature encoding", ErrMalformed)
	}
	return parsed{kid: h.Kid, signing: []byte(tok[:len(h64)+1+len(p64)]), sig: sig, claims: c}, nil
}

func decodeJSON(s string, v any) error {
	raw, err := b64.DecodeString(s)
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

// Leeway absorbs clock skew between the origin that signed a token and
// the edge that checks it.
const Leeway = 30 * time.Second
