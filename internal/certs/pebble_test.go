package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
)

// testCA is an in-process ACME CA (pebble's CA, validation authority and
// web front end) serving its directory over HTTPS on loopback. Its
// validation authority connects to this machine's listeners on the ports
// given to serve, resolving names with the system resolver.
type testCA struct {
	srv     *httptest.Server
	handler atomic.Pointer[http.Handler]
	// caFile holds the directory's HTTPS certificate, for acme.ca_file.
	caFile string
	ca     *ca.CAImpl
}

// newTestCA starts the HTTPS directory; serve completes it.
func newTestCA(t *testing.T) *testCA {
	t.Helper()
	// No random validation delays, no rejected nonces, and every order
	// validates afresh.
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	t.Setenv("PEBBLE_AUTHZREUSE", "0")
	c := &testCA{}
	c.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := c.handler.Load()
		if h == nil {
			http.Error(w, "test CA not serving yet", http.StatusServiceUnavailable)
			return
		}
		(*h).ServeHTTP(w, r)
	}))
	t.Cleanup(c.srv.Close)
	c.caFile = filepath.Join(t.TempDir(), "acme-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.srv.Certificate().Raw})
	if err := os.WriteFile(c.caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// serve makes the CA validate http-01 on httpPort and tls-alpn-01 on
// tlsPort, issuing certificates valid for validitySec seconds.
func (c *testCA) serve(httpPort, tlsPort int, validitySec uint64) {
	logger := log.New(io.Discard, "", 0)
	store := db.NewMemoryStore()
	c.ca = ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {ValidityPeriod: validitySec}})
	v := va.New(logger, httpPort, tlsPort, false, "", store)
	w := wfe.New(logger, store, v, c.ca, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	h := w.Handler()
	c.handler.Store(&h)
}

func (c *testCA) directory() string { return c.srv.URL + wfe.DirectoryPath }

// roots trusts the certificates the CA issues.
func (c *testCA) roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.ca.GetRootCert(0).Cert)
	return p
}

// loopback is the address "localhost" resolves to first, where the
// validation authority will connect.
func loopback(t *testing.T) string {
	t.Helper()
	addrs, err := net.DefaultResolver.LookupHost(context.Background(), "localhost")
	if err != nil || len(addrs) == 0 {
		t.Fatalf("resolve localhost: %v %v", addrs, err)
	}
	return addrs[0]
}

// serveTLS accepts TLS connections on ln with conf, completing each
// handshake and closing the connection, until the test ends.
func serveTLS(t *testing.T, ln net.Listener, conf *tls.Config) {
	t.Helper()
	tln := tls.NewListener(ln, conf)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := tln.Accept()
			if err != nil {
				return
			}
			_ = conn.(*tls.Conn).Handshake()
			_ = conn.Close()
		}
	}()
	t.Cleanup(func() { _ = tln.Close(); <-done })
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
