package edge

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCPUMeter(t *testing.T) {
	file := filepath.Join(t.TempDir(), "stat")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	m := cpuMeter{file: file}
	// user nice system idle iowait irq softirq steal guest guest_nice
	write("cpu  100 0 100 700 100 0 0 0 50 0\ncpu0 1 2 3 4 5\n")
	if got := m.percent(); got != -1 {
		t.Fatalf("first read = %d, want -1 (no interval yet)", got)
	}
	write("cpu  250 0 150 800 100 0 0 0 90 0\n") // +200 busy, +100 idle; guest not double-counted
	if got := m.percent(); got != 67 {
		t.Fatalf("percent = %d, want 67", got)
	}
	if got := m.percent(); got != -1 {
		t.Fatalf("no elapsed ticks = %d, want -1", got)
	}
	write("garbage\n")
	if got := m.percent(); got != -1 {
		t.Fatalf("unparsable = %d, want -1", got)
	}
	if got := (&cpuMeter{file: filepath.Join(t.TempDir(), "missing")}).percent(); got != -1 {
		t.Fatalf("missing file = %d", got)
	}
}
