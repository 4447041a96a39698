package pki

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
)

func newCA(t *testing.T) *CA {
	t.Helper()
	ca, err := NewCA("test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func holder(t *testing.T, ca *CA, id Identity, validity time.Duration) *Holder {
	t.Helper()
	h, err := ca.Holder(id, []string{"127.0.0.1"}, validity)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// serve accepts TLS connections with cfg and echoes one line each.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, io.LimitReader(c, 5))
			}()
		}
	}()
	return ln.Addr().String()
}

func dial(addr string, cfg *tls.Config) error {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte("hello")); err != nil {
		return err
	}
	buf := make([]byte, 5)
	_, err = io.ReadFull(c, buf) // TLS 1.3 reports a refused client certificate here
	return err
}

func TestMutualTLSAcceptsOnlyClusterPeersWithTheRightRole(t *testing.T) {
	ca := newCA(t)
	origin := holder(t, ca, Identity{RoleOrigin, "o1"}, time.Hour)
	addr := serve(t, origin.ServerConfig(RolesOf(RoleOrigin)))

	peer := holder(t, ca, Identity{RoleOrigin, "o2"}, time.Hour)
	if err := dial(addr, peer.ClientConfig(RolesOf(RoleOrigin))); err != nil {
		t.Fatalf("origin peer refused: %v", err)
	}
	edge := holder(t, ca, Identity{RoleEdge, "e1"}, time.Hour)
	if err := dial(addr, edge.ClientConfig(RolesOf(RoleOrigin))); err == nil {
		t.Fatal("an edge certificate was accepted where only origins may connect")
	}
	if err := dial(addr, edge.ClientConfig(RolesOf(RoleEdge))); err == nil {
		t.Fatal("the client accepted an origin where it wanted an edge")
	}
	stranger := holder(t, newCA(t), Identity{RoleOrigin, "o1"}, time.Hour)
	if err := dial(addr, stranger.ClientConfig(RolesOf(RoleOrigin))); err == nil {
		t.Fatal("a certificate from another CA was accepted")
	}
	plain := &tls.Config{InsecureSkipVerify: true}
	if err := dial(addr, plain); err == nil {
		t.Fatal("a client without a certificate was accepted")
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("plaintext\r\n\r\n"))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _ := io.ReadFull(c, make([]byte, 5)); n == 5 {
		t.Fatal("a plaintext client got an echo")
	}
}

func TestExpiredCertificateRefused(t *testing.T) {
	ca := newCA(t)
	srv := holder(t, ca, Identity{RoleOrigin, "o1"}, time.Hour)
	addr := serve(t, srv.ServerConfig(RolesOf(RoleEdge)))
	// A certificate issued two hours ago for one hour: Set refuses it, so
	// the test builds the holder by hand, as a node that missed its
	// renewals would have it.
	key, _ := NewKey()
	csr, _ := NewCSR(key, Identity{RoleEdge, "e1"})
	certPEM, err := ca.Sign(csr, Identity{RoleEdge, "e1"}, nil, time.Hour, time.Now().Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewHolder(ca.Cert, certPEM, KeyPEM(key)); !errors.Is(err, ErrCertExpired) {
		t.Fatalf("holder took an expired certificate: %v", err)
	}
	c, err := tls.X509KeyPair(certPEM, KeyPEM(key))
	if err != nil {
		t.Fatal(err)
	}
	stale := &Holder{ca: ca.Cert, roots: srv.Roots()}
	stale.cert.Store(&c)
	if err := dial(addr, stale.ClientConfig(RolesOf(RoleOrigin))); err == nil {
		t.Fatal("an expired certificate was accepted")
	}
	fresh := holder(t, ca, Identity{RoleEdge, "e1"}, time.Hour)
	if err := dial(addr, fresh.ClientConfig(RolesOf(RoleOrigin))); err != nil {
		t.Fatalf("fresh certificate refused: %v", err)
	}
}

func TestPinnedConfigChecksTheFingerprint(t *testing.T) {
	ca := newCA(t)
	srv := holder(t, ca, Identity{RoleOrigin, "o1"}, time.Hour)
	addr := serve(t, srv.ServerConfig(nil))
	if err := dial(addr, PinnedConfig(ca.Fingerprint())); err != nil {
		t.Fatalf("right pin refused: %v", err)
	}
	if err := dial(addr, PinnedConfig(newCA(t).Fingerprint())); !errors.Is(err, ErrFingerprint) && err == nil {
		t.Fatal("a wrong pin was accepted")
	}
	if err := dial(addr, TrustConfig(ca.Cert)); err != nil {
		t.Fatalf("trusting the CA: %v", err)
	}
}

func TestRenewerSwapsTheCertificateAndSavesIt(t *testing.T) {
	ca := newCA(t)
	id := Identity{RoleEdge, "e1"}
	h := holder(t, ca, id, 3*time.Second) // renews after about 2 s (times have 1 s resolution)
	dir := filepath.Join(t.TempDir(), "pki")
	first := h.Certificate().Leaf.SerialNumber
	renewed := make(chan struct{}, 8)
	r := NewRenewer(RenewerConfig{Holder: h, Dir: dir, Renew: func(_ context.Context, csr []byte) ([]byte, error) {
		defer func() { renewed <- struct{}{} }()
		return ca.Sign(csr, id, nil, time.Hour, time.Now())
	}})
	defer r.Close(context.Background())
	select {
	case <-renewed:
	case <-time.After(30 * time.Second):
		t.Fatal("no renewal")
	}
	var got *Holder
	poll.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		if h.Certificate().Leaf.SerialNumber.Cmp(first) == 0 {
			return errors.New("certificate not swapped")
		}
		var err error
		if got, err = LoadNode(dir); err != nil {
			return err
		}
		if got.Certificate().Leaf.SerialNumber.Cmp(first) == 0 {
			return errors.New("renewed certificate not saved")
		}
		return nil
	})
	if got.Identity() != id {
		t.Fatalf("saved identity %v", got.Identity())
	}
	for _, name := range []string{"", FileCA, FileNode} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o600)
		if name == "" {
			want = 0o700 | os.ModeDir
		}
		if st.Mode() != want {
			t.Errorf("%s: mode %v, want %v", name, st.Mode(), want)
		}
	}
}

func TestSignIgnoresTheRequestedName(t *testing.T) {
	ca := newCA(t)
	key, _ := NewKey()
	csr, err := NewCSR(key, Identity{RoleOrigin, "evil"})
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.Sign(csr, Identity{RoleEdge, "e1"}, nil, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, _ := ParseCertificate(certPEM)
	if id, _ := IdentityOf(c); id != (Identity{RoleEdge, "e1"}) {
		t.Fatalf("identity %v", id)
	}
	// A standard client verifies it by the reserved name.
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, DNSName: ServerName}); err != nil {
		t.Fatalf("verify as %s: %v", ServerName, err)
	}
	if _, err := ca.Sign(csr, Identity{RoleEdge, "e1"}, nil, 8*24*time.Hour, time.Now()); !errors.Is(err, ErrValidity) {
		t.Fatalf("validity over a week: %v", err)
	}
	if _, err := ca.Sign([]byte("junk"), Identity{RoleEdge, "e1"}, nil, time.Hour, time.Now()); !errors.Is(err, ErrBadCSR) {
		t.Fatalf("junk CSR: %v", err)
	}
	if _, err := ca.Sign(csr, Identity{RoleEdge, "a/b"}, nil, time.Hour, time.Now()); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("bad node ID: %v", err)
	}
}
