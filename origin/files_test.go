package origin_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/netutil"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/origin"
)

// startOrigin starts a lone bootstrap origin on loopback ports, with the
// defaults but for what mutate changes, and closes it when the test ends.
func startOrigin(t *testing.T, mutate func(*origin.Config)) *origin.Origin {
	t.Helper()
	ports, err := netutil.FreeLoopbackAddrs(3)
	if err != nil {
		t.Fatal(err)
	}
	cfg := origin.Defaults()
	cfg.NodeID, cfg.DataDir, cfg.Bootstrap = "origin-1", filepath.Join(t.TempDir(), "origin-1"), true
	cfg.API.Addr, cfg.Raft.Addr, cfg.Gossip.Addr = ports[0], ports[1], ports[2]
	cfg.Gossip.Profile = "local"
	if mutate != nil {
		mutate(&cfg)
	}
	o, err := origin.New(cfg, origin.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close(context.Background()) })
	return o
}

// TestOriginDataDirPrivate: a bootstrapped origin's data dir (Raft log,
// snapshots with the signing keys, the generated admin token and gossip
// key) is readable by its user only, even when the operator made the
// directory world-readable beforehand.
func TestOriginDataDirPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "origin-1")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	o := startOrigin(t, func(c *origin.Config) { c.DataDir = dir })
	reg := o.Registry()
	poll.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		if _, ok := reg.State().ActiveSigningKey(); !ok {
			return errors.New("no signing key yet")
		}
		return nil
	})
	if err := reg.Snapshot(); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"admin-token": false, "gossip-key": false, "state.bin": false, "node.pem": false}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if _, ok := want[d.Name()]; ok {
			want[d.Name()] = true
		}
		switch {
		case d.IsDir() && fi.Mode().Perm() != 0o700:
			t.Errorf("directory %s is %v, want 0700", path, fi.Mode().Perm())
		case fi.Mode().IsRegular() && fi.Mode().Perm() != 0o600:
			t.Errorf("file %s is %v, want 0600", path, fi.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, seen := range want {
		if !seen {
			t.Errorf("no %s under %s", name, dir)
		}
	}
}
