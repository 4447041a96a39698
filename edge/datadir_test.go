package edge

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-edge/strata/registry/gossip"
)

// TestDataDirPrivate: the edge's data dir, where its node key lives, is
// made 0700 before anything is written there, even if it existed with a
// wider mode.
func TestDataDirPrivate(t *testing.T) {
	key, _ := gossip.GenerateKey()
	dir := filepath.Join(t.TempDir(), "edge-1")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig("127.0.0.1:1", key)
	cfg.DataDir = dir
	// No certificate and no join token: New stops before enrolling.
	if _, err := New(cfg, Deps{Logger: testLogger(t)}); err == nil {
		t.Fatal("started without a certificate or join token")
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir is %v, want 0700", fi.Mode().Perm())
	}
}
