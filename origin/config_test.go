package origin

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/registry"
)

func TestConfigValidateNamesKey(t *testing.T) {
	base := Defaults()
	tests := []struct {
		key    string
		mutate func(*Config)
	}{
		{"node_id", func(c *Config) { c.NodeID = "" }},
		{"data_dir", func(c *Config) { c.DataDir = "" }},
		{"gossip.addr", func(c *Config) { c.Gossip.Addr = "127.0.0.1:70000" }},
		{"gossip.advertise", func(c *Config) { c.Gossip.Advertise = "host" }},
		{"gossip.profile", func(c *Config) { c.Gossip.Profile = "moon" }},
		{"raft.profile", func(c *Config) { c.Raft.Profile = "moon" }},
		{"raft.log_store", func(c *Config) { c.Raft.LogStore = "tape" }},
		{"log.format", func(c *Config) { c.Log.Format = "xml" }},
		{"pki.cert_validity", func(c *Config) { c.PKI.CertValidity = 8 * 24 * time.Hour }},
		{"api.tls.mode", func(c *Config) { c.API.TLS.Mode = "self-signed" }},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			c := base
			tt.mutate(&c)
			c.setDefaults()
			err := c.Validate()
			if !errors.Is(err, registry.ErrInvalid) || !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("err = %v, want one naming %s", err, tt.key)
			}
		})
	}
	c := base
	c.Gossip.Profile, c.Raft.Profile, c.Raft.LogStore = "", "", "" // zero means the default
	c.setDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
}
