package edge

import (
	"path/filepath"
	"testing"
)

// strata edge runs the sessions placed on it without being told where to
// keep their state; an embedded edge's zero config runs none, and
// runtime.driver none turns the runtime off.
func TestRuntimeDefaults(t *testing.T) {
	tests := []struct {
		name    string
		cfg     func() Config
		enabled bool
		dir     string
	}{
		{"strata edge defaults", func() Config { c := Defaults(); c.NodeID = "e1"; return c }, true, filepath.Join("data", "e1", "runtime")},
		{"data dir given", func() Config { c := Defaults(); c.NodeID, c.DataDir = "e1", "/var/lib/e"; return c }, true, "/var/lib/e/runtime"},
		{"state dir given", func() Config { c := Defaults(); c.NodeID, c.Runtime.StateDir = "e1", "/run/x"; return c }, true, "/run/x"},
		{"driver none", func() Config { c := Defaults(); c.NodeID, c.Runtime.Driver = "e1", DriverNone; return c }, false, ""},
		{"zero config", func() Config { return Config{NodeID: "e1"} }, false, ""},
		{"zero config with state dir", func() Config { return Config{NodeID: "e1", Runtime: RuntimeConfig{StateDir: "/run/x"}} }, true, "/run/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cfg()
			c.setDefaults()
			if c.Runtime.Enabled() != tt.enabled || tt.enabled && c.Runtime.StateDir != tt.dir {
				t.Fatalf("runtime %+v: enabled %v, want %v in %q", c.Runtime, c.Runtime.Enabled(), tt.enabled, tt.dir)
			}
		})
	}
	c := Defaults()
	c.NodeID, c.Join, c.Region, c.Gossip.Keys, c.Runtime.Driver = "e1", []string{"127.0.0.1:1"}, "eu", []string{"k"}, "docker"
	if err := c.Validate(); err == nil {
		t.Fatal("runtime.driver docker accepted")
	}
}
