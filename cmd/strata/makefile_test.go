package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestMakeRunPassesArgs: `make run ARGS=...` hands the flags to `strata
// dev`, as the README's quick start says (checked with make -n, which
// runs nothing).
func TestMakeRunPassesArgs(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make here")
	}
	cmd := exec.Command("make", "-n", "run", "ARGS=--api-addr 127.0.0.1:8070")
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n run: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "bin/strata dev --api-addr 127.0.0.1:8070") {
		t.Fatalf("make run does not pass ARGS to strata dev:\n%s", out)
	}
}
