// Package certs supplies the certificates of Strata's public listeners
// (the edge's media listeners, the origin API) through one Source
// interface, from operator files reloaded when they change, from an ACME
// CA, or, for development, self-signed: an ECDSA P-256 certificate valid
// for less than 14 days, the most a browser accepts for a WebTransport
// connection pinned with serverCertificateHashes. The self-signed
// certificate's SHA-256 hash is returned so a player page can pin it.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// MaxValidity is the longest validity WebTransport's
// serverCertificateHashes accepts; SelfSigned stays below it.
const MaxValidity = 14 * 24 * time.Hour

// DefaultValidity is the validity SelfSigned uses when given none.
const DefaultValidity = 10 * 24 * time.Hour

// ErrValidity means a requested validity is not within (0, MaxValidity).
var ErrValidity = errors.New("certs: validity must be positive and under 14 days")

// Cert is a generated certificate with the SHA-256 hash of its DER bytes.
type Cert struct {
	TLS      tls.Certificate
	Leaf     *x509.Certificate
	SHA256   [32]byte
	NotAfter time.Time
}

// SelfSigned makes a self-signed ECDSA P-256 server certificate for hosts
// (DNS names or IP addresses; "localhost" and 127.0.0.1 and ::1 are always
// included). validity 0 means DefaultValidity. The certificate starts one
// minute in the past to tolerate clock skew, counted in its validity.
func SelfSigned(hosts []string, validity time.Duration) (*Cert, error) {
	if validity == 0 {
		validity = DefaultValidity
	}
	if validity <= 0 || validity >= MaxValidity {
		return nil, fmt.Errorf("%w: %s", ErrValidity, validity)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("certs: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("certs: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "strata self-signed"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(-time.Minute).Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	seen := map[string]bool{}
	for _, h := range append([]string{"localhost", "127.0.0.1", "::1"}, hosts...) {
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			if !ip.IsUnspecified() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("certs: create: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certs: parse: %w", err)
	}
	return &Cert{
		TLS:  tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		Leaf: leaf, SHA256: sha256.Sum256(der), NotAfter: leaf.NotAfter,
	}, nil
}

// Pool returns a certificate pool trusting only c, for clients (tests,
// relays between edges sharing a dev certificate).
func (c *Cert) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.Leaf)
	return p
}

// WriteFiles saves the certificate and its key as PEM files (0600), the
// form Files reads: for handing a development certificate to a tool.
func (c *Cert) WriteFiles(certFile, keyFile string) error {
	der, err := x509.MarshalPKCS8PrivateKey(c.TLS.PrivateKey)
	if err != nil {
		return fmt.Errorf("certs: key: %w", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.TLS.Certificate[0]}), 0o600); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	return nil
}
