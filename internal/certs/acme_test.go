package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/certs/acmetest"
	"github.com/strata-edge/strata/internal/poll"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// serveTLS accepts TLS connections on a loopback port with conf,
// completing each handshake and closing the connection, until the test
// ends. It returns the address.
func serveTLS(t *testing.T, conf *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", conf)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_ = conn.(*tls.Conn).Handshake()
			_ = conn.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	return ln.Addr().String()
}

// peerLeaf handshakes with addr as serverName and returns the server's
// certificate, verified against roots (or not verified if roots is nil).
func peerLeaf(addr, serverName string, roots *x509.CertPool) (*x509.Certificate, error) {
	conf := &tls.Config{ServerName: serverName, RootCAs: roots, InsecureSkipVerify: roots == nil, MinVersion: tls.VersionTLS13}
	conn, err := tls.Dial("tcp", addr, conf)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
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
	ca := acmetest.New(t, acmetest.Options{})
	cacheDir := filepath.Join(t.TempDir(), "acme")
	cfg := Config{Mode: ModeACME, ACME: ACMEConfig{DirectoryURL: ca.Directory(), Email: "ops@example.com",
		Domains: []string{acmetest.Domain}, CacheDir: cacheDir, CAFile: ca.CAFile()}}
	src, err := FromConfig(cfg, Deps{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeSource(t, src)
	a := src.(*ACME)
	if _, err := a.GetCertificate(&tls.ClientHelloInfo{ServerName: acmetest.Domain}); !errors.Is(err, ErrNotIssued) {
		t.Fatalf("before issuance: %v, want ErrNotIssued", err)
	}
	addr := serveTLS(t, ServerTLS(a))
	ca.ALPN01.To(addr)
	a.Start()
	waitIssued(t, a)

	leaf, err := peerLeaf(addr, acmetest.Domain, ca.Roots())
	if err != nil {
		t.Fatalf("handshake verified against the test CA: %v", err)
	}

	// Secrets on disk: 0700 directory, 0600 files.
	if fi, err := os.Stat(cacheDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cache dir: %v %v; want mode 0700", fi, err)
	}
	for _, f := range []string{accountKeyFile, certificateFile} {
		if fi, err := os.Stat(filepath.Join(cacheDir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v; want a 0600 file", f, fi, err)
		}
	}

	// A restart serves the cached certificate before (and without) any
	// contact with the CA.
	closeSource(t, a)
	cfg.ACME.DirectoryURL = "https://127.0.0.1:1/directory"
	b, err := NewACME(cfg.ACME, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeSource(t, b)
	select {
	case <-b.Issued():
	default:
		t.Fatal("cached certificate not loaded")
	}
	c, err := b.GetCertificate(&tls.ClientHelloInfo{ServerName: acmetest.Domain})
	if err != nil || c.Leaf.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Fatalf("after restart: %v; want the cached serial %s", err, leaf.SerialNumber)
	}
}

// TestACMERenewsWithHTTP01 answers HTTP-01 on its own listener and
// renews a short-lived certificate before it expires, while the TLS
// listener keeps serving.
func TestACMERenewsWithHTTP01(t *testing.T) {
	// Six-second certificates: renewed a third of their life before
	// expiry, about two seconds after issuance.
	ca := acmetest.New(t, acmetest.Options{ValiditySec: 6})
	a, err := NewACME(ACMEConfig{DirectoryURL: ca.Directory(), Domains: []string{acmetest.Domain},
		CacheDir: filepath.Join(t.TempDir(), "acme"), CAFile: ca.CAFile(), HTTPAddr: "127.0.0.1:0"},
		Deps{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeSource(t, a)
	a.retryMin = 100 * time.Millisecond
	ca.HTTP01.To(a.Addr())
	addr := serveTLS(t, ServerTLS(a))
	a.Start()
	waitIssued(t, a)
	first, err := peerLeaf(addr, acmetest.Domain, nil)
	if err != nil {
		t.Fatal(err)
	}
	poll.For(t, 30*time.Second, 50*time.Millisecond, func() error {
		leaf, err := peerLeaf(addr, acmetest.Domain, nil)
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

// TestApplyKeepsTheListenersConfig: a listener asking for client
// certificates (the origin API, where nodes present theirs) keeps asking
// once it serves an ACME certificate, and the CA's TLS-ALPN-01 handshake,
// which presents none, still validates.
func TestApplyKeepsTheListenersConfig(t *testing.T) {
	ca := acmetest.New(t, acmetest.Options{})
	a, err := NewACME(ACMEConfig{DirectoryURL: ca.Directory(), Domains: []string{acmetest.Domain},
		CacheDir: filepath.Join(t.TempDir(), "acme"), CAFile: ca.CAFile()}, Deps{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeSource(t, a)
	base := &tls.Config{MinVersion: tls.VersionTLS13, ClientAuth: tls.RequestClientCert}
	addr := serveTLS(t, Apply(base, a))
	ca.ALPN01.To(addr)
	a.Start()
	waitIssued(t, a)

	asked := false
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: acmetest.Domain, RootCAs: ca.Roots(),
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			asked = true
			return &tls.Certificate{}, nil
		}})
	if err != nil {
		t.Fatalf("handshake verified against the test CA: %v", err)
	}
	_ = conn.Close()
	if !asked {
		t.Error("the listener no longer asks for a client certificate")
	}
}
