package certs

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
)

// ACME timings.
const (
	// acmeIssueTimeout bounds one issuance: order, challenges, finalize.
	acmeIssueTimeout = 5 * time.Minute
	// acmeRetryMin and acmeRetryMax bound the backoff after a failure;
	// failed validations count against the CA's rate limits.
	acmeRetryMin = 10 * time.Second
	acmeRetryMax = time.Hour
)

// ACME is a certificate issued and renewed by an ACME CA (RFC 8555) for
// the configured domains. A cached certificate is served at once; a
// missing, mismatched or expiring one is (re)issued in the background,
// answering the CA's challenge with TLS-ALPN-01 on the listeners this
// source serves or, with http_addr, HTTP-01 on a plain-HTTP listener.
//
// Goroutines: run (issue, then sleep until renewal; stopped by Close)
// and, with http_addr, the HTTP-01 server. mu guards the certificate and
// the pending challenge answers; no other lock is taken under it.
type ACME struct {
	cfg      ACMEConfig
	log      *slog.Logger
	client   *acme.Client
	cache    *cacheDir
	retryMin time.Duration

	httpLn  net.Listener
	httpSrv *http.Server

	mu         sync.RWMutex
	cert       *tls.Certificate
	alpn       map[string]*tls.Certificate // tls-alpn-01 answers by domain
	tokens     map[string]string           // http-01 answers by path
	issued     chan struct{}               // closed when the first certificate is in
	issuedOnce sync.Once

	registered bool // touched only by run

	ctx    context.Context
	cancel context.CancelFunc
	start  sync.Once
	wg     sync.WaitGroup
}

// NewACME prepares the cache directory and the account key, loads a
// cached certificate if it still covers cfg.Domains, and opens the
// HTTP-01 listener if configured. Issuance waits for Start.
func NewACME(cfg ACMEConfig, deps Deps) (_ *ACME, err error) {
	if err := cfg.validate(func(key, format string, args ...any) error {
		return &ConfigError{Key: key, Reason: fmt.Sprintf(format, args...)}
	}); err != nil {
		return nil, err
	}
	a := &ACME{cfg: cfg, log: deps.logger().With("acme_domains", cfg.Domains), retryMin: acmeRetryMin,
		alpn: map[string]*tls.Certificate{}, tokens: map[string]string{}, issued: make(chan struct{})}
	a.cfg.Domains = make([]string, len(cfg.Domains))
	for i, d := range cfg.Domains {
		a.cfg.Domains[i] = strings.ToLower(d)
	}
	if a.cache, err = openCacheDir(cfg.CacheDir); err != nil {
		return nil, err
	}
	key, err := a.cache.accountKey()
	if err != nil {
		return nil, err
	}
	hc := deps.HTTPClient
	if hc == nil {
		if hc, err = httpClient(cfg.CAFile); err != nil {
			return nil, err
		}
	}
	dir := cfg.DirectoryURL
	if dir == "" {
		dir = acme.LetsEncryptURL
	}
	a.client = &acme.Client{Key: key, DirectoryURL: dir, HTTPClient: hc, UserAgent: "strata"}
	if c := a.cache.certificate(); c != nil && a.covers(c) {
		a.setCert(c)
		a.log.Info("ACME certificate loaded from cache", "not_after", c.Leaf.NotAfter)
	}
	if cfg.HTTPAddr != "" {
		if a.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return nil, fmt.Errorf("certs: acme.http_addr: %w", err)
		}
		a.httpSrv = &http.Server{Handler: http.HandlerFunc(a.serveHTTP01), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelDebug)}
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	return a, nil
}

// httpClient trusts caFile's roots, or the system's without one.
func httpClient(caFile string) (*http.Client, error) {
	if caFile == "" {
		return &http.Client{Timeout: time.Minute}, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("certs: acme.ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("certs: acme.ca_file %s: no PEM certificates", caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: time.Minute}, nil
}

// Addr is the HTTP-01 listener's address, or "" without one.
func (a *ACME) Addr() string {
	if a.httpLn == nil {
		return ""
	}
	return a.httpLn.Addr().String()
}

// Issued is closed once a certificate is served (cached or issued).
func (a *ACME) Issued() <-chan struct{} { return a.issued }

// GetCertificate presents the issued certificate, or the TLS-ALPN-01
// answer to a CA's validation handshake.
func (a *ACME) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if isChallengeHello(hello) {
		if c := a.alpn[strings.ToLower(hello.ServerName)]; c != nil {
			return c, nil
		}
		return nil, fmt.Errorf("certs: no tls-alpn-01 challenge pending for %q", hello.ServerName)
	}
	if a.cert == nil {
		return nil, ErrNotIssued
	}
	return a.cert, nil
}

// isChallengeHello reports a TLS-ALPN-01 validation handshake: one that
// offers only the acme-tls/1 protocol (RFC 8737).
func isChallengeHello(hello *tls.ClientHelloInfo) bool {
	return len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acme.ALPNProto
}

// challengeTLS is the server config for a TLS-ALPN-01 validation
// handshake: it must negotiate acme-tls/1.
func (a *ACME) challengeTLS() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{acme.ALPNProto}, GetCertificate: a.GetCertificate}
}

// serveHTTP01 answers /.well-known/acme-challenge/{token}; nothing else.
func (a *ACME) serveHTTP01(w http.ResponseWriter, r *http.Request) {
	a.mu.RLock()
	body, ok := a.tokens[r.URL.Path]
	a.mu.RUnlock()
	if !ok || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(body))
}

// Start begins issuance and renewal (and the HTTP-01 listener).
func (a *ACME) Start() {
	a.start.Do(func() {
		if a.httpSrv != nil {
			a.wg.Go(func() {
				if err := a.httpSrv.Serve(a.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
					a.log.Error("acme http-01 server stopped", "err", err)
				}
			})
		}
		a.wg.Go(a.run)
	})
}

// Close stops issuance and the HTTP-01 listener.
func (a *ACME) Close(ctx context.Context) error {
	a.cancel()
	a.start.Do(func() {}) // a later Start does nothing
	var err error
	if a.httpSrv != nil {
		if err = a.httpSrv.Shutdown(ctx); err != nil {
			_ = a.httpSrv.Close()
		}
		_ = a.httpLn.Close() // not tracked by the server if never served
	}
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.Join(err, ctx.Err())
	}
	a.client.HTTPClient.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("certs: acme close: %w", err)
	}
	return nil
}

// run issues when there is no usable certificate, then sleeps until the
// renewal time, retrying failures with a growing backoff.
func (a *ACME) run() {
	backoff := a.retryMin
	for {
		if !sleep(a.ctx, a.renewIn()) {
			return
		}
		if err := a.issue(); err != nil {
			if a.ctx.Err() != nil {
				return
			}
			a.log.Error("ACME issuance failed; retrying", "err", err, "in", backoff)
			if !sleep(a.ctx, backoff) {
				return
			}
			backoff = min(2*backoff, acmeRetryMax)
			continue
		}
		backoff = a.retryMin
	}
}

// sleep waits d or until ctx ends, reporting whether to go on.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// renewIn is how long until the certificate should be renewed; 0 when
// there is none.
func (a *ACME) renewIn() time.Duration {
	a.mu.RLock()
	c := a.cert
	a.mu.RUnlock()
	if c == nil {
		return 0
	}
	life := c.Leaf.NotAfter.Sub(c.Leaf.NotBefore)
	before := a.cfg.RenewBefore
	if before <= 0 {
		before = life / 3
	}
	before = min(before, life/2)
	return time.Until(c.Leaf.NotAfter.Add(-before))
}

// covers reports whether c names every configured domain and is still
// valid for a while.
func (a *ACME) covers(c *tls.Certificate) bool {
	if time.Now().After(c.Leaf.NotAfter) {
		return false
	}
	for _, d := range a.cfg.Domains {
		if c.Leaf.VerifyHostname(d) != nil {
			return false
		}
	}
	return true
}

func (a *ACME) setCert(c *tls.Certificate) {
	a.mu.Lock()
	a.cert = c
	a.mu.Unlock()
	a.issuedOnce.Do(func() { close(a.issued) })
}

// issue runs one order to a new certificate and caches it.
func (a *ACME) issue() error {
	ctx, cancel := context.WithTimeout(a.ctx, acmeIssueTimeout)
	defer cancel()
	if !a.registered {
		acct := &acme.Account{}
		if a.cfg.Email != "" {
			acct.Contact = []string{"mailto:" + a.cfg.Email}
		}
		if _, err := a.client.Register(ctx, acct, acme.AcceptTOS); err != nil && !errors.Is(err, acme.ErrAccountAlreadyExists) {
			return fmt.Errorf("register: %w", err)
		}
		a.registered = true
	}
	order, err := a.client.AuthorizeOrder(ctx, acme.DomainIDs(a.cfg.Domains...))
	if err != nil {
		return fmt.Errorf("order: %w", err)
	}
	for _, u := range order.AuthzURLs {
		if err := a.authorize(ctx, u); err != nil {
			return err
		}
	}
	if order, err = a.client.WaitOrder(ctx, order.URI); err != nil {
		return fmt.Errorf("order ready: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("key: %w", err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: a.cfg.Domains[0]}, DNSNames: a.cfg.Domains}, key)
	if err != nil {
		return fmt.Errorf("csr: %w", err)
	}
	chain, _, err := a.client.CreateCertFromOrder(ctx, order, csr, true)
	if err != nil {
		return fmt.Errorf("finalize: %w", err)
	}
	c, err := assemble(chain, key)
	if err != nil {
		return err
	}
	if !a.covers(c) {
		return fmt.Errorf("issued certificate does not cover %v", a.cfg.Domains)
	}
	if err := a.cache.putCertificate(c); err != nil {
		a.log.Error("caching the ACME certificate", "err", err)
	}
	a.setCert(c)
	a.log.Info("ACME certificate issued", "serial", c.Leaf.SerialNumber.String(), "not_after", c.Leaf.NotAfter)
	return nil
}

// authorize proves control of one authorization's domain.
func (a *ACME) authorize(ctx context.Context, url string) error {
	z, err := a.client.GetAuthorization(ctx, url)
	if err != nil {
		return fmt.Errorf("authorization: %w", err)
	}
	switch z.Status {
	case acme.StatusValid:
		return nil
	case acme.StatusPending:
	default:
		return fmt.Errorf("authorization for %s is %s", z.Identifier.Value, z.Status)
	}
	want := "tls-alpn-01"
	if a.httpSrv != nil {
		want = "http-01"
	}
	var chal *acme.Challenge
	for _, c := range z.Challenges {
		if c.Type == want {
			chal = c
		}
	}
	if chal == nil {
		return fmt.Errorf("the CA offers no %s challenge for %s", want, z.Identifier.Value)
	}
	domain := strings.ToLower(z.Identifier.Value)
	switch want {
	case "http-01":
		body, err := a.client.HTTP01ChallengeResponse(chal.Token)
		if err != nil {
			return fmt.Errorf("http-01: %w", err)
		}
		path := a.client.HTTP01ChallengePath(chal.Token)
		a.answer(func() { a.tokens[path] = body })
		defer a.answer(func() { delete(a.tokens, path) })
	default:
		c, err := a.client.TLSALPN01ChallengeCert(chal.Token, domain)
		if err != nil {
			return fmt.Errorf("tls-alpn-01: %w", err)
		}
		a.answer(func() { a.alpn[domain] = &c })
		defer a.answer(func() { delete(a.alpn, domain) })
	}
	if _, err := a.client.Accept(ctx, chal); err != nil {
		return fmt.Errorf("accept %s: %w", want, err)
	}
	if _, err := a.client.WaitAuthorization(ctx, z.URI); err != nil {
		return fmt.Errorf("validate %s for %s: %w", want, domain, err)
	}
	return nil
}

// answer changes the pending challenge answers under mu.
func (a *ACME) answer(f func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f()
}

// assemble makes a served certificate from a DER chain and its key.
func assemble(chain [][]byte, key crypto.Signer) (*tls.Certificate, error) {
	if len(chain) == 0 {
		return nil, errors.New("certs: empty certificate chain")
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, fmt.Errorf("certs: leaf: %w", err)
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}
