package edge

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/pki"
)

// enrollTimeout bounds a first start's enrollment: an edge without a
// certificate cannot do anything until an origin issues one.
const enrollTimeout = 2 * time.Minute

func (e *Edge) pkiDir() string { return pkiDir(e.cfg) }

func pkiDir(cfg Config) string { return filepath.Join(cfg.DataDir, "pki") }

// enroll loads the edge's certificate from its data dir, or, on a first
// start, trades the join token for one, trusting only origins whose CA
// has the configured fingerprint.
func enroll(cfg Config, log *slog.Logger) (*pki.Holder, error) {
	want := pki.Identity{Role: pki.RoleEdge, NodeID: cfg.NodeID}
	h, err := pki.LoadNode(pkiDir(cfg))
	switch {
	case err == nil:
		if h.Identity() != want {
			return nil, fmt.Errorf("%w: %s holds a certificate for %s, not %s", ErrInvalid, pkiDir(cfg), h.Identity(), want)
		}
		return h, nil
	case !pki.IsNotExist(err):
		return nil, err
	case cfg.Token == "" || cfg.CAFingerprint == "":
		return nil, fmt.Errorf("%w: token and ca_fingerprint: this edge has no certificate in %s yet; give the join token and CA fingerprint that `strata cluster join-token` prints", ErrInvalid, pkiDir(cfg))
	}
	ctx, cancel := context.WithTimeout(context.Background(), enrollTimeout)
	defer cancel()
	c := api.New(cfg.Token, cfg.Join...).WithTLS(pki.PinnedConfig(cfg.CAFingerprint))
	h, err = pki.Enroll(ctx, c, want, cfg.CAFingerprint, pkiDir(cfg), log)
	if err != nil {
		return nil, err
	}
	log.Info("enrolled; certificate saved", "dir", pkiDir(cfg), "expires", h.NotAfter())
	return h, nil
}
