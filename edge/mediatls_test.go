package edge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/quic-go/quic-go"

	"github.com/strata-edge/strata/internal/certs"
	"github.com/strata-edge/strata/internal/certs/acmetest"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// startTLSMedia starts the media plane alone with the given certificate
// configuration: no origin (token keys are never needed here) and no
// cluster certificate (no relaying).
func startTLSMedia(t *testing.T, tc certs.Config) *mediaServer {
	t.Helper()
	cfg := MediaConfig{QUICAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", WebRTCAddr: "127.0.0.1:0", TLS: tc}
	noOrigin := fakeClient(func(*http.Request) (*http.Response, error) { return nil, errors.New("no origin in this test") })
	m, err := startMedia(cfg, "edge-1", "local", nil, noOrigin, testLogger(t), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.close)
	return m
}

// mediaLeaves handshakes with the WHIP/WHEP HTTPS listener and the MoQ
// QUIC listener as serverName and returns both certificates, verified
// against roots (not verified if roots is nil).
func mediaLeaves(m *mediaServer, serverName string, roots *x509.CertPool) (https, moq *x509.Certificate, err error) {
	a := m.addrs()
	conf := &tls.Config{ServerName: serverName, RootCAs: roots, InsecureSkipVerify: roots == nil}
	conn, err := tls.Dial("tcp", a.WHIP, conf)
	if err != nil {
		return nil, nil, fmt.Errorf("https: %w", err)
	}
	https = conn.ConnectionState().PeerCertificates[0]
	_ = conn.Close()
	qconf := conf.Clone()
	qconf.NextProtos = []string{wire.ALPNDraft14}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	qc, err := quic.DialAddr(ctx, a.QUIC, qconf, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("quic: %w", err)
	}
	moq = qc.ConnectionState().TLS.PeerCertificates[0]
	_ = qc.CloseWithError(0, "")
	return https, moq, nil
}

// embedPage is the player page the edge serves for a session.
func embedPage(t *testing.T, m *mediaServer) string {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer c.CloseIdleConnections()
	res, err := c.Get("https://" + m.addrs().WHIP + "/embed/s1?token=t")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("embed page: %d %v", res.StatusCode, err)
	}
	return string(b)
}

// servingSerial waits until both media listeners present serial.
func servingSerial(t *testing.T, m *mediaServer, serverName string, roots *x509.CertPool, serial string) {
	t.Helper()
	poll.For(t, 30*time.Second, 20*time.Millisecond, func() error {
		h, q, err := mediaLeaves(m, serverName, roots)
		if err != nil {
			return err
		}
		if h.SerialNumber.String() != serial || q.SerialNumber.String() != serial {
			return fmt.Errorf("serving https %s, moq %s; want %s", h.SerialNumber, q.SerialNumber, serial)
		}
		return nil
	})
}

// TestMediaTLSSelfSignedIsPinned: the development default pins the
// certificate's hash in the player page.
func TestMediaTLSSelfSignedIsPinned(t *testing.T) {
	m := startTLSMedia(t, certs.Config{})
	sum, ok := m.CertSHA256()
	if !ok {
		t.Fatal("self-signed media certificate has no hash to pin")
	}
	if page := embedPage(t, m); !strings.Contains(page, `cert-hash="`+hex.EncodeToString(sum[:])+`"`) {
		t.Fatalf("embed page does not pin the certificate:\n%s", page)
	}
}

// TestMediaTLSOperatorFiles: the media listeners serve the operator's
// files and pick up replaced files without a restart; the player does
// not pin them.
func TestMediaTLSOperatorFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "media.crt"), filepath.Join(dir, "media.key")
	write := func() string {
		c, err := certs.SelfSigned([]string{"media.example"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.WriteFiles(certFile, keyFile); err != nil {
			t.Fatal(err)
		}
		return c.Leaf.SerialNumber.String()
	}
	first := write()
	m := startTLSMedia(t, certs.Config{Mode: certs.ModeFiles, CertFile: certFile, KeyFile: keyFile, Reload: 10 * time.Millisecond})
	servingSerial(t, m, "media.example", nil, first)
	if _, ok := m.CertSHA256(); ok {
		t.Error("operator certificate offered for pinning")
	}
	if page := embedPage(t, m); strings.Contains(page, "cert-hash") {
		t.Errorf("embed page pins an operator certificate:\n%s", page)
	}
	servingSerial(t, m, "media.example", nil, write())
}

// TestMediaTLSACME: with mode acme the edge gets a certificate from the
// in-process ACME CA, answering TLS-ALPN-01 on its WHIP/WHEP listener,
// and serves it on both media listeners; the player does not pin it.
func TestMediaTLSACME(t *testing.T) {
	ca := acmetest.New(t, acmetest.Options{})
	m := startTLSMedia(t, certs.Config{Mode: certs.ModeACME, ACME: certs.ACMEConfig{
		DirectoryURL: ca.Directory(), CAFile: ca.CAFile(), Domains: []string{acmetest.Domain},
		CacheDir: filepath.Join(t.TempDir(), "acme")}})
	ca.ALPN01.To(m.addrs().WHIP)
	var serial string
	poll.For(t, 60*time.Second, 50*time.Millisecond, func() error {
		h, _, err := mediaLeaves(m, acmetest.Domain, ca.Roots())
		if err != nil {
			return err
		}
		serial = h.SerialNumber.String()
		return nil
	})
	servingSerial(t, m, acmetest.Domain, ca.Roots(), serial)
	if _, ok := m.CertSHA256(); ok {
		t.Error("ACME certificate offered for pinning")
	}
	if page := embedPage(t, m); strings.Contains(page, "cert-hash") {
		t.Errorf("embed page pins an ACME certificate:\n%s", page)
	}
}
