package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/strata-edge/strata/edge"
	"github.com/strata-edge/strata/internal/config"
	"github.com/strata-edge/strata/origin"
)

func secretFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Every secret flag of the roles has a file form, so no secret needs to
// be on a command line that ps shows.
func TestSecretsFromFiles(t *testing.T) {
	key := "aGVsbG8taGVsbG8taGVsbG8taGVsbG8taGVsbG8hIQ=="
	ecfg := edge.Defaults()
	fs := edgeFlags(&ecfg)
	args := []string{"--token-file", secretFile(t, "node-token\n"), "--gossip-key-file", secretFile(t, key+"\n")}
	if err := config.Resolve(&ecfg, func() { ecfg = edge.Defaults() }, fs, args, nil); err != nil {
		t.Fatal(err)
	}
	if ecfg.Token != "node-token" || !slices.Equal(ecfg.Gossip.Keys, []string{key}) {
		t.Fatalf("edge token %q, keys %q", ecfg.Token, ecfg.Gossip.Keys)
	}
	ocfg := origin.Defaults()
	fs = originFlags(&ocfg)
	args = []string{"--admin-token-file", secretFile(t, "admin-token-admin-token-admin-token\n"), "--gossip-key-file", secretFile(t, key),
		"--join-token-file", secretFile(t, "origin-join-token\n")}
	if err := config.Resolve(&ocfg, func() { ocfg = origin.Defaults() }, fs, args, nil); err != nil {
		t.Fatal(err)
	}
	if ocfg.AdminToken != "admin-token-admin-token-admin-token" || !slices.Equal(ocfg.Gossip.Keys, []string{key}) || ocfg.PKI.JoinToken != "origin-join-token" {
		t.Fatalf("origin admin token %q, keys %q, join token %q", ocfg.AdminToken, ocfg.Gossip.Keys, ocfg.PKI.JoinToken)
	}
}

// A secret and its file flag together are a usage error, not a guess.
func TestSecretAndItsFileRefused(t *testing.T) {
	key := "aGVsbG8taGVsbG8taGVsbG8taGVsbG8taGVsbG8hIQ=="
	tok := secretFile(t, "node-token")
	err := runEdge([]string{"--id", "e1", "--join", "127.0.0.1:1", "--region", "eu", "--gossip-key", key,
		"--token", "x", "--token-file", tok})
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--token-file") {
		t.Fatalf("edge: %v; want a usage error naming --token-file", err)
	}
	err = runOrigin([]string{"--data-dir", t.TempDir(), "--gossip-key", key, "--gossip-key-file", secretFile(t, key)})
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--gossip-key-file") {
		t.Fatalf("origin: %v; want a usage error naming --gossip-key-file", err)
	}
}
