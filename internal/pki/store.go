package pki

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Files in a node's PKI directory. The directory is 0700 and every file
// 0600: the key is the node's identity. The certificate and its key
// share one file, replaced in one rename, so no crash or concurrent
// reader ever sees a key with another key's certificate.
const (
	FileCA   = "ca.crt"
	FileNode = "node.pem"
)

// WriteFile writes data atomically (temp file, then rename) with mode
// 0600, in a directory it creates 0700.
func WriteFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename this fails harmlessly
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("pki: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("pki: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("pki: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	return nil
}

// SaveNode stores a node's certificate, key and CA in dir.
func SaveNode(dir string, certPEM, keyPEM, caPEM []byte) error {
	if err := WriteFile(filepath.Join(dir, FileCA), caPEM); err != nil {
		return err
	}
	node := append(append(append([]byte{}, certPEM...), '\n'), keyPEM...)
	return WriteFile(filepath.Join(dir, FileNode), node)
}

// LoadNode reads the node certificate stored in dir. It returns an error
// wrapping fs.ErrNotExist when the node has none yet (it must join).
func LoadNode(dir string) (*Holder, error) {
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
	caPEM, err := read(FileCA)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	node, err := read(FileNode)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	// tls.X509KeyPair picks the CERTIFICATE blocks from the first
	// argument and the key block from the second.
	certPEM, keyPEM := node, node
	ca, err := ParseCertificate(caPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", FileCA, err)
	}
	return NewHolder(ca, certPEM, keyPEM)
}

// IsNotExist reports whether err means a node has no certificate yet.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// RenewFunc gets a new certificate for the key behind csrDER.
type RenewFunc func(ctx context.Context, csrDER []byte) (certPEM []byte, err error)

// RenewerConfig configures a Renewer.
type RenewerConfig struct {
	Holder *Holder
	Renew  RenewFunc
	// Dir, when set, is where the renewed certificate and key are saved,
	// so a restart resumes with them.
	Dir    string
	Logger *slog.Logger
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// Renewer renews the holder's certificate when a third of its life is
// left, with a fresh key each time, retrying failures until it expires
// and beyond (a node that was down long must still get back in by
// joining again, which its operator sees in the logs).
type Renewer struct {
	cfg    RenewerConfig
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewRenewer starts renewing; Close stops it.
func NewRenewer(cfg RenewerConfig) *Renewer {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Renewer{cfg: cfg, cancel: cancel}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.run(ctx)
	}()
	return r
}

// Close stops the renewer and waits for it; a renewal in flight is
// cancelled.
func (r *Renewer) Close(ctx context.Context) error {
	r.cancel()
	r.wg.Wait()
	return nil
}

// RenewAt is when a certificate valid from notBefore to notAfter should
// be renewed: after two thirds of the life it was issued for (the CA
// backdates NotBefore by a minute of clock skew, which is not counted).
func RenewAt(notBefore, notAfter time.Time) time.Time {
	issued := notBefore.Add(skew)
	if !issued.Before(notAfter) {
		issued = notBefore
	}
	return issued.Add(notAfter.Sub(issued) * 2 / 3)
}

func (r *Renewer) run(ctx context.Context) {
	retry := time.Second
	for {
		leaf := r.cfg.Holder.Certificate().Leaf
		wait := RenewAt(leaf.NotBefore, leaf.NotAfter).Sub(r.cfg.Now())
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(wait, 0)):
		}
		if err := r.renewOnce(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			r.cfg.Logger.Warn("certificate renewal failed; retrying", "err", err, "expires", leaf.NotAfter, "retry_in", retry)
			select {
			case <-ctx.Done():
				return
			case <-time.After(retry):
			}
			retry = min(retry*2, 30*time.Second)
			continue
		}
		retry = time.Second
	}
}

func (r *Renewer) renewOnce(ctx context.Context) error {
	key, err := NewKey()
	if err != nil {
		return err
	}
	csr, err := NewCSR(key, r.cfg.Holder.Identity())
	if err != nil {
		return err
	}
	certPEM, err := r.cfg.Renew(ctx, csr)
	if err != nil {
		return err
	}
	keyPEM := KeyPEM(key)
	if err := r.cfg.Holder.Set(certPEM, keyPEM); err != nil {
		return err
	}
	if r.cfg.Dir != "" {
		if err := SaveNode(r.cfg.Dir, certPEM, keyPEM, CertPEM(r.cfg.Holder.CA().Raw)); err != nil {
			return err
		}
	}
	r.cfg.Logger.Info("certificate renewed", "identity", r.cfg.Holder.Identity().String(), "expires", r.cfg.Holder.NotAfter())
	return nil
}

// Holder issues a certificate for id with a new key and holds it: what a
// node gets when it enrolls, in one step, for nodes (and tests) that hold
// the CA themselves.
func (ca *CA) Holder(id Identity, hosts []string, validity time.Duration) (*Holder, error) {
	certPEM, keyPEM, err := IssueLocal(ca, id, hosts, validity)
	if err != nil {
		return nil, err
	}
	return NewHolder(ca.Cert, certPEM, keyPEM)
}

// IssueLocal makes a key and has ca sign it for id: how origins, which
// hold the CA, get and renew their own certificates.
func IssueLocal(ca *CA, id Identity, hosts []string, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := NewKey()
	if err != nil {
		return nil, nil, err
	}
	csr, err := NewCSR(key, id)
	if err != nil {
		return nil, nil, err
	}
	certPEM, err = ca.Sign(csr, id, hosts, validity, time.Now())
	if err != nil {
		return nil, nil, err
	}
	return certPEM, KeyPEM(key), nil
}
