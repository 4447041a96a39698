package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"sync/atomic"
	"time"
)

// NewKey makes a node key (ECDSA P-256: fast handshakes, small certs).
func NewKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: node key: %w", err)
	}
	return k, nil
}

// NewCSR makes a certificate request for key naming id. The CA ignores
// the name (see CA.Sign); it is there for humans reading the request.
func NewCSR(key *ecdsa.PrivateKey, id Identity) ([]byte, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: id.String()},
	}, key)
	if err != nil {
		return nil, fmt.Errorf("pki: CSR: %w", err)
	}
	return der, nil
}

// Holder holds a node's current certificate and the cluster CA it trusts.
// TLS configurations read the certificate at each handshake, so Set
// (renewal) takes effect without restarting any listener.
type Holder struct {
	ca    *x509.Certificate
	roots *x509.CertPool
	cert  atomic.Pointer[tls.Certificate]
}

// NewHolder checks that certPEM chains to ca and matches keyPEM.
func NewHolder(ca *x509.Certificate, certPEM, keyPEM []byte) (*Holder, error) {
	h := &Holder{ca: ca, roots: x509.NewCertPool()}
	h.roots.AddCert(ca)
	if err := h.Set(certPEM, keyPEM); err != nil {
		return nil, err
	}
	return h, nil
}

// Set replaces the certificate after checking it: it must chain to the
// cluster CA, name an identity, and match the key.
func (h *Holder) Set(certPEM, keyPEM []byte) error {
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKeyMismatch, err)
	}
	if _, err := h.verify(c.Leaf, time.Now(), x509.ExtKeyUsageClientAuth); err != nil {
		return err
	}
	if len(c.Certificate) == 1 {
		// Send the CA along: a client pinning its fingerprint needs it.
		c.Certificate = append(c.Certificate, h.ca.Raw)
	}
	h.cert.Store(&c)
	return nil
}

// CA is the cluster CA certificate.
func (h *Holder) CA() *x509.Certificate { return h.ca }

// Roots is a pool holding only the cluster CA.
func (h *Holder) Roots() *x509.CertPool { return h.roots }

// Certificate is the current certificate.
func (h *Holder) Certificate() *tls.Certificate { return h.cert.Load() }

// Identity is who the current certificate names.
func (h *Holder) Identity() Identity {
	id, _ := IdentityOf(h.cert.Load().Leaf) // checked by Set
	return id
}

// NotAfter is when the current certificate expires.
func (h *Holder) NotAfter() time.Time { return h.cert.Load().Leaf.NotAfter }

// Verify checks that a peer's chain leads to the cluster CA, is valid now
// for usage, and names a node; it returns that node.
func (h *Holder) Verify(chain []*x509.Certificate, usage x509.ExtKeyUsage) (Identity, error) {
	if len(chain) == 0 {
		return Identity{}, ErrNoCertificate
	}
	return h.verify(chain[0], time.Now(), usage)
}

func (h *Holder) verify(leaf *x509.Certificate, now time.Time, usage x509.ExtKeyUsage) (Identity, error) {
	if now.After(leaf.NotAfter) {
		return Identity{}, fmt.Errorf("%w: %s expired at %s", ErrCertExpired, leaf.Subject.CommonName, leaf.NotAfter.Format(time.RFC3339))
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: h.roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrUntrusted, err)
	}
	return IdentityOf(leaf)
}

// RolesOf returns a peer check that accepts the given roles.
func RolesOf(roles ...string) func(Identity) error {
	return func(id Identity) error {
		for _, r := range roles {
			if id.Role == r {
				return nil
			}
		}
		return fmt.Errorf("%w: %s, want %v", ErrWrongRole, id, roles)
	}
}

// ServerConfig serves the node's certificate. With accept non-nil every
// client must present a cluster certificate that accept approves (mutual
// TLS between nodes); with accept nil a client certificate is optional
// and, when given, verified against the cluster CA (the origin API, where
// tenants authenticate with keys and nodes with certificates).
func (h *Holder) ServerConfig(accept func(Identity) error) *tls.Config {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return h.cert.Load(), nil
		},
		ClientCAs:  h.roots,
		ClientAuth: tls.VerifyClientCertIfGiven,
	}
	if accept != nil {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			id, err := h.Verify(cs.PeerCertificates, x509.ExtKeyUsageClientAuth)
			if err != nil {
				return err
			}
			return accept(id)
		}
	}
	return cfg
}

// ClientConfig dials a cluster node: it presents the node's certificate
// and accepts a server only if the cluster CA signed it and accept
// approves its identity. Host names are not checked (see the package
// doc); the identity is.
func (h *Holder) ClientConfig(accept func(Identity) error) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return h.cert.Load(), nil
		},
		InsecureSkipVerify: true, // replaced by VerifyConnection below
		VerifyConnection: func(cs tls.ConnectionState) error {
			id, err := h.Verify(cs.PeerCertificates, x509.ExtKeyUsageServerAuth)
			if err != nil {
				return err
			}
			return accept(id)
		},
	}
}

// TrustConfig is a client configuration for someone without a node
// certificate (the CLI, a tenant's backend): it trusts servers the
// cluster CA signed for the origin role.
func TrustConfig(ca *x509.Certificate) *tls.Config {
	h := &Holder{ca: ca, roots: x509.NewCertPool()}
	h.roots.AddCert(ca)
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // replaced by VerifyConnection below
		VerifyConnection: func(cs tls.ConnectionState) error {
			id, err := h.Verify(cs.PeerCertificates, x509.ExtKeyUsageServerAuth)
			if err != nil {
				return err
			}
			return RolesOf(RoleOrigin)(id)
		},
	}
}

// PinnedConfig is a client configuration that accepts a server whose
// chain ends in a CA with the pinned fingerprint; it is how a joining node
// or a CLI fetches the CA from an origin it does not trust yet.
func PinnedConfig(pin string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // replaced by VerifyConnection below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) < 2 {
				return fmt.Errorf("%w: the server sent no CA certificate", ErrUntrusted)
			}
			ca := cs.PeerCertificates[len(cs.PeerCertificates)-1]
			if !MatchFingerprint(ca, pin) {
				return fmt.Errorf("%w: server CA is %s", ErrFingerprint, Fingerprint(ca))
			}
			return TrustConfig(ca).VerifyConnection(cs)
		},
	}
}
