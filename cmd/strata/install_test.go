package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// make install PREFIX=DIR puts a working strata, and the strata-bench it
// runs, in DIR/bin, and says how to put that on PATH.
func TestMakeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	prefix := t.TempDir()
	out, err := exec.Command("make", "-C", filepath.Join("..", ".."), "install", "PREFIX="+prefix).CombinedOutput()
	if err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	bin := filepath.Join(prefix, "bin")
	if !strings.Contains(string(out), "installed strata and strata-bench in "+bin) || !strings.Contains(string(out), `export PATH="`+bin+`:$PATH"`) {
		t.Errorf("make install does not say where it installed and how to reach it:\n%s", out)
	}
	if v, err := exec.Command(filepath.Join(bin, "strata"), "version").CombinedOutput(); err != nil || !strings.HasPrefix(string(v), "strata ") {
		t.Errorf("installed strata version: %q, %v", v, err)
	}
	if _, err := exec.LookPath(filepath.Join(bin, "strata-bench")); err != nil {
		t.Errorf("strata-bench not installed beside strata: %v", err)
	}
}
