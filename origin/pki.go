package origin

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/certs"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/registry"
)

// PKIConfig configures the cluster's certificates. Origins and edges
// hold short-lived certificates from the cluster CA; Raft, forwarding
// between origins and the API all run over TLS with them.
type PKIConfig struct {
	// Disable runs Raft, forwarding and the API in plaintext, with no node
	// identities (edges cannot enroll). It exists to measure what TLS
	// costs; never use it across hosts.
	Disable bool `yaml:"disable"`
	// JoinToken (an origin-role token from `strata cluster join-token
	// --role origin`) and CAFingerprint enroll a joining origin; the
	// fingerprint pins the cluster CA the way kubeadm join does.
	JoinToken     string `yaml:"join_token"`
	CAFingerprint string `yaml:"ca_fingerprint"`
	// CertValidity is the life of node certificates this origin issues
	// (default and maximum 7 days); they renew after two thirds of it.
	CertValidity time.Duration `yaml:"cert_validity"`
}

// modeCluster is api.tls.mode's default: the API shows everyone the
// origin's cluster certificate.
const modeCluster certs.Mode = "cluster"

// apiTLS is the API listener's TLS config: client certificates are
// optional and checked against the cluster CA; cluster clients (asking
// for pki.ServerName) get the cluster certificate, others the one
// api.tls names.
func (o *Origin) apiTLS(hosts []string) (*tls.Config, error) {
	base := o.node.ServerConfig(nil)
	if o.cfg.API.TLS.Effective(modeCluster) == modeCluster {
		return base, nil
	}
	src, err := certs.FromConfig(o.cfg.API.TLS, certs.Deps{Logger: o.log, Hosts: hosts})
	if err != nil {
		return nil, fmt.Errorf("api.tls: %w", err)
	}
	o.public = src
	cfg := certs.Apply(base, src)
	public := cfg.GetCertificate
	cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if hello.ServerName == pki.ServerName {
			return o.node.Certificate(), nil
		}
		return public(hello)
	}
	return cfg, nil
}

// DefaultCertValidity is the life of node certificates.
const DefaultCertValidity = pki.MaxNodeValidity

func (c *PKIConfig) validity() time.Duration {
	if c.CertValidity <= 0 {
		return DefaultCertValidity
	}
	return c.CertValidity
}

// enrollTimeout bounds how long a joining origin tries to enroll before
// New gives up with the last error.
const enrollTimeout = 2 * time.Minute

// pkiDir holds this origin's certificate, key and the CA certificate
// (and, on a bootstrap origin until the registry holds it, the CA key).
func (o *Origin) pkiDir() string { return filepath.Join(o.cfg.DataDir, "pki") }

// caKeyFile is where a bootstrap origin keeps the CA key until the
// registry has committed it.
func (o *Origin) caKeyFile() string { return filepath.Join(o.pkiDir(), "ca.key") }

// openPKI loads this origin's certificate, or makes the cluster CA (on
// bootstrap) or enrolls with a join token (when joining).
func (o *Origin) openPKI(hosts []string) error {
	if o.cfg.PKI.Disable {
		o.log.Warn("pki.disable is set: Raft, forwarding and the API run in plaintext without node identities")
		return nil
	}
	h, err := pki.LoadNode(o.pkiDir())
	switch {
	case err == nil:
		if id := h.Identity(); id != (pki.Identity{Role: pki.RoleOrigin, NodeID: o.cfg.NodeID}) {
			return fmt.Errorf("pki: %s holds a certificate for %s, not origin %s", o.pkiDir(), id, o.cfg.NodeID)
		}
		o.node = h
		return nil
	case !pki.IsNotExist(err):
		return err
	case o.cfg.Bootstrap:
		return o.bootstrapCA(hosts)
	default:
		return o.enroll()
	}
}

// bootstrapCA makes the cluster CA and this origin's certificate. The CA
// key stays in the data dir until this origin, as leader, commits it to
// the registry; then the file is removed.
func (o *Origin) bootstrapCA(hosts []string) error {
	ca, err := pki.NewCA(o.cfg.NodeID, time.Now())
	if err != nil {
		return err
	}
	if err := pki.WriteFile(o.caKeyFile(), ca.KeyPEM()); err != nil {
		return err
	}
	certPEM, keyPEM, err := pki.IssueLocal(ca, pki.Identity{Role: pki.RoleOrigin, NodeID: o.cfg.NodeID}, hosts, o.cfg.PKI.validity())
	if err != nil {
		return err
	}
	if err := pki.SaveNode(o.pkiDir(), certPEM, keyPEM, ca.CertPEM()); err != nil {
		return err
	}
	if o.node, err = pki.NewHolder(ca.Cert, certPEM, keyPEM); err != nil {
		return err
	}
	o.log.Info("created the cluster CA", "fingerprint", ca.Fingerprint(), "ca_file", filepath.Join(o.pkiDir(), pki.FileCA))
	return nil
}

// enroll trades the join token for a certificate at one of the origins
// to join, trusting them only if their CA has the pinned fingerprint.
func (o *Origin) enroll() error {
	if o.cfg.PKI.JoinToken == "" || o.cfg.PKI.CAFingerprint == "" {
		return fmt.Errorf("%w: pki.join_token and pki.ca_fingerprint: a joining origin needs an origin join token and the cluster CA's fingerprint (strata cluster join-token --role origin prints both)", registry.ErrInvalid)
	}
	ctx, cancel := context.WithTimeout(o.ctx, enrollTimeout)
	defer cancel()
	c := api.New(o.cfg.PKI.JoinToken, o.cfg.Join...).WithTLS(pki.PinnedConfig(o.cfg.PKI.CAFingerprint))
	h, err := pki.Enroll(ctx, c, pki.Identity{Role: pki.RoleOrigin, NodeID: o.cfg.NodeID}, o.cfg.PKI.CAFingerprint, o.pkiDir(), o.log)
	if err != nil {
		return err
	}
	// Its own addresses join its certificate when it renews locally.
	o.node = h
	return nil
}

// caCache keeps the parsed registry CA so signing does not parse PEM on
// every renewal.
type caCache struct {
	mu sync.Mutex
	id string
	ca *pki.CA
}

// clusterCA is the CA this origin signs with: the registry's, or before
// the bootstrap leader has committed it, the key in the data dir.
func (o *Origin) clusterCA() (*pki.CA, error) {
	if o.node == nil {
		return nil, errors.New("pki is disabled")
	}
	if rc, ok := o.reg.State().ClusterCA(); ok {
		o.caCache.mu.Lock()
		defer o.caCache.mu.Unlock()
		if o.caCache.id != rc.ID {
			ca, err := pki.ParseCA(rc.CertPEM, rc.KeyPEM)
			if err != nil {
				return nil, fmt.Errorf("registry CA: %w", err)
			}
			o.caCache.id, o.caCache.ca = rc.ID, ca
		}
		return o.caCache.ca, nil
	}
	keyPEM, err := os.ReadFile(o.caKeyFile())
	if err != nil {
		return nil, fmt.Errorf("the registry holds no cluster CA yet: %w", err)
	}
	return pki.ParseCA(pki.CertPEM(o.node.CA().Raw), keyPEM)
}

// commitCA stores the bootstrap origin's CA in the registry, then
// removes its key file: from then on the key lives only in the
// replicated registry.
func (o *Origin) commitCA(ctx context.Context) error {
	if o.node == nil {
		return nil
	}
	if _, ok := o.reg.State().ClusterCA(); ok {
		return o.dropCAKeyFile()
	}
	keyPEM, err := os.ReadFile(o.caKeyFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil // a joined origin: the CA arrives with the registry
	}
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	_, err = o.reg.Apply(ctx, &registry.SetClusterCA{CA: registry.ClusterCA{
		ID: pki.Fingerprint(o.node.CA()), CertPEM: pki.CertPEM(o.node.CA().Raw), KeyPEM: keyPEM, Meta: registry.Meta{CreatedAt: now},
	}})
	if err != nil && !errors.Is(err, registry.ErrAlreadyExists) {
		return err
	}
	return o.dropCAKeyFile()
}

func (o *Origin) dropCAKeyFile() error {
	if err := os.Remove(o.caKeyFile()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// renewOwn issues this origin a new certificate from the cluster CA it
// holds: origins renew locally, edges through the API.
func (o *Origin) renewOwn(hosts []string) pki.RenewFunc {
	return func(_ context.Context, csr []byte) ([]byte, error) {
		ca, err := o.clusterCA()
		if err != nil {
			return nil, err
		}
		return ca.Sign(csr, pki.Identity{Role: pki.RoleOrigin, NodeID: o.cfg.NodeID}, hosts, o.cfg.PKI.validity(), time.Now())
	}
}

// certHosts are the names and addresses this origin's certificate lists,
// for TLS clients that check host names.
func certHosts(addrs ...string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	for _, a := range addrs {
		if h, _, err := net.SplitHostPort(a); err == nil && h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// parseCSR reads a PEM certificate request.
func parseCSR(s string) ([]byte, error) {
	blk, _ := pem.Decode([]byte(s))
	if blk == nil || blk.Type != "CERTIFICATE REQUEST" {
		return nil, badRequest("csr: want a PEM CERTIFICATE REQUEST")
	}
	if _, err := x509.ParseCertificateRequest(blk.Bytes); err != nil {
		return nil, badRequest("csr: %v", err)
	}
	return blk.Bytes, nil
}
