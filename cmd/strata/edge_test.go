package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/strata-edge/strata/edge"
	"github.com/strata-edge/strata/internal/certs"
	"github.com/strata-edge/strata/internal/config"
)

// TestEdgeMediaTLSFlags: the media certificate flags land on media.tls,
// over the YAML file's values.
func TestEdgeMediaTLSFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "edge.yaml")
	yaml := "media:\n  tls:\n    mode: files\n    cert_file: a.pem\n    key_file: a.key\n    acme:\n      email: file@example.com\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := edge.Defaults()
	fs := edgeFlags(&cfg)
	args := []string{"--config", file, "--media-tls-mode", "acme",
		"--media-acme-domain", "a.example.com,b.example.com", "--media-acme-email", "ops@example.com",
		"--media-acme-cache-dir", "/var/lib/strata/acme", "--media-acme-directory", "https://ca.example/dir",
		"--media-acme-ca", "ca.pem", "--media-acme-http-addr", ":80"}
	if err := config.Resolve(&cfg, func() { cfg = edge.Defaults() }, fs, args, nil); err != nil {
		t.Fatal(err)
	}
	got := cfg.Media.TLS
	want := certs.ACMEConfig{DirectoryURL: "https://ca.example/dir", Email: "ops@example.com",
		Domains: []string{"a.example.com", "b.example.com"}, CacheDir: "/var/lib/strata/acme", CAFile: "ca.pem", HTTPAddr: ":80"}
	if got.Mode != certs.ModeACME || got.CertFile != "a.pem" || got.KeyFile != "a.key" ||
		got.ACME.DirectoryURL != want.DirectoryURL || got.ACME.Email != want.Email || !slices.Equal(got.ACME.Domains, want.Domains) ||
		got.ACME.CacheDir != want.CacheDir || got.ACME.CAFile != want.CAFile || got.ACME.HTTPAddr != want.HTTPAddr {
		t.Fatalf("media.tls = %+v, want mode acme, the file's cert_file/key_file and ACME %+v", got, want)
	}
}
