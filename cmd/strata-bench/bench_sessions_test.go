package main

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestStrataBinary: --strata wins, then $STRATA_BIN (set by strata bench),
// then a strata on PATH; the result is absolute, since the edges start
// instances in directories of their own.
func TestStrataBinary(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake strata is a shell script")
	}
	dir := t.TempDir()
	for _, n := range []string{"strata", "other"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	t.Setenv("PATH", dir)
	for _, tc := range []struct{ flag, env, want string }{
		{"", "", filepath.Join(dir, "strata")},
		{"", filepath.Join(dir, "other"), filepath.Join(dir, "other")},
		{"./other", filepath.Join(dir, "strata"), filepath.Join(dir, "other")},
	} {
		t.Setenv(strataBinEnv, tc.env)
		got, err := strataBinary(tc.flag)
		if err != nil || got != tc.want {
			t.Errorf("--strata %q, $%s %q: %q, %v; want %q", tc.flag, strataBinEnv, tc.env, got, err, tc.want)
		}
	}
	if _, err := strataBinary("./missing"); err == nil {
		t.Error("--strata naming no file: no error")
	}
}
