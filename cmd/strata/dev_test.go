package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// strata dev prints CLI lines that work as printed: "strata" only when
// PATH finds this very binary, else a path to it.
func TestCLINameWorksAsPrinted(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(bin, "strata")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	t.Setenv("PATH", t.TempDir())
	if got, on := cliName(exe); got != filepath.Join("bin", "strata") || on {
		t.Errorf("off PATH, under the working directory: %q (on PATH %v), want bin/strata", got, on)
	}
	t.Chdir(t.TempDir())
	if got, on := cliName(exe); got != exe || on {
		t.Errorf("off PATH, elsewhere: %q (on PATH %v), want %s", got, on, exe)
	}
	t.Setenv("PATH", bin)
	if got, on := cliName(exe); got != "strata" || !on {
		t.Errorf("on PATH: %q (on PATH %v), want strata", got, on)
	}
}

// TestTokenExpiryHint: `strata dev` says when the demo player URL's token
// expires and the command that gives a new one.
func TestTokenExpiryHint(t *testing.T) {
	got := tokenExpiryHint("strata", "ses_1", time.Now().Add(15*time.Minute))
	for _, want := range []string{"token expires", "in 15m", "strata sessions viewer ses_1"} {
		if !strings.Contains(got, want) {
			t.Errorf("hint %q lacks %q", got, want)
		}
	}
}
