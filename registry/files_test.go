package registry

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft-wal/types"

	"github.com/strata-edge/strata/internal/poll"
)

// checkPrivate fails t for any directory under root that is not 0700 or
// regular file that is not 0600, and returns how many files it saw.
func checkPrivate(t *testing.T, root string) int {
	t.Helper()
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir() && fi.Mode().Perm() != 0o700:
			t.Errorf("directory %s is %v, want 0700", path, fi.Mode().Perm())
		case fi.Mode().IsRegular():
			files++
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("file %s is %v, want 0600", path, fi.Mode().Perm())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestDataDirPrivate: the log store, its metadata and the snapshots, which
// hold the signing keys, are readable by this user only, including files
// written after start (a snapshot, a new WAL segment), and a restart
// narrows files an older version left wider.
func TestDataDirPrivate(t *testing.T) {
	for _, store := range []string{"wal", "boltdb"} {
		t.Run(store, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "registry")
			cfg := Config{NodeID: "o1", DataDir: dir, Bind: "127.0.0.1:0", Bootstrap: true, LogStore: store}
			r, err := New(cfg, Deps{})
			if err != nil {
				t.Fatal(err)
			}
			poll.For(t, 5*time.Second, 10*time.Millisecond, func() error {
				if !r.IsLeader() {
					return errors.New("not the leader")
				}
				return nil
			})
			for i := range 20 {
				if _, err := r.Apply(context.Background(), &CreateTenant{Tenant: Tenant{ID: fmt.Sprintf("t%d", i), Name: "x"}}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := r.Apply(context.Background(), &AddSigningKey{Key: SigningKey{ID: "sk1", Private: make([]byte, 64), Public: make([]byte, 32)}}); err != nil {
				t.Fatal(err)
			}
			if err := r.Snapshot(); err != nil {
				t.Fatal(err)
			}
			snaps, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*", "*", "state.bin"))
			if len(snaps) == 0 {
				t.Fatal("no snapshot written")
			}
			if n := checkPrivate(t, dir); n < 3 {
				t.Fatalf("only %d files under %s", n, dir)
			}
			if err := r.Close(crashed()); err != nil {
				t.Fatal(err)
			}
			// An install from before: everything world-readable.
			if err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.IsDir() {
					return os.Chmod(path, 0o755)
				}
				return os.Chmod(path, 0o644)
			}); err != nil {
				t.Fatal(err)
			}
			cfg.Bind = "127.0.0.1:0"
			r2, err := New(cfg, Deps{})
			if err != nil {
				t.Fatal(err)
			}
			defer r2.Close(crashed())
			checkPrivate(t, dir)
		})
	}
}

// TestWALSegmentsPrivate: segment files raft-wal creates as the log grows
// are 0600 from the moment they exist.
func TestWALSegmentsPrivate(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := walSegmentFiler(dir).Create(types.SegmentInfo{BaseIndex: 1, ID: 7, SizeLimit: 1 << 16, CreateTime: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	checkPrivate(t, dir)
}
