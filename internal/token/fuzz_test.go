package token

import (
	"crypto/ed25519"
	"testing"
)

// FuzzVerify feeds arbitrary strings to Verify: it must never panic, and
// anything it accepts must carry valid claims and re-verify identically.
func FuzzVerify(f *testing.F) {
	pub, priv := testKey(1)
	ks, err := NewKeySet(map[string]ed25519.PublicKey{"a": pub})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mustSign(f, priv, "a", viewerClaims()))
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := ks.Verify(tok, t0)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted invalid claims %+v: %v", c, err)
		}
		c2, err := ks.Verify(tok, t0)
		if err != nil || c2 != c {
			t.Fatalf("re-verify differs: %+v %v", c2, err)
		}
	})
}
