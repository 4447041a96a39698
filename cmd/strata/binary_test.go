package main

import (
	"context"
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/poll"
)

// buildBinary builds the strata binary into a temporary directory, which
// it returns with the binary's path; tests run their nodes' data there.
func buildBinary(t *testing.T) (dir, bin string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	dir = t.TempDir()
	bin = filepath.Join(dir, "strata")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return dir, bin
}

// joinBootstrap waits for a bootstrap origin's CA file and makes a join
// token for role through its API: the trust config for its clients and
// the token new nodes enroll with.
func joinBootstrap(t *testing.T, caFile, apiAddr, adminToken string, role api.NodeRole) (*tls.Config, *api.CreatedJoinToken) {
	t.Helper()
	var trust *tls.Config
	var join *api.CreatedJoinToken
	poll.For(t, 30*time.Second, 20*time.Millisecond, func() error {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return err
		}
		ca, err := pki.ParseCertificate(b)
		if err != nil {
			return err
		}
		trust = pki.TrustConfig(ca)
		join, err = api.New(adminToken, apiAddr).WithTLS(trust).Cluster().CreateJoinToken(context.Background(), api.JoinTokenCreate{Name: string(role) + "s", Role: role})
		return err
	})
	return trust, join
}
