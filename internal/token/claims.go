package token

import (
	"fmt"
	"time"
)

// Role says what a token's holder may do on an edge.
type Role string

// Roles. A controller is a viewer that may also send input to the session.
// A relay is another edge pulling broadcasts for its own viewers.
const (
	RoleViewer     Role = "viewer"
	RolePublisher  Role = "publisher"
	RoleController Role = "controller"
	RoleRelay      Role = "relay"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleViewer, RolePublisher, RoleController, RoleRelay:
		return true
	}
	return false
}

// CanView reports whether the role may subscribe to a session's media.
func (r Role) CanView() bool { return r == RoleViewer || r == RoleController || r == RoleRelay }

// Claims is a token's payload. JSON names follow JWT where one exists
// (iss, exp, iat, nbf) and are short otherwise, because tokens travel in
// every MoQ setup and URL.
type Claims struct {
	Issuer    string    `json:"iss"`
	Tenant    string    `json:"tid"`
	Session   string    `json:"sid,omitempty"`
	Role      Role      `json:"role"`
	Node      string    `json:"nid,omitempty"` // optional: only this node may accept it
	ExpiresAt time.Time `json:"-"`
	IssuedAt  time.Time `json:"-"`
	NotBefore time.Time `json:"-"`
}

// wireClaims is Claims as JSON, with times in NumericDate seconds.
type wireClaims struct {
	Issuer  string `json:"iss"`
	Tenant  string `json:"tid"`
	Session string `json:"sid,omitempty"`
	Role    Role   `json:"role"`
	Node    string `json:"nid,omitempty"`
	Exp     int64  `json:"exp"`
	Iat     int64  `json:"iat"`
	Nbf     int64  `json:"nbf,omitempty"`
	// IatUs is the issue time in microseconds, on publisher tokens only:
	// an edge lets a newer publisher token take a live broadcast over,
	// and two tokens minted within one second must still be ordered.
	IatUs int64 `json:"iat_us,omitempty"`
}

func (c Claims) toWire() wireClaims {
	w := wireClaims{Issuer: c.Issuer, Tenant: c.Tenant, Session: c.Session, Role: c.Role, Node: c.Node,
		Exp: c.ExpiresAt.Unix(), Iat: c.IssuedAt.Unix()}
	if !c.NotBefore.IsZero() {
		w.Nbf = c.NotBefore.Unix()
	}
	if c.Role == RolePublisher {
		w.IatUs = c.IssuedAt.UnixMicro()
	}
	return w
}

func (w wireClaims) claims() Claims {
	c := Claims{Issuer: w.Issuer, Tenant: w.Tenant, Session: w.Session, Role: w.Role, Node: w.Node,
		ExpiresAt: time.Unix(w.Exp, 0), IssuedAt: time.Unix(w.Iat, 0)}
	if w.Nbf != 0 {
		c.NotBefore = time.Unix(w.Nbf, 0)
	}
	// The fine issue time counts only where it agrees with iat, which
	// every verifier checks; a token whose two disagree is ordered by iat.
	if w.IatUs != 0 && floorDiv(w.IatUs, 1e6) == w.Iat {
		c.IssuedAt = time.UnixMicro(w.IatUs)
	}
	return c
}

// floorDiv is a/b rounded toward minus infinity, as Unix seconds are.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// NewerThan reports whether c was issued strictly after o, to the
// microsecond where both carry it. A publisher token that is newer than
// the live publisher's may take its broadcast over.
func (c Claims) NewerThan(o Claims) bool { return c.IssuedAt.After(o.IssuedAt) }

// maxClaimField bounds each string claim; namespaces allow 128 bytes.
const maxClaimField = 256

// Validate checks the claims are complete and sane. Relay tokens are
// node-wide and need no session; every other role is scoped to one.
func (c Claims) Validate() error {
	switch {
	case !c.Role.Valid():
		return fmt.Errorf("%w: role %q", ErrInvalidClaims, c.Role)
	case c.Tenant == "" && c.Role != RoleRelay:
		return fmt.Errorf("%w: tenant is empty", ErrInvalidClaims)
	case c.Session == "" && c.Role != RoleRelay:
		return fmt.Errorf("%w: session is empty", ErrInvalidClaims)
	case c.ExpiresAt.IsZero():
		return fmt.Errorf("%w: no expiry", ErrInvalidClaims)
	case c.IssuedAt.IsZero():
		return fmt.Errorf("%w: no issued-at", ErrInvalidClaims)
	case c.ExpiresAt.Before(c.IssuedAt):
		return fmt.Errorf("%w: expires before issued", ErrInvalidClaims)
	}
	for _, f := range []string{c.Issuer, c.Tenant, c.Session, c.Node} {
		if len(f) > maxClaimField {
			return fmt.Errorf("%w: claim longer than %d bytes", ErrInvalidClaims, maxClaimField)
		}
	}
	return nil
}

// Allows reports whether the claims grant role on the session
// tenant/session. A relay token grants viewing of any session; a
// controller token also grants viewing.
func (c Claims) Allows(role Role, tenant, session string) bool {
	if c.Role == RoleRelay {
		return role == RoleViewer || role == RoleRelay
	}
	if c.Tenant != tenant || c.Session != session {
		return false
	}
	switch role {
	case RoleViewer:
		return c.Role.CanView()
	default:
		return c.Role == role
	}
}
