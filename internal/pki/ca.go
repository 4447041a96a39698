// Package pki is the cluster's certificate authority and the node side of
// it: a CA that signs short-lived node certificates naming a node's role
// and ID, the holder that serves a node's current certificate to TLS
// (swapped on renewal without a restart), and TLS configurations that
// accept only peers the CA signed with the expected role.
//
// Peers are checked by identity, not by host name: nodes move between
// addresses, and what matters is that the peer is, say, an origin of this
// cluster. Clients that meet a cluster for the first time pin the CA by
// its fingerprint, as kubeadm join does.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"strings"
	"time"
)

// Errors callers branch on.
var (
	ErrBadPEM         = errors.New("pki: malformed PEM")
	ErrBadCSR         = errors.New("pki: bad certificate request")
	ErrNoIdentity     = errors.New("pki: certificate names no strata node")
	ErrWrongRole      = errors.New("pki: peer has the wrong role")
	ErrUntrusted      = errors.New("pki: peer certificate not signed by the cluster CA")
	ErrFingerprint    = errors.New("pki: CA fingerprint does not match the pinned one")
	ErrValidity       = errors.New("pki: validity out of range")
	ErrNoCertificate  = errors.New("pki: peer presented no certificate")
	ErrKeyMismatch    = errors.New("pki: certificate and key do not match")
	ErrCertExpired    = errors.New("pki: certificate expired")
	ErrInvalidName    = errors.New("pki: invalid node ID or role")
	ErrNotCertificate = errors.New("pki: PEM block is not a certificate")
)

// CAValidity is how long a cluster CA lives. Node certificates are what
// rotate; the CA is replaced only by re-keying the cluster.
const CAValidity = 10 * 365 * 24 * time.Hour

// MaxNodeValidity bounds a node certificate's life.
const MaxNodeValidity = 7 * 24 * time.Hour

// skew backdates certificates so a peer whose clock is a little behind
// accepts them.
const skew = time.Minute

// CA is the cluster certificate authority.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// NewCA makes a CA for the named cluster.
func NewCA(cluster string, now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "strata cluster CA " + cluster, Organization: []string{"strata"}},
		NotBefore:             now.Add(-skew),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("pki: CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: CA certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// ParseCA reads a CA from its certificate and key PEM.
func ParseCA(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := ParseCertificate(certPEM)
	if err != nil {
		return nil, err
	}
	key, err := ParseKey(keyPEM)
	if err != nil {
		return nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, ErrKeyMismatch
	}
	return &CA{Cert: cert, Key: key}, nil
}

// CertPEM is the CA certificate in PEM.
func (ca *CA) CertPEM() []byte { return CertPEM(ca.Cert.Raw) }

// KeyPEM is the CA private key in PEM.
func (ca *CA) KeyPEM() []byte { return KeyPEM(ca.Key) }

// Fingerprint is the CA's pin: "sha256:" and the hex SHA-256 of its DER.
func (ca *CA) Fingerprint() string { return Fingerprint(ca.Cert) }

// Fingerprint returns "sha256:<hex>" of a certificate's DER bytes.
func Fingerprint(c *x509.Certificate) string {
	h := sha256.Sum256(c.Raw)
	return "sha256:" + hex.EncodeToString(h[:])
}

// MatchFingerprint reports whether pin names c. The "sha256:" prefix is
// optional and case does not matter, so a pin pasted from any tool works.
func MatchFingerprint(c *x509.Certificate, pin string) bool {
	pin = strings.ToLower(strings.TrimSpace(pin))
	pin = strings.TrimPrefix(pin, "sha256:")
	pin = strings.ReplaceAll(pin, ":", "")
	return pin != "" && strings.TrimPrefix(Fingerprint(c), "sha256:") == pin
}

// Sign issues a node certificate for the public key in csrDER, naming id
// and valid for validity from now. The request's own subject and names
// are ignored: the caller decides who the node is (from a join token or
// the node's current certificate), the request only proves the key.
// hosts (IPs or DNS names) are added so plain TLS clients that check host
// names accept the node as a server too.
func (ca *CA) Sign(csrDER []byte, id Identity, hosts []string, validity time.Duration, now time.Time) ([]byte, error) {
	if err := id.Validate(); err != nil {
		return nil, err
	}
	if validity <= 0 || validity > MaxNodeValidity {
		return nil, fmt.Errorf("%w: %s (want up to %s)", ErrValidity, validity, MaxNodeValidity)
	}
	if len(csrDER) > 16<<10 {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadCSR, len(csrDER))
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCSR, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: signature: %w", ErrBadCSR, err)
	}
	switch csr.PublicKey.(type) {
	case *ecdsa.PublicKey:
	default:
		return nil, fmt.Errorf("%w: want an ECDSA key", ErrBadCSR)
	}
	notAfter := now.Add(validity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: id.Role + "/" + id.NodeID, Organization: []string{"strata"}},
		NotBefore:    now.Add(-skew),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:         []*url.URL{id.URI()},
	}
	// Every node certificate also names ServerName, so a standard TLS
	// client (a Prometheus scrape with the CA file and server_name) can
	// verify any node without knowing its addresses.
	addHosts(tmpl, append([]string{ServerName}, hosts...))
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, csr.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: sign: %w", err)
	}
	return CertPEM(der), nil
}

// addHosts puts hosts into the certificate's SANs, skipping duplicates
// and unspecified addresses.
func addHosts(tmpl *x509.Certificate, hosts []string) {
	seen := map[string]bool{}
	for _, h := range hosts {
		if h == "" || seen[h] || len(h) > 253 {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			if !ip.IsUnspecified() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
			continue
		}
		tmpl.DNSNames = append(tmpl.DNSNames, h)
	}
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(fmt.Sprintf("pki: serial: %v", err))
	}
	return n
}

// CertPEM wraps DER certificate bytes in PEM.
func CertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// KeyPEM encodes an ECDSA private key in PEM (SEC 1).
func KeyPEM(k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		// Only unsupported curves fail; ours is P-256.
		panic(fmt.Sprintf("pki: marshal key: %v", err))
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

// ParseCertificate reads the first certificate of a PEM bundle.
func ParseCertificate(b []byte) (*x509.Certificate, error) {
	certs, err := ParseCertificates(b)
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

// ParseCertificates reads every certificate of a PEM bundle; it fails on
// a bundle with none.
func ParseCertificates(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for len(b) > 0 {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: %q", ErrNotCertificate, blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadPEM, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no certificate", ErrBadPEM)
	}
	return out, nil
}

// ParseKey reads an ECDSA private key from PEM (SEC 1 or PKCS #8).
func ParseKey(b []byte) (*ecdsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%w: no key", ErrBadPEM)
	}
	if k, err := x509.ParseECPrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: key: %w", ErrBadPEM, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: want an ECDSA key", ErrBadPEM)
	}
	return ek, nil
}
