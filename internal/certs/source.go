package certs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Source supplies the certificate a TLS listener presents. It is asked at
// every handshake, so the certificate can change while the listener
// serves (reloaded files, a renewed ACME certificate).
//
// Lifecycle: the constructor loads what it can and fails fast on bad
// configuration; Start begins background work (file polling, ACME
// issuance and renewal) and is called once the listeners serving the
// source are up, because ACME validation connects to them; Close stops
// that work, ctx bounding the wait.
type Source interface {
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
	Start()
	Close(ctx context.Context) error
}

var (
	_ Source = (*Cert)(nil)
	_ Source = (*Files)(nil)
	_ Source = (*ACME)(nil)
)

// Mode says where a listener's certificate comes from.
type Mode string

// Modes. The empty mode means files when cert_file is set and the role's
// default otherwise (the edge: self-signed; the origin: the cluster CA).
const (
	ModeSelfSigned Mode = "self-signed"
	ModeFiles      Mode = "files"
	ModeACME       Mode = "acme"
)

// DefaultReload is how often Files checks its files for a change.
const DefaultReload = 5 * time.Second

// ErrNotIssued is returned by an ACME source's GetCertificate until its
// first certificate is issued (or read from the cache).
var ErrNotIssued = errors.New("certs: no ACME certificate issued yet")

// Config is how a public listener gets its certificate. The edge's media
// listeners (media.tls) and the origin API (api.tls) share it:
//
//	mode: files          # self-signed | files | acme; empty: files if cert_file is set, else the role's default
//	cert_file: /etc/strata/tls/fullchain.pem
//	key_file: /etc/strata/tls/key.pem
//	reload: 5s           # how often the files are checked for a change
//	acme:
//	  directory_url: ... # default: Let's Encrypt
//	  email: ops@example.com
//	  domains: [edge1.example.com]
//	  cache_dir: /var/lib/strata/acme
//	  ca_file: ""        # PEM roots for a private ACME CA's HTTPS
//	  http_addr: ""      # set (e.g. ":80") to answer http-01 there instead of tls-alpn-01
//	  renew_before: 0    # default: a third of the certificate's lifetime
type Config struct {
	Mode     Mode          `yaml:"mode"`
	CertFile string        `yaml:"cert_file"`
	KeyFile  string        `yaml:"key_file"`
	Reload   time.Duration `yaml:"reload"`
	ACME     ACMEConfig    `yaml:"acme"`
}

// ACMEConfig configures certificates issued by an ACME CA (RFC 8555).
// One certificate covers all Domains. TLS-ALPN-01 is answered on the
// listeners the source serves, which the CA reaches on port 443; with
// HTTPAddr set, HTTP-01 is answered on that plain-HTTP address instead
// (the CA reaches it on port 80).
type ACMEConfig struct {
	// DirectoryURL is the CA's directory; empty means Let's Encrypt.
	DirectoryURL string `yaml:"directory_url"`
	// Email is the account's contact, for the CA's expiry notices.
	Email string `yaml:"email"`
	// Domains are the DNS names the certificate covers; they must
	// resolve to this node.
	Domains []string `yaml:"domains"`
	// CacheDir keeps the account key and the certificate (0600 files in
	// a 0700 directory), so a restart neither re-registers nor re-issues.
	CacheDir string `yaml:"cache_dir"`
	// CAFile, a PEM file, holds the roots that verify the directory's
	// HTTPS certificate (a private ACME CA); empty uses the system roots.
	CAFile string `yaml:"ca_file"`
	// HTTPAddr, if set, is a host:port where HTTP-01 challenges are
	// answered.
	HTTPAddr string `yaml:"http_addr"`
	// RenewBefore is how long before expiry the certificate is renewed;
	// 0 means a third of its lifetime. At most half the lifetime is used.
	RenewBefore time.Duration `yaml:"renew_before"`
}

// ConfigError names the configuration key that is wrong and why.
type ConfigError struct{ Key, Reason string }

func (e *ConfigError) Error() string { return e.Key + ": " + e.Reason }

// Effective is the mode in effect, given the role's default.
func (c Config) Effective(def Mode) Mode {
	switch {
	case c.Mode != "":
		return c.Mode
	case c.CertFile != "":
		return ModeFiles
	}
	return def
}

// Validate checks c; prefix is the key c lives under (e.g. "media.tls")
// and extra lists modes the role handles itself (the origin's cluster
// CA). Errors are *ConfigError.
func (c Config) Validate(prefix string, extra ...Mode) error {
	bad := func(key, format string, args ...any) error {
		return &ConfigError{Key: prefix + "." + key, Reason: fmt.Sprintf(format, args...)}
	}
	if c.Reload < 0 {
		return bad("reload", "must not be negative")
	}
	mode := c.Effective("")
	switch {
	case mode == "" || mode == ModeSelfSigned || slices.Contains(extra, mode):
		if c.KeyFile != "" {
			return bad("key_file", "needs cert_file")
		}
	case mode == ModeFiles:
		if c.CertFile == "" || c.KeyFile == "" {
			return bad("cert_file", "mode files needs cert_file and key_file")
		}
	case mode == ModeACME:
		return c.ACME.validate(bad)
	default:
		modes := append([]Mode{ModeSelfSigned, ModeFiles, ModeACME}, extra...)
		return bad("mode", "%q is not one of %v", c.Mode, modes)
	}
	return nil
}

func (a ACMEConfig) validate(bad func(key, format string, args ...any) error) error {
	switch {
	case len(a.Domains) == 0:
		return bad("acme.domains", "mode acme needs at least one domain")
	case a.CacheDir == "":
		return bad("acme.cache_dir", "mode acme needs a cache directory")
	case a.RenewBefore < 0:
		return bad("acme.renew_before", "must not be negative")
	case a.DirectoryURL != "" && !strings.HasPrefix(a.DirectoryURL, "https://"):
		return bad("acme.directory_url", "must be an https:// URL")
	}
	for _, d := range a.Domains {
		if d == "" || strings.ContainsAny(d, " /:*") {
			return bad("acme.domains", "%q is not a DNS name", d)
		}
	}
	return nil
}

// Deps are what FromConfig's sources need from their role.
type Deps struct {
	Logger *slog.Logger
	// Hosts are the names and addresses a self-signed certificate covers.
	Hosts []string
	// HTTPClient, if set, reaches the ACME directory instead of a client
	// built from acme.ca_file.
	HTTPClient *http.Client
}

func (d Deps) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

// FromConfig builds the source cfg names; an empty mode without cert_file
// is self-signed. A role with another default (the origin's cluster CA)
// handles that mode itself and calls FromConfig for the others. The
// source is not started: call Start once its listeners serve.
func FromConfig(cfg Config, deps Deps) (Source, error) {
	if err := cfg.Validate("tls"); err != nil {
		return nil, err
	}
	switch cfg.Effective(ModeSelfSigned) {
	case ModeFiles:
		return NewFiles(cfg, deps)
	case ModeACME:
		return NewACME(cfg.ACME, deps)
	default:
		return SelfSigned(deps.Hosts, 0)
	}
}

// ServerTLS is a TLS 1.3 server config presenting src's certificates. For
// an ACME source it also answers TLS-ALPN-01 challenges: a handshake
// offering only the acme-tls/1 protocol negotiates it and gets the
// challenge certificate.
func ServerTLS(src Source) *tls.Config {
	return Apply(&tls.Config{MinVersion: tls.VersionTLS13}, src)
}

// Apply is a copy of base presenting src's certificates, for a listener
// whose config sets more (client certificates, versions): it replaces
// Certificates, GetCertificate and, for an ACME source, GetConfigForClient
// (a handshake that is not a TLS-ALPN-01 validation still goes to base's
// GetConfigForClient, if any).
func Apply(base *tls.Config, src Source) *tls.Config {
	c := base.Clone()
	c.Certificates = nil
	c.GetCertificate = src.GetCertificate
	if a, ok := src.(*ACME); ok {
		next := base.GetConfigForClient
		c.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			if isChallengeHello(hello) {
				return a.challengeTLS(), nil
			}
			if next != nil {
				return next(hello)
			}
			return nil, nil
		}
	}
	return c
}

// GetCertificate presents the self-signed certificate to every client.
func (c *Cert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &c.TLS, nil }

// Start does nothing: a self-signed certificate does not change.
func (c *Cert) Start() {}

// Close does nothing.
func (c *Cert) Close(context.Context) error { return nil }
