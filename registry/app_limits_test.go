package registry

import (
	"bytes"
	"testing"
)

// App limits were added after the log format was fixed: an app without
// them encodes exactly as before (so earlier entries and snapshots
// decode), and one with them carries two trailing varints.
func TestAppLimitsOptionalOnTheWire(t *testing.T) {
	a := App{ID: "app_1", TenantID: "ten_1", Name: "game", Runtime: "process", Command: []string{"run"}, RestartPolicy: "never"}
	plain := EncodeCommand(&CreateApp{App: a})
	a.CPUMillis, a.MemoryMB = 250, 512
	limited := EncodeCommand(&CreateApp{App: a})
	if !bytes.HasPrefix(limited, plain) || len(limited) != len(plain)+4 {
		t.Fatalf("limited encoding %x is not the plain one %x plus the limits", limited, plain)
	}
	for _, tc := range []struct {
		b        []byte
		cpu, mem int64
	}{{plain, 0, 0}, {limited, 250, 512}} {
		c, err := DecodeCommand(tc.b)
		if err != nil {
			t.Fatal(err)
		}
		got := c.(*CreateApp).App
		if got.CPUMillis != tc.cpu || got.MemoryMB != tc.mem || got.Name != "game" {
			t.Errorf("decoded %+v; want limits %d, %d", got, tc.cpu, tc.mem)
		}
	}
}
