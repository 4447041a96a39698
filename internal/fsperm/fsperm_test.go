package fsperm

import (
	"os"
	"path/filepath"
	"testing"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestRestrict: directories become 0700 and files 0600 however wide they
// were; a symbolic link is neither changed nor followed out of the tree.
func TestRestrict(t *testing.T) {
	root := filepath.Join(t.TempDir(), "data")
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, "a", "b", "f")
	if err := os.WriteFile(file, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := Restrict(root); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{root, filepath.Join(root, "a"), filepath.Join(root, "a", "b")} {
		if m := mode(t, d); m != Dir {
			t.Errorf("%s is %v", d, m)
		}
	}
	if m := mode(t, file); m != File {
		t.Errorf("%s is %v", file, m)
	}
	if m := mode(t, outside); m != 0o644 {
		t.Errorf("link target outside the tree changed to %v", m)
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := MkdirAll(root); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, root); m != Dir {
		t.Errorf("MkdirAll left an existing dir %v", m)
	}
}
