package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Cache file names inside acme.cache_dir.
const (
	accountKeyFile  = "account-key.pem"
	certificateFile = "certificate.pem"
)

// cacheDir keeps the ACME account key and the certificate with its key.
// Both are secrets: files are 0600 in a 0700 directory.
type cacheDir struct{ dir string }

// openCacheDir makes dir (0700), tightening an existing one.
func openCacheDir(dir string) (*cacheDir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("certs: acme.cache_dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("certs: acme.cache_dir: %w", err)
	}
	return &cacheDir{dir: dir}, nil
}

// accountKey reads the account key, making and saving one the first time.
func (c *cacheDir) accountKey() (crypto.Signer, error) {
	p := filepath.Join(c.dir, accountKeyFile)
	b, err := os.ReadFile(p)
	switch {
	case err == nil:
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("certs: %s: no PEM key", p)
		}
		k, err := x509.ParseECPrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certs: %s: %w", p, err)
		}
		return k, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("certs: account key: %w", err)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("certs: account key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("certs: account key: %w", err)
	}
	if err := c.write(accountKeyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})); err != nil {
		return nil, err
	}
	return k, nil
}

// certificate is the cached certificate, or nil if none loads.
func (c *cacheDir) certificate() *tls.Certificate {
	b, err := os.ReadFile(filepath.Join(c.dir, certificateFile))
	if err != nil {
		return nil
	}
	// One file holds the key and the chain; each parser skips the other.
	crt, err := tls.X509KeyPair(b, b)
	if err != nil {
		return nil
	}
	if crt.Leaf == nil {
		if crt.Leaf, err = x509.ParseCertificate(crt.Certificate[0]); err != nil {
			return nil
		}
	}
	return &crt
}

// putCertificate saves crt's key and chain.
func (c *cacheDir) putCertificate(crt *tls.Certificate) error {
	der, err := x509.MarshalPKCS8PrivateKey(crt.PrivateKey)
	if err != nil {
		return fmt.Errorf("certs: cache key: %w", err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	for _, d := range crt.Certificate {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
	}
	return c.write(certificateFile, out)
}

// write replaces name atomically with a 0600 file.
func (c *cacheDir) write(name string, b []byte) error {
	f, err := os.CreateTemp(c.dir, name+".*.tmp")
	if err != nil {
		return fmt.Errorf("certs: cache: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(c.dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("certs: cache %s: %w", name, err)
	}
	return nil
}
