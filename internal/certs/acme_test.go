package certs

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
)

// port is the numeric port of a host:port.
func port(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func waitIssued(t *testing.T, a *ACME) {
	t.Helper()
	select {
	case <-a.Issued():
	case <-time.After(60 * time.Second):
		t.Fatal("no ACME certificate within 60s")
	}
}

func closeSource(t *testing.T, s Source) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
}

// TestACMEIssuesWithTLSALPN01 gets a certificate from the in-process CA,
// which validates by a TLS-ALPN-01 handshake with the listener the source
// serves, then serves it from the cache after a restart with the CA gone.
func TestACMEIssuesWithTLSALPN01(t *testing.T) {
	ca := newTestCA(t)
	ln, err := net.Listen("tcp", net.JoinHostPort(loopback(t), "0"))
	if err != nil {
		t.Fatal(err)
	}
	ca.serve(0, port(t, ln.Addr().String()), 0)
	cacheDir := filepath.Join(t.TempDir(), "acme")
	cfg := ACMEConfig{DirectoryURL: ca.directory(), Email: "ops@example.com", Domains: []string{"localhost"},
		CacheDir: cacheDir, CAFile: ca.caFile}
	a, err := NewACME(cfg, Deps{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeSource(t, a)
	if _, err := a.GetCertificate(&tls.ClientHelloInfo{ServerName: "localhost"}); err == nil {
		t.Fatal("a certificate before any issuance")
	}
	serveTLS(t, ln, ServerTLS(a))
	a.Start()
	waitIssued(t, a)

	leaf, err := peerLeaf(ln.Addr().String(), "localhost", ca.roots())
	if err != nil {
		t.Fatalf("handshake verified against the test CA: %v", err)
	}
	t.Logf("issued serial %s, not after %s", leaf.SerialNumber, leaf.NotAfter)

	// Secrets on disk: 0700 directory, 0600 files.
	if fi, err := os.Stat(cacheDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cache dir: %v, mode %v; want 0700", err, fi.Mode().Perm())
	}
	for _, f := range []string{accountKeyFile, certificateFile} {
		if fi, err := os.Stat(filepath.Join(cacheDir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v; want a 0600 file", f, err)
		}
	}

	// A restart serves the cached certificate before (and without) any
	// contact with the CA.
	closeSource(t, a)
	cfg.DirectoryURL = "https://127.0.0.1:1/directory"
	b, err := NewACME(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeSource(t, b)
	select {
	case <-b.Issued():
	default:
		t.Fatal("cached certificate not loaded")
	}
	c, err := b.GetCertificate(&tls.ClientHelloInfo{ServerName: "localhost"})
	if err != nil || c.Leaf.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Fatalf("after restart: %v, serial %v; want the cached %s", err, c, leaf.SerialNumber)
	}
}

// TestACMERenewsWithHTTP01 answers HTTP-01 on its own listener and
// renews a short-lived certificate before it expires, while the TLS
// listener keeps serving.
func TestACMERenewsWithHTTP01(t *testing.T) {
	ca := newTestCA(t)
	host := loopback(t)
	a, err := NewACME(ACMEConfig{DirectoryURL: ca.directory(), Domains: []string{"localhost"},
		CacheDir: filepath.Join(t.TempDir(), "acme"), CAFile: ca.caFile,
		HTTPAddr: net.JoinHostPort(host, "0")}, Deps{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeSource(t, a)
	a.retryMin = 100 * time.Millisecond
	// Six-second certificates: renewed a third of their life before
	// expiry, two seconds after issuance.
	ca.serve(port(t, a.Addr()), 0, 6)
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	serveTLS(t, ln, ServerTLS(a))
	a.Start()
	waitIssued(t, a)
	first, err := peerLeaf(ln.Addr().String(), "localhost", nil)
	if err != nil {
		t.Fatal(err)
	}
	poll.For(t, 30*time.Second, 50*time.Millisecond, func() error {
		leaf, err := peerLeaf(ln.Addr().String(), "localhost", nil)
		if err != nil {
			return err
		}
		if leaf.SerialNumber.Cmp(first.SerialNumber) == 0 {
			return errors.New("certificate not renewed yet")
		}
		if !leaf.NotAfter.After(first.NotAfter) {
			t.Fatalf("renewed certificate expires %s, not after the first's %s", leaf.NotAfter, first.NotAfter)
		}
		return nil
	})
	if time.Now().After(first.NotAfter) {
		t.Errorf("renewed only after the first certificate expired")
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}
