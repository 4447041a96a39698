package main

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestBenchRunsStrataBench: `strata bench` runs strata-bench from PATH
// with the same arguments and passes its exit status through; without
// strata-bench it says how to build it.
func TestBenchRunsStrataBench(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake strata-bench is a shell script")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "ran")
	script := "#!/bin/sh\necho \"$@\" > " + out + "\necho \"$STRATA_BIN\" >> " + out + "\nexit 7\n"
	if err := os.WriteFile(filepath.Join(dir, "strata-bench"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)

	err := runBench([]string{"placement", "--nodes", "1000", "--json"})
	var st exitStatus
	if !errors.As(err, &st) || st != 7 {
		t.Fatalf("runBench: %v, want exit status 7", err)
	}
	ran, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	if want := "placement --nodes 1000 --json\n" + self + "\n"; string(ran) != want {
		t.Errorf("strata-bench ran as %q, want %q", ran, want)
	}

	t.Setenv("PATH", t.TempDir())
	err = runBench([]string{"placement"})
	if err == nil || !strings.Contains(err.Error(), "make build") {
		t.Errorf("without strata-bench: %v, want a hint to run make build", err)
	}
}
