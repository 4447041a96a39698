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

// The container fields and a node's runtimes came later still: records
// without them encode as before, and with them round-trip.
func TestContainerFieldsAndRuntimesOnTheWire(t *testing.T) {
	a := App{ID: "app_1", TenantID: "ten_1", Name: "game", Runtime: "docker", Image: "img", RestartPolicy: "never"}
	plain := EncodeCommand(&CreateApp{App: a})
	a.Args, a.ShmMB, a.Volume, a.PullPolicy = []string{"testsrc", "--fps", "30"}, 256, "/data", "never"
	ext := EncodeCommand(&CreateApp{App: a})
	if !bytes.HasPrefix(ext, plain) {
		t.Fatalf("extended encoding %x does not start with the plain one %x", ext, plain)
	}
	c, err := DecodeCommand(ext)
	if err != nil {
		t.Fatal(err)
	}
	got := c.(*CreateApp).App
	if len(got.Args) != 3 || got.Args[2] != "30" || got.ShmMB != 256 || got.Volume != "/data" || got.PullPolicy != "never" || got.CPUMillis != 0 {
		t.Fatalf("decoded %+v", got)
	}
	n := Node{ID: "edge-1", Role: RoleEdge, NICMbps: 100}
	plainNode := EncodeCommand(&UpsertNode{Node: n})
	n.Runtimes = []string{"process", "docker"}
	withRT := EncodeCommand(&UpsertNode{Node: n})
	if !bytes.HasPrefix(withRT, plainNode) {
		t.Fatalf("node encoding with runtimes does not extend the plain one")
	}
	c, err = DecodeCommand(withRT)
	if err != nil {
		t.Fatal(err)
	}
	if rt := c.(*UpsertNode).Node.Runtimes; len(rt) != 2 || rt[1] != "docker" {
		t.Fatalf("runtimes %v", rt)
	}
	if c, err = DecodeCommand(plainNode); err != nil || c.(*UpsertNode).Node.Runtimes != nil {
		t.Fatalf("plain node: %v %v", err, c)
	}
}
