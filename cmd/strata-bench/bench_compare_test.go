package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchCompare: two result files give a table and, with --json, an
// object whose rows carry ratios (null for a figure that was zero).
func TestBenchCompare(t *testing.T) {
	dir := t.TempDir()
	oldPath, newPath := filepath.Join(dir, "old.json"), filepath.Join(dir, "new.json")
	if err := os.WriteFile(oldPath, []byte(`{"knee_viewers":200,"freezes":0}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(newPath, []byte(`{"knee_viewers":300,"freezes":2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := benchCompare([]string{oldPath, newPath}, &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "knee_viewers  200") || !strings.Contains(buf.String(), "better") {
		t.Fatalf("table:\n%s", buf.String())
	}
	buf.Reset()
	if err := benchCompare([]string{"--json", oldPath, newPath}, &buf); err != nil {
		t.Fatal(err)
	}
	var c struct {
		Rows []struct {
			Name    string   `json:"name"`
			Ratio   *float64 `json:"ratio"`
			Verdict string   `json:"verdict"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(buf.Bytes(), &c); err != nil || len(c.Rows) != 2 {
		t.Fatalf("%s: %v", buf.String(), err)
	}
	if c.Rows[0].Name != "freezes" || c.Rows[0].Ratio != nil || c.Rows[0].Verdict != "worse" || *c.Rows[1].Ratio != 1.5 {
		t.Fatalf("rows %+v", c.Rows)
	}
	if err := benchCompare([]string{oldPath}, &buf); err == nil {
		t.Fatal("one file accepted")
	}
}
