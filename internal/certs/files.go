package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Files is a certificate and key read from PEM files the operator
// manages (a corporate CA, certbot, cert-manager's mounted secret). The
// files are checked every Reload for a new inode, size or modification
// time and re-read; a pair that does not load keeps the previous
// certificate, with an error logged, until the files change again.
type Files struct {
	certFile, keyFile string
	every             time.Duration
	log               *slog.Logger

	cur atomic.Pointer[tls.Certificate]

	// seen is touched only by New and then the poller goroutine.
	seen [2]os.FileInfo

	start  sync.Once
	stop   chan struct{}
	closed sync.Once
	done   chan struct{}
}

// NewFiles loads cfg.CertFile and cfg.KeyFile; an error here means the
// listener cannot start.
func NewFiles(cfg Config, deps Deps) (*Files, error) {
	f := &Files{certFile: cfg.CertFile, keyFile: cfg.KeyFile, every: cfg.Reload,
		log:  deps.logger().With("cert_file", cfg.CertFile),
		stop: make(chan struct{}), done: make(chan struct{})}
	if f.every <= 0 {
		f.every = DefaultReload
	}
	seen, err := f.stat()
	if err != nil {
		return nil, err
	}
	c, err := loadPair(f.certFile, f.keyFile)
	if err != nil {
		return nil, err
	}
	f.seen = seen
	f.cur.Store(c)
	return f, nil
}

// GetCertificate presents the last pair that loaded.
func (f *Files) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return f.cur.Load(), nil
}

// Start begins watching the files.
func (f *Files) Start() {
	f.start.Do(func() { go f.run() })
}

// Close stops watching.
func (f *Files) Close(ctx context.Context) error {
	f.closed.Do(func() { close(f.stop) })
	started := true
	f.start.Do(func() { started = false })
	if !started {
		return nil
	}
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("certs: files close: %w", ctx.Err())
	}
}

func (f *Files) run() {
	defer close(f.done)
	t := time.NewTicker(f.every)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
			f.check()
		}
	}
}

// check reloads the pair when either file changed since the last look.
func (f *Files) check() {
	seen, err := f.stat()
	if err != nil {
		if f.seen[0] != nil {
			f.log.Error("certificate files unreadable; keeping the loaded certificate", "err", err)
		}
		f.seen = [2]os.FileInfo{}
		return
	}
	if same(seen[0], f.seen[0]) && same(seen[1], f.seen[1]) {
		return
	}
	f.seen = seen
	c, err := loadPair(f.certFile, f.keyFile)
	if err != nil {
		f.log.Error("certificate files changed but do not load; keeping the loaded certificate", "err", err)
		return
	}
	f.cur.Store(c)
	f.log.Info("certificate reloaded", "subject", c.Leaf.Subject.String(), "not_after", c.Leaf.NotAfter)
}

func (f *Files) stat() ([2]os.FileInfo, error) {
	var out [2]os.FileInfo
	for i, p := range []string{f.certFile, f.keyFile} {
		fi, err := os.Stat(p)
		if err != nil {
			return out, fmt.Errorf("certs: %w", err)
		}
		out[i] = fi
	}
	return out, nil
}

// same reports whether a file looks unchanged: same inode (a renamed-in
// or re-linked replacement is a new one), size and modification time.
func same(a, b os.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// loadPair reads a PEM certificate chain and its key.
func loadPair(certFile, keyFile string) (*tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("certs: %s: %w", certFile, err)
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("certs: %s: %w", certFile, err)
		}
	}
	return &c, nil
}
