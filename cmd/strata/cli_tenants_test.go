package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/testcluster"
)

// runCLI runs the strata command line in this process and returns its
// exit status and what it printed on stdout.
func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		done <- b
	}()
	code := run(args)
	os.Stdout = stdout
	w.Close()
	return code, string(<-done)
}

// cliCluster starts a one-origin cluster and points the CLI's
// environment at it with the admin token.
func cliCluster(t *testing.T) *testcluster.Cluster {
	t.Helper()
	c, err := testcluster.Start(testcluster.Options{Origins: 1, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.CA.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STRATA_ADDR", c.Nodes[0].APIAddr())
	t.Setenv("STRATA_TOKEN", c.AdminToken)
	t.Setenv("STRATA_CA_FILE", caFile)
	t.Setenv("STRATA_CA_FINGERPRINT", "")
	return c
}

// TestTenantsUpdate: `strata tenants update` changes the quota fields
// given and keeps the others, renames, and refuses a call that changes
// nothing; the admin's session list shows each session's tenant.
func TestTenantsUpdate(t *testing.T) {
	c := cliCluster(t)
	tenant := func(args ...string) api.Tenant {
		t.Helper()
		code, out := runCLI(t, append(args, "-o", "json")...)
		var ten api.Tenant
		if err := json.Unmarshal([]byte(out), &ten); code != exitOK || err != nil {
			t.Fatalf("strata %s: exit %d, %s (%v)", strings.Join(args, " "), code, out, err)
		}
		return ten
	}
	ten := tenant("tenants", "create", "acme", "--max-sessions", "2", "--max-gpus", "3")
	got := tenant("tenants", "update", ten.ID, "--max-sessions", "5")
	if want := (api.Quota{MaxSessions: 5, MaxGPUs: 3}); got.Quota != want || got.Name != "acme" {
		t.Fatalf("after --max-sessions 5: %s %+v, want acme %+v", got.Name, got.Quota, want)
	}
	got = tenant("tenants", "update", "--name", "acme-2", ten.ID, "--max-gpus", "0")
	if want := (api.Quota{MaxSessions: 5}); got.Quota != want || got.Name != "acme-2" {
		t.Fatalf("after --name acme-2 --max-gpus 0: %s %+v, want acme-2 %+v", got.Name, got.Quota, want)
	}
	if code, _ := runCLI(t, "tenants", "update", ten.ID); code != exitUsage {
		t.Errorf("update with no change: exit %d, want %d", code, exitUsage)
	}
	if code, _ := runCLI(t, "tenants", "update", "ten_00000000000000000000000000", "--max-gpus", "1"); code != exitNotFound {
		t.Errorf("update of an unknown tenant: exit %d, want %d", code, exitNotFound)
	}

	ctx := context.Background()
	app, err := c.Client().Apps().Create(ctx, api.AppSpec{TenantID: ten.ID, Name: "game", Command: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	ses, err := c.Client().Sessions().Create(ctx, api.SessionSpec{TenantID: ten.ID, AppID: app.ID, Async: true})
	if err != nil {
		t.Fatal(err)
	}
	code, out := runCLI(t, "sessions", "list")
	if code != exitOK || !strings.HasPrefix(out, "ID ") || !strings.Contains(out, "TENANT_ID") {
		t.Fatalf("sessions list: exit %d\n%s", code, out)
	}
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, ses.ID) && !strings.Contains(line, ten.ID) {
			t.Errorf("session row lacks its tenant %s: %s", ten.ID, line)
		}
	}
}
