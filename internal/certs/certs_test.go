package certs

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"testing"
	"time"
)

func TestSelfSigned(t *testing.T) {
	tests := []struct {
		name     string
		validity time.Duration
		wantErr  error
	}{
		{"default", 0, nil},
		{"one day", 24 * time.Hour, nil},
		{"fourteen days", MaxValidity, ErrValidity},
		{"negative", -time.Hour, ErrValidity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := SelfSigned([]string{"edge.example", "10.0.0.1"}, tt.validity)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got := c.Leaf.NotAfter.Sub(c.Leaf.NotBefore); got >= MaxValidity {
				t.Errorf("validity %s, want < 14 days", got)
			}
			if c.SHA256 != sha256.Sum256(c.TLS.Certificate[0]) {
				t.Error("hash is not the DER's SHA-256")
			}
			for _, host := range []string{"localhost", "127.0.0.1", "edge.example", "10.0.0.1"} {
				if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: c.Pool()}); err != nil {
					t.Errorf("verify %s: %v", host, err)
				}
			}
		})
	}
}
