package pki

import (
	"context"
	"crypto/ecdsa"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/strata-edge/strata/api"
)

// CSRPEM wraps a DER certificate request in PEM, as the API carries it.
func CSRPEM(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// Enroll asks the origins behind c (a client holding the join token and
// trusting only a CA with the pinned fingerprint, see PinnedConfig) for a
// certificate naming id, retrying while they cannot answer until ctx
// ends, and saves it in dir. Origins and edges join this way.
func Enroll(ctx context.Context, c *api.Client, id Identity, pin, dir string, log *slog.Logger) (*Holder, error) {
	key, err := NewKey()
	if err != nil {
		return nil, err
	}
	csr, err := NewCSR(key, id)
	if err != nil {
		return nil, err
	}
	req := api.EnrollRequest{NodeID: id.NodeID, CSR: CSRPEM(csr)}
	backoff := 200 * time.Millisecond
	for {
		nc, err := c.Cluster().Enroll(ctx, req)
		if err == nil {
			return saveIssued(nc, key, pin, dir)
		}
		if api.StatusOf(err) != 0 && !api.Retryable(err) || errors.Is(err, ErrFingerprint) || errors.Is(err, ErrUntrusted) {
			// The origins said no, or are not the cluster we were told
			// to trust: retrying cannot help.
			return nil, fmt.Errorf("enroll as %s: %w", id, err)
		}
		log.Warn("enrollment failed; retrying", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("enroll as %s: %w (last error: %w)", id, ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// saveIssued checks an issued certificate against the pin and the key,
// then stores it.
func saveIssued(nc *api.NodeCertificate, key *ecdsa.PrivateKey, pin, dir string) (*Holder, error) {
	ca, err := ParseCertificate([]byte(nc.CA))
	if err != nil {
		return nil, fmt.Errorf("enroll: the CA sent: %w", err)
	}
	if !MatchFingerprint(ca, pin) {
		return nil, fmt.Errorf("enroll: %w: got %s", ErrFingerprint, Fingerprint(ca))
	}
	keyPEM := KeyPEM(key)
	h, err := NewHolder(ca, []byte(nc.Certificate), keyPEM)
	if err != nil {
		return nil, err
	}
	if err := SaveNode(dir, []byte(nc.Certificate), keyPEM, []byte(nc.CA)); err != nil {
		return nil, err
	}
	return h, nil
}

// APIRenewer renews a node certificate through the origins' API: c must
// present the node's current certificate (see Holder.ClientConfig).
func APIRenewer(c *api.Client) RenewFunc {
	return func(ctx context.Context, csr []byte) ([]byte, error) {
		nc, err := c.Cluster().Renew(ctx, api.RenewRequest{CSR: CSRPEM(csr)})
		if err != nil {
			return nil, err
		}
		return []byte(nc.Certificate), nil
	}
}
