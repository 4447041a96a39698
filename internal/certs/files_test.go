package certs

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
)

// newPair writes a fresh self-signed pair the way deploy tools replace
// files: new files renamed over the old ones, certificate first. It
// returns the certificate's serial.
func newPair(t *testing.T, certFile, keyFile string) string {
	t.Helper()
	c, err := SelfSigned(nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFiles(certFile+".new", keyFile+".new"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{certFile, keyFile} {
		if err := os.Rename(f+".new", f); err != nil {
			t.Fatal(err)
		}
	}
	return c.Leaf.SerialNumber.String()
}

// logWatch is a slog handler that counts records containing a text.
type logWatch struct {
	mu   sync.Mutex
	msgs []string
}

func (w *logWatch) Enabled(context.Context, slog.Level) bool { return true }
func (w *logWatch) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, r.Level.String()+" "+r.Message)
	return nil
}
func (w *logWatch) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *logWatch) WithGroup(string) slog.Handler      { return w }

func (w *logWatch) count(sub string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, m := range w.msgs {
		if strings.Contains(m, sub) {
			n++
		}
	}
	return n
}

// TestFilesReloadsOnChange serves operator files and swaps them while the
// listener runs: the next handshakes see the new certificate; a pair that
// does not load is logged and the last good one stays; a later good pair
// loads again.
func TestFilesReloadsOnChange(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	s1 := newPair(t, certFile, keyFile)
	logs := &logWatch{}
	src, err := FromConfig(Config{CertFile: certFile, KeyFile: keyFile, Reload: 10 * time.Millisecond},
		Deps{Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeSource(t, src)
	if _, ok := src.(*Files); !ok {
		t.Fatalf("cert_file without a mode made a %T, want *Files", src)
	}
	addr := serveTLS(t, ServerTLS(src))
	src.Start()
	serving := func(want string) func() error {
		return func() error {
			leaf, err := peerLeaf(addr, "localhost", nil)
			if err != nil {
				return err
			}
			if got := leaf.SerialNumber.String(); got != want {
				return errors.New("serving serial " + got + ", want " + want)
			}
			return nil
		}
	}
	poll.For(t, 5*time.Second, 10*time.Millisecond, serving(s1))

	// A new pair, certificate first, then key: the mismatched pair in
	// between does not load.
	s2 := newPair(t, certFile, keyFile)
	poll.For(t, 5*time.Second, 10*time.Millisecond, serving(s2))

	// A broken certificate (overwritten in place) keeps the last pair.
	bad := logs.count("do not load")
	if err := os.WriteFile(certFile, []byte("-----BEGIN CERTIFICATE-----\ngarbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	poll.For(t, 5*time.Second, 10*time.Millisecond, func() error {
		if logs.count("do not load") == bad {
			return errors.New("broken file not noticed yet")
		}
		return nil
	})
	if err := serving(s2)(); err != nil {
		t.Fatalf("after a broken file: %v", err)
	}

	s3 := newPair(t, certFile, keyFile)
	poll.For(t, 5*time.Second, 10*time.Millisecond, serving(s3))
}

func TestNewFilesRefusesABadPair(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	newPair(t, certFile, keyFile)
	newPair(t, certFile+"2", keyFile)
	if _, err := NewFiles(Config{CertFile: certFile, KeyFile: keyFile}, Deps{}); err == nil {
		t.Fatal("a key that does not match the certificate was accepted")
	}
	if _, err := NewFiles(Config{CertFile: filepath.Join(dir, "missing"), KeyFile: keyFile}, Deps{}); err == nil {
		t.Fatal("a missing file was accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	acmeOK := ACMEConfig{Domains: []string{"edge1.example.com"}, CacheDir: "/var/lib/strata/acme"}
	tests := []struct {
		name    string
		cfg     Config
		extra   []Mode
		wantKey string // "" means valid
	}{
		{"default", Config{}, nil, ""},
		{"self-signed", Config{Mode: ModeSelfSigned}, nil, ""},
		{"files", Config{Mode: ModeFiles, CertFile: "c", KeyFile: "k"}, nil, ""},
		{"files implied", Config{CertFile: "c", KeyFile: "k"}, nil, ""},
		{"files without key", Config{CertFile: "c"}, nil, "media.tls.cert_file"},
		{"files mode without files", Config{Mode: ModeFiles}, nil, "media.tls.cert_file"},
		{"key without cert", Config{KeyFile: "k"}, nil, "media.tls.key_file"},
		{"unknown mode", Config{Mode: "cluster"}, nil, "media.tls.mode"},
		{"role's own mode", Config{Mode: "cluster"}, []Mode{"cluster"}, ""},
		{"negative reload", Config{Reload: -time.Second}, nil, "media.tls.reload"},
		{"acme", Config{Mode: ModeACME, ACME: acmeOK}, nil, ""},
		{"acme without domains", Config{Mode: ModeACME, ACME: ACMEConfig{CacheDir: "d"}}, nil, "media.tls.acme.domains"},
		{"acme bad domain", Config{Mode: ModeACME, ACME: ACMEConfig{CacheDir: "d", Domains: []string{"a.example:443"}}}, nil, "media.tls.acme.domains"},
		{"acme without cache", Config{Mode: ModeACME, ACME: ACMEConfig{Domains: []string{"a.example"}}}, nil, "media.tls.acme.cache_dir"},
		{"acme plain directory", Config{Mode: ModeACME, ACME: ACMEConfig{Domains: []string{"a.example"}, CacheDir: "d", DirectoryURL: "http://ca.example/dir"}}, nil, "media.tls.acme.directory_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate("media.tls", tt.extra...)
			var ce *ConfigError
			switch {
			case tt.wantKey == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantKey != "" && (!errors.As(err, &ce) || ce.Key != tt.wantKey):
				t.Fatalf("error %v, want one naming %s", err, tt.wantKey)
			}
		})
	}
}

func TestFromConfigDefaultIsSelfSigned(t *testing.T) {
	src, err := FromConfig(Config{}, Deps{Hosts: []string{"edge.example"}})
	if err != nil {
		t.Fatal(err)
	}
	c, ok := src.(*Cert)
	if !ok {
		t.Fatalf("default source is %T, want *Cert", src)
	}
	if err := c.Leaf.VerifyHostname("edge.example"); err != nil {
		t.Fatal(err)
	}
}
