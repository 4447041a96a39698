package pki

import (
	"crypto/x509"
	"fmt"
	"net/url"
	"strings"
)

// Node roles a certificate can name.
const (
	RoleOrigin = "origin"
	RoleEdge   = "edge"
)

// Identity is who a node certificate names. It travels as a URI SAN,
// strata://<role>/<node id>, so it survives any host-name rules.
type Identity struct {
	Role   string
	NodeID string
}

func (id Identity) String() string { return id.Role + "/" + id.NodeID }

// Validate checks the role and that the node ID is a plain name.
func (id Identity) Validate() error {
	if id.Role != RoleOrigin && id.Role != RoleEdge {
		return fmt.Errorf("%w: role %q", ErrInvalidName, id.Role)
	}
	if id.NodeID == "" || len(id.NodeID) > 64 || strings.ContainsAny(id.NodeID, "/?#%@: \t\r\n") {
		return fmt.Errorf("%w: node ID %q", ErrInvalidName, id.NodeID)
	}
	return nil
}

// URI is the identity as the certificate carries it.
func (id Identity) URI() *url.URL {
	return &url.URL{Scheme: "strata", Host: id.Role, Path: "/" + id.NodeID}
}

// IdentityOf reads the node identity from a certificate. It does not
// verify the certificate: callers do that first (VerifyPeer).
func IdentityOf(c *x509.Certificate) (Identity, error) {
	for _, u := range c.URIs {
		if u.Scheme != "strata" {
			continue
		}
		id := Identity{Role: u.Host, NodeID: strings.TrimPrefix(u.Path, "/")}
		if err := id.Validate(); err != nil {
			return Identity{}, err
		}
		return id, nil
	}
	return Identity{}, ErrNoIdentity
}
