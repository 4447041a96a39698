package wire

import "fmt"

// AliasType selects how an authorization token is serialized and what the
// receiver does with its alias.
type AliasType uint64

// Alias types (draft-14 AUTHORIZATION TOKEN).
const (
	AliasDelete   AliasType = 0x0 // alias only: retire it
	AliasRegister AliasType = 0x1 // alias, type, value: register it
	AliasUseAlias AliasType = 0x2 // alias only: use the registered token
	AliasUseValue AliasType = 0x3 // type and value, no alias
)

// AuthToken is the Token structure carried in an AUTHORIZATION TOKEN
// parameter. Which fields are meaningful depends on AliasType.
type AuthToken struct {
	AliasType AliasType
	Alias     uint64
	TokenType uint64
	Value     []byte
}

// tokenCacheOverhead is the fixed per-entry cost the spec adds to a
// registered token's value length.
const tokenCacheOverhead = 16

// CacheSize is the amount a registration of t counts against
// MAX_AUTH_TOKEN_CACHE_SIZE.
func (t AuthToken) CacheSize() uint64 { return tokenCacheOverhead + uint64(len(t.Value)) }

// Append encodes the token structure (the parameter value, not the pair).
func (t AuthToken) Append(b []byte) ([]byte, error) { return t.appendFormat(b, dialect14) }

// appendFormat encodes the token with the integers of format f.
func (t AuthToken) appendFormat(b []byte, f dialect) ([]byte, error) {
	e := encoder{b: b, f: f}
	e.varint(uint64(t.AliasType))
	switch t.AliasType {
	case AliasDelete, AliasUseAlias:
		e.varint(t.Alias)
	case AliasRegister:
		e.varint(t.Alias)
		e.varint(t.TokenType)
		e.b = append(e.b, t.Value...)
	case AliasUseValue:
		e.varint(t.TokenType)
		e.b = append(e.b, t.Value...)
	default:
		e.fail(fmt.Errorf("auth token alias type %d: %w", t.AliasType, ErrKeyValueFormat))
	}
	if e.err != nil {
		return b, e.err
	}
	return e.b, nil
}

// Param wraps the token in an AUTHORIZATION TOKEN parameter. The same
// type code is used in setup and version-specific parameters.
func (t AuthToken) Param() (KeyValuePair, error) {
	v, err := t.Append(nil)
	if err != nil {
		return KeyValuePair{}, err
	}
	if len(v) > MaxKeyValueLength {
		return KeyValuePair{}, ErrTooLong
	}
	return BytesPair(ParamAuthorizationToken, v), nil
}

// ParseAuthToken decodes a Token structure. Any failure is a key-value
// formatting error, the code the spec gives to undecodable tokens.
func ParseAuthToken(p []byte) (AuthToken, error) { return parseAuthToken(p, dialect14) }

func parseAuthToken(p []byte, f dialect) (AuthToken, error) {
	d := decoder{p: p, f: f}
	t := AuthToken{AliasType: AliasType(d.varint())}
	switch t.AliasType {
	case AliasDelete, AliasUseAlias:
		t.Alias = d.varint()
		if d.err == nil && len(d.p) != 0 {
			d.fail(ErrTrailingBytes)
		}
	case AliasRegister:
		t.Alias = d.varint()
		t.TokenType = d.varint()
		t.Value = d.rest()
	case AliasUseValue:
		t.TokenType = d.varint()
		t.Value = d.rest()
	default:
		d.fail(ErrMalformed)
	}
	if d.err != nil {
		return AuthToken{}, fmt.Errorf("auth token: %v: %w", d.err, ErrKeyValueFormat)
	}
	return t, nil
}

// checkTokens verifies every AUTHORIZATION TOKEN in ps parses, so a bad
// token closes the session at decode time with the right code.
func checkTokens(ps Parameters) error {
	for _, p := range ps {
		if p.Type == ParamAuthorizationToken {
			if _, err := ParseAuthToken(p.Bytes); err != nil {
				return err
			}
		}
	}
	return nil
}

// reencodeToken rewrites a Token structure's integers from one version's
// encoding to another's: parameters hold tokens in draft-14 form.
func reencodeToken(b []byte, from, to dialect) ([]byte, error) {
	if from == to || (from != dialect18 && to != dialect18) {
		return b, nil // same integer encoding
	}
	tok, err := parseAuthToken(b, from)
	if err != nil {
		return nil, err
	}
	return tok.appendFormat(nil, to)
}
