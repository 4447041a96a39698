package sibling

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestFind(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("executable scripts are a unix thing")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Beside the test binary: found there, before PATH is looked at.
	beside := filepath.Join(filepath.Dir(self), "sibling-test-beside")
	if err := os.WriteFile(beside, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(beside) })
	onPath := t.TempDir()
	for _, n := range []string{"sibling-test-beside", "sibling-test-path"} {
		if err := os.WriteFile(filepath.Join(onPath, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", onPath)

	for _, tc := range []struct {
		name, want string
		err        error
	}{
		{"sibling-test-beside", beside, nil},
		{"sibling-test-path", filepath.Join(onPath, "sibling-test-path"), nil},
		{"sibling-test-nowhere", "", ErrNotFound},
	} {
		got, err := Find(tc.name)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("Find(%q) = %q, %v; want %q, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}
