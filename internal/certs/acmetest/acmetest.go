// Package acmetest runs an in-process ACME CA for tests: pebble's CA,
// validation authority and web front end, serving the directory over
// HTTPS on loopback. The validation authority connects to two loopback
// listeners of the harness, one for http-01 and one for tls-alpn-01,
// which forward each connection to the address a test routes them to:
// real challenges over real sockets, to listeners whose ports are known
// only once the code under test has started. Imported only by tests.
package acmetest

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
)

// Domain is the name tests order certificates for: it resolves to
// loopback, where the validation authority connects.
const Domain = "localhost"

// routeWait bounds how long a validation connection waits for a route.
const routeWait = 30 * time.Second

// CA is a running in-process ACME CA.
type CA struct {
	srv    *httptest.Server
	caFile string
	ca     *ca.CAImpl
	HTTP01 *Route // where http-01 validations go
	ALPN01 *Route // where tls-alpn-01 validations go
}

// Options tune the CA.
type Options struct {
	// ValiditySec is how long issued certificates last; 0 means 90 days.
	ValiditySec uint64
}

// New starts a CA that lives until t ends.
func New(t testing.TB, o Options) *CA {
	t.Helper()
	// No random validation delays, no rejected nonces, and every order
	// validates afresh.
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	t.Setenv("PEBBLE_AUTHZREUSE", "0")
	addrs, err := net.DefaultResolver.LookupHost(context.Background(), Domain)
	if err != nil || len(addrs) == 0 {
		t.Fatalf("acmetest: resolve %s: %v %v", Domain, addrs, err)
	}
	c := &CA{HTTP01: newRoute(t, addrs[0]), ALPN01: newRoute(t, addrs[0])}

	logger := log.New(io.Discard, "", 0)
	store := db.NewMemoryStore()
	c.ca = ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {ValidityPeriod: o.ValiditySec}})
	v := va.New(logger, c.HTTP01.port, c.ALPN01.port, false, "", store)
	w := wfe.New(logger, store, v, c.ca, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	c.srv = httptest.NewTLSServer(w.Handler())
	t.Cleanup(c.srv.Close)

	c.caFile = filepath.Join(t.TempDir(), "acme-directory-ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.srv.Certificate().Raw})
	if err := os.WriteFile(c.caFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// Directory is the ACME directory URL.
func (c *CA) Directory() string { return c.srv.URL + wfe.DirectoryPath }

// CAFile is a PEM file trusting the directory's HTTPS certificate.
func (c *CA) CAFile() string { return c.caFile }

// Roots trusts the certificates the CA issues.
func (c *CA) Roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.ca.GetRootCert(0).Cert)
	return p
}

// Route is a loopback listener forwarding each connection to a target
// set with To; connections arriving before that wait for it.
type Route struct {
	ln   net.Listener
	port int

	mu     sync.Mutex
	target string
	set    chan struct{}
	conns  map[net.Conn]struct{}
	stop   chan struct{}
	wg     sync.WaitGroup
}

func newRoute(t testing.TB, host string) *Route {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	port, _ := strconv.Atoi(p)
	r := &Route{ln: ln, port: port, set: make(chan struct{}), stop: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	r.wg.Go(r.accept)
	t.Cleanup(r.close)
	return r
}

// To sends validations to addr (host:port); only the first call counts.
func (r *Route) To(addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.target == "" {
		r.target = addr
		close(r.set)
	}
}

func (r *Route) accept() {
	for {
		in, err := r.ln.Accept()
		if err != nil {
			return
		}
		if !r.track(in) {
			_ = in.Close()
			return
		}
		r.wg.Go(func() { r.forward(in) })
	}
}

// track records c so close can end it; false once closed.
func (r *Route) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conns == nil {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *Route) forward(in net.Conn) {
	defer in.Close()
	select {
	case <-r.set:
	case <-r.stop:
		return
	case <-time.After(routeWait):
		return
	}
	r.mu.Lock()
	target := r.target
	r.mu.Unlock()
	out, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	if !r.track(out) {
		_ = out.Close()
		return
	}
	defer out.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(out, in)
		if tc, ok := out.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		close(done)
	}()
	_, _ = io.Copy(in, out)
	_ = in.Close()
	<-done
}

// close stops accepting and ends every forwarded connection.
func (r *Route) close() {
	_ = r.ln.Close()
	close(r.stop)
	r.mu.Lock()
	for c := range r.conns {
		_ = c.Close()
	}
	r.conns = nil
	r.mu.Unlock()
	r.wg.Wait()
}
